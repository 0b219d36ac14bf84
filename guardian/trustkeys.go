package guardian

import (
	"bytes"
	"crypto/ed25519"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// PublicKeysFromEnv reads the trusted public keys of $RAFAEL_AUDIT_KEYS
// ([AuditKeysEnv]): PEM text holding one or more "PUBLIC KEY" blocks, or
// paths to PEM files separated by the path list separator. Empty is none.
func PublicKeysFromEnv(value string) ([]ed25519.PublicKey, error) {
	value = strings.TrimSpace(value)
	if value == "" {
		return nil, nil
	}
	if strings.Contains(value, "-----BEGIN") {
		return parsePublicKeys("the PEM text", []byte(value))
	}
	var keys []ed25519.PublicKey
	for _, path := range filepath.SplitList(value) {
		if path == "" {
			continue
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("reading a trusted key: %w", err)
		}
		ks, err := parsePublicKeys(path, data)
		if err != nil {
			return nil, err
		}
		keys = append(keys, ks...)
	}
	return keys, nil
}

// parsePublicKeys reads every PEM block of data as an Ed25519 public key.
func parsePublicKeys(src string, data []byte) ([]ed25519.PublicKey, error) {
	var keys []ed25519.PublicKey
	for rest := bytes.TrimSpace(data); len(rest) > 0; rest = bytes.TrimSpace(rest) {
		block, next := pem.Decode(rest)
		if block == nil {
			return nil, fmt.Errorf("%s: text after the last PEM block is not a PEM block", src)
		}
		k, err := ParsePublicKey(pem.EncodeToMemory(block))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", src, err)
		}
		keys = append(keys, k)
		rest = next
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("%s: no PEM PUBLIC KEY block", src)
	}
	return keys, nil
}

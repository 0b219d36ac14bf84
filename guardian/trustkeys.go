package guardian

import (
	"bytes"
	"crypto/ed25519"
	"encoding/pem"
	"errors"
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
		keys, err := ParsePublicKeys([]byte(value))
		if err != nil {
			return nil, fmt.Errorf("the PEM text: %w", err)
		}
		return keys, nil
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
		ks, err := ParsePublicKeys(data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		keys = append(keys, ks...)
	}
	return keys, nil
}

// ParsePublicKeys reads every PEM block of data as an Ed25519 public key
// (PKIX "PUBLIC KEY"), as a file of trusted keys holds them.
func ParsePublicKeys(data []byte) ([]ed25519.PublicKey, error) {
	var keys []ed25519.PublicKey
	for rest := bytes.TrimSpace(data); len(rest) > 0; rest = bytes.TrimSpace(rest) {
		block, next := pem.Decode(rest)
		if block == nil && len(keys) > 0 {
			return nil, errors.New("text after the last PEM block is not a PEM block")
		}
		if block == nil {
			break
		}
		k, err := ParsePublicKey(pem.EncodeToMemory(block))
		if err != nil {
			return nil, err
		}
		keys = append(keys, k)
		rest = next
	}
	if len(keys) == 0 {
		return nil, errors.New(`no PEM "PUBLIC KEY" block: give a PEM PKIX Ed25519 public key (rafael keygen writes one)`)
	}
	return keys, nil
}

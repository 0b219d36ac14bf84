package guardian

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"strings"
)

// ParsePrivateKey decodes a PEM "PRIVATE KEY" block (PKCS#8) holding an
// Ed25519 key. Errors never include key material.
func ParsePrivateKey(data []byte) (ed25519.PrivateKey, error) {
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "PRIVATE KEY" {
		return nil, errors.New(`not a PEM "PRIVATE KEY" block (want PKCS#8 Ed25519, e.g. from "openssl genpkey -algorithm ed25519")`)
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, errors.New("PEM block is not a valid PKCS#8 private key")
	}
	ek, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("private key is %T, want Ed25519", k)
	}
	return ek, nil
}

// ParsePublicKey decodes a PEM "PUBLIC KEY" block (PKIX) holding an Ed25519
// key.
func ParsePublicKey(data []byte) (ed25519.PublicKey, error) {
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "PUBLIC KEY" {
		return nil, errors.New(`not a PEM "PUBLIC KEY" block (want PKIX Ed25519, e.g. from "openssl pkey -pubout")`)
	}
	k, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("PEM block is not a valid PKIX public key: %w", err)
	}
	ek, ok := k.(ed25519.PublicKey)
	if !ok {
		return nil, fmt.Errorf("public key is %T, want Ed25519", k)
	}
	return ek, nil
}

// fingerprint names a public key without revealing anything secret:
// "SHA256:" and the unpadded base64 SHA-256 of the raw key, as ssh does.
func fingerprint(k ed25519.PublicKey) string {
	sum := sha256.Sum256(k)
	return "SHA256:" + base64.RawStdEncoding.EncodeToString(sum[:])
}

// SigningKeyFromEnv reads the signing key the way $RAFAEL_SIGNING_KEY
// ([SigningKeyEnv]) gives it: a path to a PEM PKCS#8 Ed25519 private key,
// or the PEM text itself. Empty is no key (nil, nil). Errors name the
// variable or the file, never key material.
func SigningKeyFromEnv(value string) (key ed25519.PrivateKey, err error) {
	if value == "" {
		return nil, nil
	}
	data := []byte(value)
	src := SigningKeyEnv
	if !strings.Contains(value, "-----BEGIN") {
		data, err = os.ReadFile(value)
		if err != nil {
			return nil, fmt.Errorf("%s: reading the key file: %w", SigningKeyEnv, err)
		}
		src = value
	}
	k, err := ParsePrivateKey(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", src, err)
	}
	return k, nil
}

// GenerateKey returns a new Ed25519 private key from crypto/rand.
func GenerateKey() (ed25519.PrivateKey, error) {
	_, k, err := ed25519.GenerateKey(rand.Reader)
	return k, err
}

// MarshalPrivateKey encodes key as a PEM "PRIVATE KEY" block (PKCS#8), the
// form $RAFAEL_SIGNING_KEY and rafael approve -key read.
func MarshalPrivateKey(key ed25519.PrivateKey) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// MarshalPublicKey encodes key as a PEM "PUBLIC KEY" block (PKIX), the form
// guardian.json, $RAFAEL_AUDIT_KEYS and rafael audit verify -key read.
func MarshalPublicKey(key ed25519.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(key)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), nil
}

// Fingerprint names a public key as the audit log does: "SHA256:" and the
// unpadded base64 of the key's SHA-256, as ssh prints them.
func Fingerprint(key ed25519.PublicKey) string { return fingerprint(key) }

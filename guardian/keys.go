package guardian

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
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
	return parsePKCS8(block.Bytes)
}

// The DER forms of Ed25519 keys (RFC 8410), which are fixed: a prefix and
// the raw key. Reading them exactly, instead of with crypto/x509, accepts
// nothing else and keeps x509's parsers (RSA, ECDSA, certificates) out of
// every test binary that links the guardian.
var (
	pkcs8Prefix   = []byte{0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20}
	pkcs8V2Prefix = []byte{0x30, 0x51, 0x02, 0x01, 0x01, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20}
	pkcs8V2Public = []byte{0x81, 0x21, 0x00} // [1] IMPLICIT BIT STRING, no unused bits
	pkixPrefix    = []byte{0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00}
	ed25519OID    = []byte{0x06, 0x03, 0x2b, 0x65, 0x70}
)

// parsePKCS8 reads a PKCS#8 Ed25519 private key: version 1 (the seed), as
// OpenSSL and Go write it, or version 2 with the public key, which must
// match the seed.
func parsePKCS8(der []byte) (ed25519.PrivateKey, error) {
	const seed = ed25519.SeedSize
	switch {
	case len(der) == len(pkcs8Prefix)+seed && bytes.HasPrefix(der, pkcs8Prefix):
		return ed25519.NewKeyFromSeed(der[len(pkcs8Prefix):]), nil
	case len(der) == len(pkcs8V2Prefix)+seed+len(pkcs8V2Public)+ed25519.PublicKeySize && bytes.HasPrefix(der, pkcs8V2Prefix):
		k := ed25519.NewKeyFromSeed(der[len(pkcs8V2Prefix) : len(pkcs8V2Prefix)+seed])
		rest := der[len(pkcs8V2Prefix)+seed:]
		if !bytes.HasPrefix(rest, pkcs8V2Public) || !bytes.Equal(rest[len(pkcs8V2Public):], k.Public().(ed25519.PublicKey)) {
			return nil, errors.New("PKCS#8 private key: its public key does not match its private key")
		}
		return k, nil
	case bytes.Contains(der[:min(len(der), 32)], ed25519OID):
		return nil, errors.New("PEM block is not a valid PKCS#8 Ed25519 private key")
	}
	return nil, errors.New("private key is not Ed25519 (want PKCS#8 Ed25519, e.g. from \"openssl genpkey -algorithm ed25519\" or rafael keygen)")
}

// ParsePublicKey decodes a PEM "PUBLIC KEY" block (PKIX) holding an Ed25519
// key.
func ParsePublicKey(data []byte) (ed25519.PublicKey, error) {
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "PUBLIC KEY" {
		return nil, errors.New(`not a PEM "PUBLIC KEY" block (want PKIX Ed25519, e.g. from "openssl pkey -pubout")`)
	}
	der := block.Bytes
	switch {
	case len(der) == len(pkixPrefix)+ed25519.PublicKeySize && bytes.HasPrefix(der, pkixPrefix):
		return ed25519.PublicKey(bytes.Clone(der[len(pkixPrefix):])), nil
	case bytes.Contains(der[:min(len(der), 16)], ed25519OID):
		return nil, errors.New("PEM block is not a valid PKIX Ed25519 public key")
	}
	return nil, errors.New("public key is not Ed25519 (want PKIX Ed25519, e.g. from \"openssl pkey -pubout\" or rafael keygen)")
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
	if len(key) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("guardian: an Ed25519 private key has %d bytes, not %d", ed25519.PrivateKeySize, len(key))
	}
	der := append(bytes.Clone(pkcs8Prefix), key.Seed()...)
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// MarshalPublicKey encodes key as a PEM "PUBLIC KEY" block (PKIX), the form
// guardian.json, $RAFAEL_AUDIT_KEYS and rafael audit verify -key read.
func MarshalPublicKey(key ed25519.PublicKey) ([]byte, error) {
	if len(key) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("guardian: an Ed25519 public key has %d bytes, not %d", ed25519.PublicKeySize, len(key))
	}
	der := append(bytes.Clone(pkixPrefix), key...)
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), nil
}

// Fingerprint names a public key as the audit log does: "SHA256:" and the
// unpadded base64 of the key's SHA-256, as ssh prints them.
func Fingerprint(key ed25519.PublicKey) string { return fingerprint(key) }

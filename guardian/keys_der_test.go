package guardian

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The guardian reads and writes Ed25519 keys in their fixed DER forms
// without crypto/x509; these tests hold it to what x509 and OpenSSL do.
func TestKeyEncodingsMatchX509(t *testing.T) {
	for range 20 {
		k, err := GenerateKey()
		require.NoError(t, err)
		priv, err := MarshalPrivateKey(k)
		require.NoError(t, err)
		der, err := x509.MarshalPKCS8PrivateKey(k)
		require.NoError(t, err)
		assert.Equal(t, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), priv)
		pub, err := MarshalPublicKey(k.Public().(ed25519.PublicKey))
		require.NoError(t, err)
		der, err = x509.MarshalPKIXPublicKey(k.Public())
		require.NoError(t, err)
		assert.Equal(t, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), pub)

		back, err := ParsePrivateKey(priv)
		require.NoError(t, err)
		assert.Equal(t, k, back)
		backPub, err := ParsePublicKey(pub)
		require.NoError(t, err)
		assert.Equal(t, k.Public(), backPub)
	}
}

func TestKeysFromOpenSSLAreRead(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("openssl is not installed: cannot check keys it makes")
	}
	dir := t.TempDir()
	key, pub := filepath.Join(dir, "k.pem"), filepath.Join(dir, "k.pub")
	out, err := exec.Command("openssl", "genpkey", "-algorithm", "ed25519", "-out", key).CombinedOutput()
	require.NoError(t, err, "%s", out)
	out, err = exec.Command("openssl", "pkey", "-in", key, "-pubout", "-out", pub).CombinedOutput()
	require.NoError(t, err, "%s", out)
	kd, err := os.ReadFile(key)
	require.NoError(t, err)
	pd, err := os.ReadFile(pub)
	require.NoError(t, err)
	k, err := ParsePrivateKey(kd)
	require.NoError(t, err)
	p, err := ParsePublicKey(pd)
	require.NoError(t, err)
	assert.Equal(t, k.Public(), p, "the public half OpenSSL printed is the private key's")
}

func TestKeysOfOtherKindsAreRefusedByName(t *testing.T) {
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	der, err := x509.MarshalPKCS8PrivateKey(ec)
	require.NoError(t, err)
	_, err = ParsePrivateKey(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	assert.ErrorContains(t, err, "private key is not Ed25519")
	der, err = x509.MarshalPKIXPublicKey(&ec.PublicKey)
	require.NoError(t, err)
	_, err = ParsePublicKey(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
	assert.ErrorContains(t, err, "public key is not Ed25519")

	k, err := GenerateKey()
	require.NoError(t, err)
	good, err := x509.MarshalPKCS8PrivateKey(k)
	require.NoError(t, err)
	for name, bad := range map[string][]byte{
		"truncated":  good[:len(good)-1],
		"extended":   append(good[:len(good):len(good)], 0),
		"mismatched": append(append(append([]byte{}, pkcs8V2Prefix...), k.Seed()...), append(append([]byte{}, pkcs8V2Public...), make([]byte, 32)...)...),
	} {
		_, err := ParsePrivateKey(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: bad}))
		assert.Error(t, err, name)
	}
	v2 := append(append(append([]byte{}, pkcs8V2Prefix...), k.Seed()...), append(append([]byte{}, pkcs8V2Public...), k.Public().(ed25519.PublicKey)...)...)
	back, err := ParsePrivateKey(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: v2}))
	require.NoError(t, err, "PKCS#8 version 2, with the public key")
	assert.Equal(t, k, back)
}

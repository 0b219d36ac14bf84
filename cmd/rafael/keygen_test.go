package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rafaelabs/rafael/guardian"
)

func TestKeygenWritesAPairItNeverOverwrites(t *testing.T) {
	dir := t.TempDir()
	key := filepath.Join(dir, "ci.pem")
	out, _ := wantExit(t, exitOK, "keygen", "-o", key)
	privData, err := os.ReadFile(key)
	if err != nil {
		t.Fatal(err)
	}
	priv, err := guardian.ParsePrivateKey(privData)
	if err != nil {
		t.Fatalf("the private key does not parse: %v", err)
	}
	pubData, err := os.ReadFile(key + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	pub, err := guardian.ParsePublicKey(pubData)
	if err != nil || !pub.Equal(priv.Public()) {
		t.Fatalf("the public key is not the private key's: %v", err)
	}
	if st, _ := os.Stat(key); st.Mode().Perm() != 0o600 {
		t.Errorf("the private key's mode is %v, want 0600", st.Mode().Perm())
	}
	if !strings.Contains(out, guardian.Fingerprint(pub)) {
		t.Errorf("keygen printed %q, want the fingerprint %s", out, guardian.Fingerprint(pub))
	}

	_, stderr := wantExit(t, exitUsage, "keygen", "-o", key)
	if !strings.Contains(stderr, "exists: remove it or choose another -o") {
		t.Errorf("overwrite: stderr %q", stderr)
	}
	if again, _ := os.ReadFile(key); string(again) != string(privData) {
		t.Error("the key was overwritten")
	}
	_, stderr = wantExit(t, exitUsage, "keygen")
	if !strings.Contains(stderr, "-o is required") {
		t.Errorf("no -o: stderr %q", stderr)
	}
}

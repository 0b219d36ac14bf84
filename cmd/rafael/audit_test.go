package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rafaelabs/rafael/genome"
	"github.com/rafaelabs/rafael/guardian"
)

// seedKey returns a fixed key: the same seed, the same key.
func seedKey(n byte) ed25519.PrivateKey {
	return ed25519.NewKeyFromSeed(bytes.Repeat([]byte{n}, ed25519.SeedSize))
}

// writeKeys writes key's private (PKCS#8) and public (PKIX) PEM files in
// dir and returns their paths.
func writeKeys(t *testing.T, dir, name string, key ed25519.PrivateKey) (priv, pub string) {
	t.Helper()
	p8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	pkix, err := x509.MarshalPKIXPublicKey(key.Public())
	if err != nil {
		t.Fatal(err)
	}
	priv, pub = filepath.Join(dir, name+".pem"), filepath.Join(dir, name+".pub.pem")
	if err := os.WriteFile(priv, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: p8}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(pub, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pkix}), 0o644); err != nil {
		t.Fatal(err)
	}
	return priv, pub
}

func checkout() *genome.Genome {
	return &genome.Genome{
		Module:  "checkout",
		Timeout: &genome.Timeout{PerAttempt: 500 * time.Millisecond, Overall: 2 * time.Second},
		Retry:   &genome.Retry{MaxAttempts: 3, BaseDelay: 100 * time.Millisecond, MaxDelay: time.Second, Multiplier: 2},
	}
}

func clock() func() time.Time {
	t := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	return func() time.Time { t = t.Add(time.Second); return t }
}

// auditLog makes a real audit log in a new guardian directory: a
// low-impact change, adopted and signed with a fixed key.
func auditLog(t *testing.T) (dir, pub string) {
	t.Helper()
	dir = filepath.Join(t.TempDir(), "testdata", "rafael")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	g, err := guardian.Open(dir, guardian.WithSigningKey(seedKey(1)), guardian.WithClock(clock()))
	if err != nil {
		t.Fatal(err)
	}
	evolved := checkout()
	evolved.Retry.BaseDelay = 120 * time.Millisecond // a small step: low impact, adopted
	d, err := g.Propose(context.Background(), guardian.Proposal{Old: checkout(), New: evolved, Actor: "evolve", Evidence: []byte("report")})
	if err != nil {
		t.Fatal(err)
	}
	if d.Status != guardian.Adopted {
		t.Fatalf("the proposal is %s, want adopted", d.Status)
	}
	_, pub = writeKeys(t, t.TempDir(), "audit", seedKey(1))
	return dir, pub
}

func TestAuditVerify(t *testing.T) {
	dir, pub := auditLog(t)
	out, _ := wantExit(t, exitOK, "audit", "verify", "-dir", dir, "-key", pub)
	if !strings.Contains(out, "verify") {
		t.Errorf("no word of success: %q", out)
	}
	wantExit(t, exitOK, "audit", "verify", "-dir", dir, "-key", pub, "-pin", filepath.Join(dir, "audit.checkpoint"))

	// Without -key the guardian's trust applies: here $RAFAEL_SIGNING_KEY.
	priv, _ := writeKeys(t, t.TempDir(), "signer", seedKey(1))
	t.Setenv(guardian.SigningKeyEnv, priv)
	wantExit(t, exitOK, "audit", "verify", "-dir", dir)

	// Another key is not trusted.
	_, stranger := writeKeys(t, t.TempDir(), "stranger", seedKey(2))
	wantExit(t, exitFailure, "audit", "verify", "-dir", dir, "-key", stranger)
}

func TestAuditVerifyRefusesOneChangedByte(t *testing.T) {
	dir, pub := auditLog(t)
	path := filepath.Join(dir, "audit.jsonl")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	i := bytes.Index(data, []byte(`"seq":2`)) + len(`"seq":`)
	if i < len(`"seq":`) {
		t.Fatalf("no second entry in %s", data)
	}
	data[i] = '3' // one byte: entry 2 claims to be entry 3
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	out, stderr := wantExit(t, exitFailure, "audit", "verify", "-dir", dir, "-key", pub)
	if out != "" || !strings.Contains(stderr, "rafael: guardian: audit log line 2") || !strings.Contains(stderr, "fails verification") {
		t.Errorf("the tampering is not reported line by line:\nstdout %q\nstderr:\n%s", out, stderr)
	}
	for _, l := range strings.Split(strings.TrimSpace(stderr), "\n") {
		if !strings.HasPrefix(l, "rafael: ") {
			t.Errorf("stderr line %q lacks the rafael: prefix", l)
		}
	}
}

func TestAuditVerifyBadInput(t *testing.T) {
	dir, pub := auditLog(t)
	t.Setenv(guardian.SigningKeyEnv, "")
	notKey := filepath.Join(t.TempDir(), "not.pem")
	if err := os.WriteFile(notKey, []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		msgs []string
	}{
		{[]string{"audit", "verify", "-dir", t.TempDir(), "-key", pub}, []string{"audit.jsonl", "-dir"}},
		{[]string{"audit", "verify", "-dir", dir, "-key", filepath.Join(dir, "nope.pem")}, []string{"nope.pem"}},
		{[]string{"audit", "verify", "-dir", dir, "-key", notKey}, []string{"not.pem", "PUBLIC KEY"}},
		{[]string{"audit", "verify", "-dir", dir, "-key", pub, "-pin", filepath.Join(dir, "nope")}, []string{"-pin"}},
		{[]string{"audit", "verify", "-dir", dir}, []string{"no trusted keys"}},
		{[]string{"audit", "verify", dir}, []string{"unexpected argument", "-dir"}},
	} {
		wantUsage(t, tc.args, tc.msgs...)
	}
}

package main

import (
	"bytes"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/pem"
	"fmt"
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

// auditLog makes a real audit log in a new guardian directory with the
// CI key of a team without approvers: a low-impact change, adopted.
func auditLog(t *testing.T) *team {
	t.Helper()
	tm := newTeam(t)
	if d := tm.propose(lowChange); d.Status != guardian.Adopted {
		t.Fatalf("the proposal is %s, want adopted", d.Status)
	}
	return tm
}

// lowChange is a small step: low impact, adopted without approval.
func lowChange(g *genome.Genome) { g.Retry.BaseDelay = 120 * time.Millisecond }

// tamper changes one byte of the log: entry 2 claims to be entry 3.
func tamper(t *testing.T, dir string) {
	t.Helper()
	path := filepath.Join(dir, "audit.jsonl")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	i := bytes.Index(data, []byte(`"seq":2`)) + len(`"seq":`)
	if i < len(`"seq":`) {
		t.Fatalf("no second entry in %s", data)
	}
	data[i] = '3'
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// snapshot copies the files of dir's record, to put back later.
func snapshot(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	for _, name := range []string{"audit.jsonl", "audit.checkpoint", "checkout.genome.json"} {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		files[name] = data
	}
	return files
}

func restore(t *testing.T, dir string, files map[string][]byte) {
	t.Helper()
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestAuditVerify(t *testing.T) {
	tm := auditLog(t)
	out, _ := wantExit(t, exitOK, "audit", "verify", "-dir", tm.dir, "-key", tm.ciPub)
	if !strings.Contains(out, "verify") {
		t.Errorf("no word of success: %q", out)
	}
	// The keys come from the flag, $RAFAEL_AUDIT_KEYS or $RAFAEL_SIGNING_KEY.
	t.Setenv(guardian.SigningKeyEnv, tm.ciPriv)
	wantExit(t, exitOK, "audit", "verify", "-dir", tm.dir)
	t.Setenv(guardian.SigningKeyEnv, "")

	// Another key is not trusted; nor is the wrong origin.
	_, stranger := writeKeys(t, t.TempDir(), "stranger", seedKey(2))
	wantExit(t, exitFailure, "audit", "verify", "-dir", tm.dir, "-key", stranger)
	_, stderr := wantExit(t, exitFailure, "audit", "verify", "-dir", tm.dir, "-key", tm.ciPub, "-origin", "rafael audit example.com/elsewhere")
	if !strings.Contains(stderr, "origin") {
		t.Errorf("a foreign origin: %s", stderr)
	}

	// -policy pins the approver policy the log must have adopted.
	d := tm.propose(func(g *genome.Genome) { g.Retry.BaseDelay = 130 * time.Millisecond })
	if d.Policy == "" {
		t.Fatal("the decision names no policy")
	}
	wantExit(t, exitOK, "audit", "verify", "-dir", tm.dir, "-key", tm.ciPub, "-policy", d.Policy)
	t.Setenv(guardian.PolicyEnv, d.Policy)
	wantExit(t, exitOK, "audit", "verify", "-dir", tm.dir, "-key", tm.ciPub)
	t.Setenv(guardian.PolicyEnv, "")
	_, stderr = wantExit(t, exitFailure, "audit", "verify", "-dir", tm.dir, "-key", tm.ciPub, "-policy", "sha256:"+strings.Repeat("ab", 32))
	if !strings.Contains(stderr, "pinned policy") || !strings.Contains(stderr, "tampered") {
		t.Errorf("a policy the log never adopted: %s", stderr)
	}
}

func TestAuditVerifyRefusesOneChangedByte(t *testing.T) {
	tm := auditLog(t)
	tamper(t, tm.dir)
	out, stderr := wantExit(t, exitFailure, "audit", "verify", "-dir", tm.dir, "-key", tm.ciPub)
	if out != "" || !strings.Contains(stderr, "rafael: guardian: audit log line 2") ||
		!strings.Contains(stderr, tm.dir+" fails verification") || !strings.Contains(stderr, "problem(s): tampered") {
		t.Errorf("the tampering is not reported line by line:\nstdout %q\nstderr:\n%s", out, stderr)
	}
	for _, l := range strings.Split(strings.TrimSpace(stderr), "\n") {
		if !strings.HasPrefix(l, "rafael: ") {
			t.Errorf("stderr line %q lacks the rafael: prefix", l)
		}
	}
	// Repair mends interruptions, never tampering.
	before := readFile(t, filepath.Join(tm.dir, "audit.jsonl"))
	t.Setenv(guardian.SigningKeyEnv, tm.ciPriv)
	_, stderr = wantExit(t, exitFailure, "audit", "repair", "-dir", tm.dir, "-key", tm.ciPub, "-apply")
	if !strings.Contains(stderr, "repair mends interrupted writes only") {
		t.Errorf("repair of a tampered log: %s", stderr)
	}
	if !bytes.Equal(before, readFile(t, filepath.Join(tm.dir, "audit.jsonl"))) {
		t.Error("repair changed a tampered log")
	}
}

func TestAuditRepairTornTail(t *testing.T) {
	tm := auditLog(t)
	logPath := filepath.Join(tm.dir, "audit.jsonl")
	wantExit(t, exitOK, "audit", "repair", "-dir", tm.dir, "-key", tm.ciPub) // nothing to repair
	data := readFile(t, logPath)
	lines := bytes.Split(bytes.TrimSuffix(data, []byte("\n")), []byte("\n"))
	last := lines[len(lines)-1]
	torn := append(bytes.Clone(data), last[:len(last)/2]...) // a crash in the middle of an append
	if err := os.WriteFile(logPath, torn, 0o644); err != nil {
		t.Fatal(err)
	}

	_, stderr := wantExit(t, exitFailure, "audit", "verify", "-dir", tm.dir, "-key", tm.ciPub)
	if !strings.Contains(stderr, tm.dir+": an interrupted write (a crash or a full disk), not tampering: run rafael audit repair -dir "+tm.dir) ||
		strings.Contains(stderr, "tampered") {
		t.Errorf("a torn tail:\n%s", stderr)
	}

	out, _ := wantExit(t, exitOK, "audit", "repair", "-dir", tm.dir, "-key", tm.ciPub)
	want := fmt.Sprintf("line %d is torn: %d bytes", len(lines)+1, len(last)/2)
	if !strings.Contains(out, want) || !strings.Contains(out, fmt.Sprintf("%q", last[:len(last)/2][:200])) ||
		!strings.Contains(out, "nothing changed; run again with -apply to remove the torn line and seal the log (needs $"+guardian.SigningKeyEnv+")") {
		t.Errorf("repair without -apply does not say %q, the torn bytes and what -apply does:\n%s", want, out)
	}
	if !bytes.Equal(readFile(t, logPath), torn) {
		t.Fatal("repair without -apply changed the log")
	}
	_, stderr = wantExit(t, exitUsage, "audit", "repair", "-dir", tm.dir, "-key", tm.ciPub, "-apply")
	if !strings.Contains(stderr, guardian.SigningKeyEnv) {
		t.Errorf("repair -apply without a signing key: %s", stderr)
	}

	t.Setenv(guardian.SigningKeyEnv, tm.ciPriv)
	out, _ = wantExit(t, exitOK, "audit", "repair", "-dir", tm.dir, "-apply")
	if !strings.Contains(out, "removed the torn line") || !strings.Contains(out, fmt.Sprintf("covers %d entries", len(lines))) {
		t.Errorf("repair -apply:\n%s", out)
	}
	t.Setenv(guardian.SigningKeyEnv, "")
	wantExit(t, exitOK, "audit", "verify", "-dir", tm.dir, "-key", tm.ciPub)
	if !bytes.Equal(readFile(t, logPath), data) {
		t.Error("the repaired log is not the log before the torn append")
	}
}

func TestAuditRepairUnsealed(t *testing.T) {
	tm := auditLog(t)
	cpPath := filepath.Join(tm.dir, "audit.checkpoint")
	old := readFile(t, cpPath)
	tm.propose(func(g *genome.Genome) { g.Retry.BaseDelay = 130 * time.Millisecond })
	// A crash between the append and the seal leaves the old checkpoint.
	if err := os.WriteFile(cpPath, old, 0o644); err != nil {
		t.Fatal(err)
	}
	_, stderr := wantExit(t, exitFailure, "audit", "verify", "-dir", tm.dir, "-key", tm.ciPub)
	if !strings.Contains(stderr, "an interrupted write") || !strings.Contains(stderr, "rafael audit repair") {
		t.Errorf("unsealed entries:\n%s", stderr)
	}
	out, _ := wantExit(t, exitOK, "audit", "repair", "-dir", tm.dir, "-key", tm.ciPub)
	if !strings.Contains(out, "genuine entries after the") || !strings.Contains(out, "-apply to seal the log") {
		t.Errorf("repair of unsealed entries:\n%s", out)
	}
	t.Setenv(guardian.SigningKeyEnv, tm.ciPriv)
	wantExit(t, exitOK, "audit", "repair", "-dir", tm.dir, "-apply")
	t.Setenv(guardian.SigningKeyEnv, "")
	wantExit(t, exitOK, "audit", "verify", "-dir", tm.dir, "-key", tm.ciPub)
}

func TestAuditVerifyPin(t *testing.T) {
	tm := auditLog(t)
	pin := filepath.Join(t.TempDir(), "cache", "rafael.pin")
	cpPath := filepath.Join(tm.dir, "audit.checkpoint")

	// The first run creates the pin.
	out, _ := wantExit(t, exitOK, "audit", "verify", "-dir", tm.dir, "-key", tm.ciPub, "-pin", pin)
	if !strings.Contains(out, "pinned "+cpPath+" (") || !strings.Contains(out, " in "+pin) {
		t.Errorf("the first run does not say it pinned the checkpoint:\n%s", out)
	}
	if !bytes.Equal(readFile(t, pin), readFile(t, cpPath)) {
		t.Fatal("the pin is not the checkpoint")
	}
	older := snapshot(t, tm.dir)

	// After more proposals it moves.
	tm.propose(func(g *genome.Genome) { g.Retry.BaseDelay = 130 * time.Millisecond })
	out, _ = wantExit(t, exitOK, "audit", "verify", "-dir", tm.dir, "-key", tm.ciPub, "-pin", pin)
	if !strings.Contains(out, "moved the pin "+pin) {
		t.Errorf("the pin does not move:\n%s", out)
	}
	pinned := readFile(t, pin)
	if !bytes.Equal(pinned, readFile(t, cpPath)) {
		t.Fatal("the pin is not the new checkpoint")
	}

	// The history cut back to its older state, checkpoint and all, still
	// verifies on its own: the pin catches it.
	restore(t, tm.dir, older)
	wantExit(t, exitOK, "audit", "verify", "-dir", tm.dir, "-key", tm.ciPub)
	_, stderr := wantExit(t, exitFailure, "audit", "verify", "-dir", tm.dir, "-key", tm.ciPub, "-pin", pin)
	if !strings.Contains(stderr, "pinned checkpoint") || !strings.Contains(stderr, "cut or rolled back") || !strings.Contains(stderr, "pinned in "+pin) {
		t.Errorf("a history cut back is not caught by the pin:\n%s", stderr)
	}
	if !bytes.Equal(readFile(t, pin), pinned) {
		t.Error("a failed verification moved the pin")
	}
	t.Setenv(guardian.PinEnv, pin) // the same, from the environment
	wantExit(t, exitFailure, "audit", "verify", "-dir", tm.dir, "-key", tm.ciPub)
	t.Setenv(guardian.PinEnv, "")

	wantUsage(t, []string{"audit", "verify", "-dir", tm.dir, "-key", tm.ciPub, "-pin", filepath.Join(tm.dir, "pin")}, "-pin", "inside", "CI cache")
}

func TestAuditVerifyBadInput(t *testing.T) {
	tm := auditLog(t)
	dir, pub := tm.dir, tm.ciPub
	notKey := filepath.Join(t.TempDir(), "not.pem")
	if err := os.WriteFile(notKey, []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		msgs []string
	}{
		{[]string{"audit", "verify", "-dir", t.TempDir(), "-key", pub}, []string{"no audit log in", "-dir"}},
		{[]string{"audit", "repair", "-dir", t.TempDir(), "-key", pub}, []string{"no audit log in", "-dir"}},
		{[]string{"audit", "verify", "-dir", dir, "-key", filepath.Join(dir, "nope.pem")}, []string{"-key", "nope.pem"}},
		{[]string{"audit", "verify", "-dir", dir, "-key", notKey}, []string{"not.pem", "PUBLIC KEY"}},
		{[]string{"audit", "verify", "-dir", dir, "-key", tm.ciPriv}, []string{"ci.pem", "PUBLIC KEY"}},
		{[]string{"audit", "verify", "-dir", dir}, []string{noTrustedKey}},
		{[]string{"audit", "repair", "-dir", dir}, []string{noTrustedKey}},
		{[]string{"audit", "verify", "-dir", dir, "-key", pub, "-policy", "sha256:abc"}, []string{"pinned policy", "64 hex digits"}},
		{[]string{"audit", "verify", "-dir", dir, "-key", pub, "-origin", "elsewhere"}, []string{"origin", "rafael audit "}},
		{[]string{"audit", "verify", dir}, []string{"unexpected argument", "-dir"}},
		{[]string{"audit", "repair", dir}, []string{"unexpected argument", "-dir"}},
	} {
		wantUsage(t, tc.args, tc.msgs...)
	}
}

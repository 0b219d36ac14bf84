package main

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/rafaelabs/rafael/genome"
	"github.com/rafaelabs/rafael/guardian"
)

// cleanEnv clears the variables the guardian and the CLI read, so that
// nothing of the machine's environment is trusted or pinned.
func cleanEnv(t *testing.T) {
	t.Helper()
	for _, v := range []string{guardian.AuditKeysEnv, guardian.SigningKeyEnv, guardian.PinEnv, guardian.PolicyEnv} {
		t.Setenv(v, "")
	}
}

// team is a guardian directory with a CI key that signs the log and the
// key files of its approvers.
type team struct {
	t                *testing.T
	dir              string
	ci               ed25519.PrivateKey
	ciPriv, ciPub    string
	alice, bob       string // private key files
	alicePub, bobPub string
}

// newTeam makes the keys (CI: seed 1, alice: 3, bob: 4) and a directory,
// and writes guardian.json with rafael guardian init and the given
// approver flags.
func newTeam(t *testing.T, initArgs ...string) *team {
	t.Helper()
	cleanEnv(t)
	keys := t.TempDir()
	tm := &team{t: t, dir: filepath.Join(t.TempDir(), "testdata", "rafael"), ci: seedKey(1)}
	tm.ciPriv, tm.ciPub = writeKeys(t, keys, "ci", tm.ci)
	tm.alice, tm.alicePub = writeKeys(t, keys, "alice", seedKey(3))
	tm.bob, tm.bobPub = writeKeys(t, keys, "bob", seedKey(4))
	for i, a := range initArgs {
		initArgs[i] = strings.NewReplacer("ALICE", tm.alicePub, "BOB", tm.bobPub, "CI", tm.ciPub).Replace(a)
	}
	wantExit(t, exitOK, append([]string{"guardian", "init", "-dir", tm.dir}, initArgs...)...)
	return tm
}

// propose puts a change of the adopted checkout genome (or of checkout()
// before the first adoption) to the guardian as CI does: signed with the
// CI key, trusting nothing else from the environment.
func (tm *team) propose(mutate func(g *genome.Genome)) guardian.Decision {
	tm.t.Helper()
	g, err := guardian.Open(tm.dir, guardian.WithSigningKey(tm.ci), guardian.WithTrustedKeys(), guardian.WithPinFile(""),
		guardian.WithPolicy(""), guardian.WithClock(clock()))
	if err != nil {
		tm.t.Fatal(err)
	}
	old := checkout()
	if adopted, err := genome.Load(filepath.Join(tm.dir, "checkout.genome.json")); err == nil {
		old = adopted
	}
	evolved := old.Clone()
	mutate(evolved)
	d, err := g.Propose(context.Background(), guardian.Proposal{Old: old, New: evolved, Actor: "evolve", Evidence: []byte("report")})
	if err != nil {
		tm.t.Fatal(err)
	}
	return d
}

// mediumChange moves retry.maxAttempts by a tenth of its range: one
// approval.
func mediumChange(g *genome.Genome) { g.Retry.MaxAttempts = 5 }

func TestGuardianInitApproveVerify(t *testing.T) {
	tm := newTeam(t, "-approver", "alice=ALICE", "-approver", "bob=BOB", "-role", "alice=sre-lead")
	d := tm.propose(mediumChange)
	if d.Status != guardian.Pending || d.Required != 1 {
		t.Fatalf("the proposal is %s needing %d (%s), want pending needing 1", d.Status, d.Required, d.Impact.Level)
	}

	// Listing needs a key trusted to have signed the log, from outside.
	wantUsage(t, []string{"approve", "-dir", tm.dir}, "no trusted key", "-trust", guardian.AuditKeysEnv)
	out, _ := wantExit(t, exitOK, "approve", "-dir", tm.dir, "-trust", tm.ciPub)
	for _, want := range []string{
		d.Proposal, "genome change of module checkout", "at audit seq " + itoa(d.At.Seq),
		"proposed by evolve, key " + guardian.Fingerprint(tm.ci.Public().(ed25519.PublicKey)),
		"impact: medium", "retry.maxAttempts 3 → 5", "retry.maxAttempts: 3 → 5", "approvals: 0 of 1",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the list does not say %q:\n%s", want, out)
		}
	}

	// alice approves by a prefix of the digest; a label defaults to the key.
	out, _ = wantExit(t, exitOK, "approve", "-dir", tm.dir, "-trust", tm.ciPub, "-key", tm.alice, d.Proposal[:len("sha256:")+12])
	lines := strings.Split(strings.TrimSpace(out), "\n")
	path := lines[len(lines)-1]
	if _, err := os.Stat(path); err != nil || filepath.Dir(path) != filepath.Join(tm.dir, "approvals") {
		t.Fatalf("approve printed %q last, want the approval's path under approvals/: %v\n%s", path, err, out)
	}
	if !strings.Contains(out, "approvals: 1 of 1 (alice)") || !strings.Contains(out, "approved as SHA256:") {
		t.Errorf("approve does not say the approval counts:\n%s", out)
	}

	if d := tm.propose(mediumChange); d.Status != guardian.Adopted || strings.Join(d.Approvers, ",") != "alice" {
		t.Fatalf("after alice's approval the proposal is %s with approvers %q, want adopted", d.Status, d.Approvers)
	}
	if out, _ := wantExit(t, exitOK, "approve", "-dir", tm.dir, "-trust", tm.ciPub); !strings.Contains(out, "no pending proposals in "+tm.dir) {
		t.Errorf("after the adoption: %q", out)
	}
	wantUsage(t, []string{"approve", "-dir", tm.dir, "-trust", tm.ciPub, "-key", tm.bob, d.Proposal}, "not pending in "+tm.dir, "rafael approve -dir "+tm.dir)

	// Verification: with the CI key from a flag or the environment.
	out, _ = wantExit(t, exitOK, "audit", "verify", "-dir", tm.dir, "-key", tm.ciPub)
	if !strings.Contains(out, "verify") {
		t.Errorf("no word of success: %q", out)
	}
	wantUsage(t, []string{"audit", "verify", "-dir", tm.dir}, "no trusted key", "-key pub.pem", guardian.AuditKeysEnv, "never trusted")
	t.Setenv(guardian.AuditKeysEnv, tm.ciPub)
	wantExit(t, exitOK, "audit", "verify", "-dir", tm.dir)
	pemText, _ := os.ReadFile(tm.ciPub)
	t.Setenv(guardian.AuditKeysEnv, string(pemText))
	wantExit(t, exitOK, "audit", "verify", "-dir", tm.dir)
	t.Setenv(guardian.AuditKeysEnv, "")
	t.Setenv(guardian.SigningKeyEnv, tm.ciPriv)
	wantExit(t, exitOK, "audit", "verify", "-dir", tm.dir)
	t.Setenv(guardian.SigningKeyEnv, "")

	// An approver's key does not vouch for the log.
	_, stderr := wantExit(t, exitFailure, "audit", "verify", "-dir", tm.dir, "-key", tm.alicePub)
	if !strings.Contains(stderr, "tampered") {
		t.Errorf("a log checked with the wrong key: %s", stderr)
	}
}

func TestGuardianInitWritesADocumentedPolicy(t *testing.T) {
	tm := newTeam(t, "-approver", "alice=ALICE", "-approver", "bob=BOB", "-role", "bob=sre")
	data, err := os.ReadFile(filepath.Join(tm.dir, "guardian.json"))
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Comment   []string `json:"//"`
		Approvers []struct{ Name, Role, PublicKey string }
		Approvals map[string]int
		Rules     struct{ Enable []string }
	}
	if err := json.Unmarshal(data, &f); err != nil {
		t.Fatal(err)
	}
	comment := strings.Join(f.Comment, "\n")
	for _, want := range []string{"approvers", "approvals.medium", "approvals.policy", "impact.medium", "modules", "criticality", "nonIdempotent",
		"rules.enable", "maxAttempts", "maxTimeout", "no-retry-non-idempotent", "external-breaker", guardian.PolicyEnv, "approve"} {
		if !strings.Contains(comment, want) {
			t.Errorf("the comment does not explain %q", want)
		}
	}
	if len(f.Approvers) != 2 || f.Approvers[1].Role != "sre" || !strings.Contains(f.Approvers[0].PublicKey, "PUBLIC KEY") ||
		f.Approvals["medium"] != 1 || f.Approvals["high"] != 2 || f.Approvals["policy"] != 2 || len(f.Rules.Enable) != 4 {
		t.Errorf("guardian.json:\n%s", data)
	}
	// The guardian reads it: a high-impact change needs both approvers.
	d := tm.propose(func(g *genome.Genome) { g.Retry = nil }) // a removed gene: high impact
	if d.Status != guardian.Pending || d.Required != 2 {
		t.Errorf("a high impact change under the written policy is %s needing %d (%s), want pending needing 2", d.Status, d.Required, d.Impact.Level)
	}

	// It is never overwritten without -force.
	wantUsage(t, []string{"guardian", "init", "-dir", tm.dir}, "guardian.json exists", "-force")
	out, _ := wantExit(t, exitOK, "guardian", "init", "-dir", tm.dir, "-force")
	if !strings.Contains(out, "no approvers") || !strings.Contains(out, "already has an audit log") || !strings.Contains(out, "rafael keygen") {
		t.Errorf("guardian init -force over a recorded policy:\n%s", out)
	}
}

func TestGuardianInitBadInput(t *testing.T) {
	cleanEnv(t)
	dir := t.TempDir()
	_, pub := writeKeys(t, dir, "alice", seedKey(3))
	priv, _ := writeKeys(t, dir, "bob", seedKey(4))
	notKey := filepath.Join(dir, "not.pem")
	if err := os.WriteFile(notKey, []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "rafael")
	for _, tc := range []struct {
		args []string
		msgs []string
	}{
		{[]string{"-approver", "alice=" + notKey}, []string{"-approver alice=" + notKey, "PUBLIC KEY"}},
		{[]string{"-approver", "bob=" + priv}, []string{"-approver bob=", "PUBLIC KEY"}},
		{[]string{"-approver", "alice=" + filepath.Join(dir, "nope.pem")}, []string{"-approver alice=", "nope.pem", "no such file"}},
		{[]string{"-approver", "alice"}, []string{"-approver", "NAME=pub.pem"}},
		{[]string{"-approver", "alice=" + pub, "-approver", "Alice=" + pub}, []string{"given twice"}},
		{[]string{"-approver", "alice=" + pub, "-approver", "carol=" + pub}, []string{"one key per approver"}},
		{[]string{"-approver", "alice=" + pub, "-role", "bob=sre"}, []string{"-role bob=sre", "not an approver"}},
		{[]string{"extra"}, []string{"unexpected argument"}},
	} {
		wantUsage(t, append([]string{"guardian", "init", "-dir", out}, tc.args...), tc.msgs...)
	}
	if _, err := os.Stat(filepath.Join(out, "guardian.json")); !os.IsNotExist(err) {
		t.Errorf("a refused init wrote guardian.json: %v", err)
	}
}

func TestGuardianCommandsHelp(t *testing.T) {
	for _, tc := range []struct {
		args  []string
		flags []string
	}{
		{[]string{"guardian", "init", "-h"}, []string{"-approver", "-role", "-force", "-dir"}},
		{[]string{"approve", "-h"}, []string{"-trust", "-key", "-actor", "-dir"}},
		{[]string{"audit", "verify", "-h"}, []string{"-key", "-pin", "-policy", "-origin", "-dir", "cache"}},
		{[]string{"audit", "repair", "-h"}, []string{"-key", "-apply", "-dir"}},
	} {
		out, _ := wantExit(t, exitOK, tc.args...)
		for _, f := range tc.flags {
			if !strings.Contains(out, f) {
				t.Errorf("rafael %s does not document %s:\n%s", strings.Join(tc.args, " "), f, out)
			}
		}
	}
	out, _ := wantExit(t, exitOK, "help")
	for _, c := range []string{"guardian init", "audit repair", "audit verify", "approve"} {
		if !strings.Contains(out, c) {
			t.Errorf("rafael help does not list %s", c)
		}
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

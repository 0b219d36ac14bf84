package main

import (
	"context"
	"crypto/ed25519"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rafaelabs/rafael/genome"
	"github.com/rafaelabs/rafael/guardian"
)

func TestApproveLetsAPendingChangeBeAdopted(t *testing.T) {
	tm := newTeam(t, "-approver", "alice=ALICE")
	if out, _ := wantExit(t, exitOK, "approve", "-dir", tm.dir, "-trust", tm.ciPub); !strings.Contains(out, "no pending proposals in "+tm.dir+": it has no audit log yet") {
		t.Errorf("before any proposal: %q", out)
	}
	d := tm.propose(mediumChange)
	if d.Status != guardian.Pending {
		t.Fatalf("the proposal is %s (%s), want pending", d.Status, d.Impact.Level)
	}
	// The CI key is trusted through $RAFAEL_AUDIT_KEYS; -actor labels the
	// approval.
	t.Setenv(guardian.AuditKeysEnv, tm.ciPub)
	out, _ := wantExit(t, exitOK, "approve", d.Proposal, "-key", tm.alice, "-actor", "alice", "-dir", tm.dir)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	path := lines[len(lines)-1]
	if _, err := os.Stat(path); err != nil || !strings.HasPrefix(path, filepath.Join(tm.dir, "approvals")) {
		t.Fatalf("approve printed %q last, want the path of the approval under approvals/: %v", path, err)
	}
	if !strings.HasPrefix(out, d.Proposal+"\n") || !strings.Contains(out, "approved as alice (key SHA256:") ||
		!strings.Contains(out, "approvals: 1 of 1 (alice); the next go test -rafael.update adopts it") {
		t.Errorf("approve's summary:\n%s", out)
	}
	if d := tm.propose(mediumChange); d.Status != guardian.Adopted || len(d.Approvers) != 1 {
		t.Errorf("after the approval the proposal is %s with approvers %q, want adopted by alice", d.Status, d.Approvers)
	}
	if g, err := genome.Load(filepath.Join(tm.dir, "checkout.genome.json")); err != nil || g.Retry.MaxAttempts != 5 {
		t.Errorf("the adopted genome file: %v", err)
	}
}

func TestApproveByTheProposersKeyDoesNotCount(t *testing.T) {
	// The CI key is listed as an approver too: its approvals of what it
	// proposed never count.
	tm := newTeam(t, "-approver", "ci=CI", "-approver", "alice=ALICE")
	d := tm.propose(mediumChange)
	if d.Status != guardian.Pending {
		t.Fatalf("the proposal is %s, want pending", d.Status)
	}
	wantUsage(t, []string{"approve", "-dir", tm.dir, "-trust", tm.ciPub, "-key", tm.ciPriv, d.Proposal},
		"trusted to sign the audit log")
	// Made with the library, the CI's approval is stored, and ignored.
	g, err := guardian.Open(tm.dir, guardian.WithSigningKey(nil), guardian.WithTrustedKeys(tm.ci.Public().(ed25519.PublicKey)),
		guardian.WithPinFile(""), guardian.WithPolicy(""))
	if err != nil {
		t.Fatal(err)
	}
	env, err := guardian.Approve(d.Proposal, d.At, tm.ci, "ci")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := g.WriteApproval(context.Background(), env); err != nil {
		t.Fatal(err)
	}
	out, _ := wantExit(t, exitOK, "approve", "-dir", tm.dir, "-trust", tm.ciPub)
	if !strings.Contains(out, "approvals: 0 of 1") || !strings.Contains(out, "ignored: approvals/") || !strings.Contains(out, "never approves their own change") {
		t.Errorf("the proposer's approval is not listed as ignored:\n%s", out)
	}
	if d := tm.propose(mediumChange); d.Status != guardian.Pending {
		t.Errorf("with only the proposer's approval the proposal is %s, want pending", d.Status)
	}

	// bob is not an approver: WriteApproval refuses his approval.
	_, stderr := wantExit(t, exitUsage, "approve", "-dir", tm.dir, "-trust", tm.ciPub, "-key", tm.bob, d.Proposal)
	if !strings.Contains(stderr, "not signed by an approver") {
		t.Errorf("bob's approval: %s", stderr)
	}
	if files, _ := filepath.Glob(filepath.Join(tm.dir, "approvals", "*.json")); len(files) != 1 {
		t.Errorf("approvals/ holds %d files, want the proposer's only", len(files))
	}
}

func TestApproveBadInput(t *testing.T) {
	tm := newTeam(t, "-approver", "alice=ALICE")
	d := tm.propose(mediumChange)
	dir := tm.dir
	digest := "sha256:" + strings.Repeat("0", 64)
	trust := []string{"-trust", tm.ciPub}
	for _, tc := range []struct {
		args []string
		msgs []string
	}{
		{[]string{"approve", "a", "b"}, []string{"at most one proposal digest"}},
		{[]string{"approve", "not-a-digest", "-key", tm.alice, "-dir", dir}, []string{"not-a-digest", "64 hex digits"}},
		{[]string{"approve", "sha256:0123456789a", "-key", tm.alice, "-dir", dir}, []string{"prefix of 12"}},
		{[]string{"approve", digest, "-dir", dir}, []string{"-key is required"}},
		{[]string{"approve", digest, "-key", tm.alice, "-dir", filepath.Join(dir, "nope")}, []string{"nope", "-dir"}},
		{[]string{"approve", digest, "-key", filepath.Join(dir, "nope.pem"), "-dir", dir}, []string{"nope.pem"}},
		{[]string{"approve", digest, "-key", tm.alicePub, "-dir", dir}, []string{"PRIVATE KEY"}},
		{[]string{"approve", digest, "-key", tm.alice, "-dir", dir}, []string{"no trusted key", "-trust", guardian.AuditKeysEnv}},
		{[]string{"approve", "-dir", dir, "-trust", tm.alice}, []string{"-trust " + tm.alice, "PUBLIC KEY"}},
		{[]string{"approve", "-dir", dir, "-trust", filepath.Join(dir, "nope.pem")}, []string{"-trust", "nope.pem"}},
		{append([]string{"approve", digest, "-key", tm.alice, "-dir", dir}, trust...), []string{"not pending in " + dir, "rafael approve -dir " + dir}},
		{[]string{"approve", d.Proposal, "-key", tm.alice, "-dir", dir, "-trust", tm.alicePub}, []string{"trusted to sign the audit log"}},
	} {
		wantUsage(t, tc.args, tc.msgs...)
	}
	t.Setenv(guardian.AuditKeysEnv, "not a file")
	wantUsage(t, []string{"approve", "-dir", dir}, "$"+guardian.AuditKeysEnv)
	t.Setenv(guardian.AuditKeysEnv, "")
	t.Setenv(guardian.SigningKeyEnv, tm.ciPub)
	wantUsage(t, []string{"approve", "-dir", dir}, "$"+guardian.SigningKeyEnv, "PRIVATE KEY")
}

func TestApproveRefusesATamperedLog(t *testing.T) {
	tm := newTeam(t, "-approver", "alice=ALICE")
	d := tm.propose(mediumChange)
	tamper(t, tm.dir)
	_, stderr := wantExit(t, exitFailure, "approve", "-dir", tm.dir, "-trust", tm.ciPub)
	if !strings.Contains(stderr, "fails verification") {
		t.Errorf("listing a tampered log: %s", stderr)
	}
	wantExit(t, exitFailure, "approve", d.Proposal, "-dir", tm.dir, "-trust", tm.ciPub, "-key", tm.alice)
	if files, _ := filepath.Glob(filepath.Join(tm.dir, "approvals", "*")); len(files) != 0 {
		t.Errorf("an approval was written beside a tampered log: %q", files)
	}
}

func TestApproveThatDoesNotCountFails(t *testing.T) {
	// bob is listed under the name the proposals carry as their actor:
	// his approval is stored (his key is an approver's) but never counts.
	tm := newTeam(t, "-approver", "evolve=BOB", "-approver", "alice=ALICE")
	d := tm.propose(mediumChange)
	out, stderr := wantExit(t, exitFailure, "approve", d.Proposal, "-dir", tm.dir, "-trust", tm.ciPub, "-key", tm.bob)
	if !strings.Contains(out, "approvals: 0 of 1") || !strings.Contains(stderr, "does not count") || !strings.Contains(stderr, "cannot approve it") {
		t.Errorf("an approval that does not count:\nstdout:\n%s\nstderr:\n%s", out, stderr)
	}
	if d := tm.propose(mediumChange); d.Status != guardian.Pending {
		t.Errorf("the proposal is %s, want pending", d.Status)
	}
}

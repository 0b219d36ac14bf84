package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rafaelabs/rafael/genome"
	"github.com/rafaelabs/rafael/guardian"
)

func TestApproveLetsAPendingChangeBeAdopted(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "rafael")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	priv, pub := writeKeys(t, t.TempDir(), "alice", seedKey(3))
	pubPEM, err := os.ReadFile(pub)
	if err != nil {
		t.Fatal(err)
	}
	cfg := fmt.Sprintf(`{"approvers": [{"name": "alice", "role": "sre", "publicKey": %q}]}`, pubPEM)
	if err := os.WriteFile(filepath.Join(dir, "guardian.json"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	propose := func() guardian.Decision {
		g, err := guardian.Open(dir, guardian.WithSigningKey(seedKey(1)), guardian.WithClock(clock()))
		if err != nil {
			t.Fatal(err)
		}
		evolved := checkout()
		evolved.Retry.MaxAttempts = 5 // 10 % of its range: medium impact, one approval
		d, err := g.Propose(context.Background(), guardian.Proposal{Old: checkout(), New: evolved, Actor: "evolve"})
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	d := propose()
	if d.Status != guardian.Pending {
		t.Fatalf("the proposal is %s (%s), want pending: %+v", d.Status, d.Impact.Level, d.Rules)
	}

	out, _ := wantExit(t, exitOK, "approve", d.Proposal, "-key", priv, "-actor", "alice", "-dir", dir)
	path := strings.TrimSpace(out)
	if _, err := os.Stat(path); err != nil || !strings.HasPrefix(path, filepath.Join(dir, "approvals")) {
		t.Fatalf("approve printed %q, want the path of the approval under approvals/: %v", out, err)
	}
	if d := propose(); d.Status != guardian.Adopted || len(d.Approvers) != 1 {
		t.Errorf("after the approval the proposal is %s with approvers %q, want adopted by alice", d.Status, d.Approvers)
	}
	if g, err := genome.Load(filepath.Join(dir, "checkout.genome.json")); err != nil || g.Retry.MaxAttempts != 5 {
		t.Errorf("the adopted genome file: %v", err)
	}
}

func TestApproveBadInput(t *testing.T) {
	dir := t.TempDir()
	priv, pub := writeKeys(t, t.TempDir(), "alice", seedKey(3))
	digest := "sha256:" + strings.Repeat("0", 64)
	for _, tc := range []struct {
		args []string
		msgs []string
	}{
		{[]string{"approve"}, []string{"want one proposal digest"}},
		{[]string{"approve", digest, "-actor", "alice", "-dir", dir}, []string{"-key and -actor are required"}},
		{[]string{"approve", digest, "-key", priv, "-dir", dir}, []string{"-key and -actor are required"}},
		{[]string{"approve", digest, "-key", priv, "-actor", "alice", "-dir", filepath.Join(dir, "nope")}, []string{"nope", "-dir"}},
		{[]string{"approve", digest, "-key", filepath.Join(dir, "nope.pem"), "-actor", "alice", "-dir", dir}, []string{"nope.pem"}},
		{[]string{"approve", digest, "-key", pub, "-actor", "alice", "-dir", dir}, []string{"PRIVATE KEY"}},
		{[]string{"approve", "not-a-digest", "-key", priv, "-actor", "alice", "-dir", dir}, []string{"not-a-digest"}},
	} {
		wantUsage(t, tc.args, tc.msgs...)
	}
}

package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rafaelabs/rafael/vaultdata"
)

func TestVaultListShowSearch(t *testing.T) {
	out, _ := wantExit(t, exitOK, "vault", "list")
	if n := len(vaultdata.Default().List()); strings.Count(out, "\n") != n+1 {
		t.Errorf("vault list: want a header and %d lines:\n%s", n, out)
	}
	if !strings.Contains(out, "pgx-outage-retry") || !strings.Contains(out, "postgres/pgx") {
		t.Errorf("vault list lacks pgx-outage-retry:\n%s", out)
	}

	out, _ = wantExit(t, exitOK, "vault", "show", "pgx-outage-retry")
	for _, want := range []string{`"id": "pgx-outage-retry"`, `"genome"`, `"maxAttempts": 12`, `"proofs"`, "proven on simulated model: score", "re-run: go test -count=1 -run '^TestModelProofs$/^pgx-outage-retry$' ./vaultdata/vaulttest"} {
		if !strings.Contains(out, want) {
			t.Errorf("vault show lacks %s:\n%s", want, out)
		}
	}

	out, _ = wantExit(t, exitOK, "vault", "search", "-stack", "postgres", "-min", "85")
	for _, line := range strings.Split(strings.TrimSpace(out), "\n")[1:] {
		if !strings.Contains(line, "postgres/") {
			t.Errorf("vault search -stack postgres: %q is not a postgres pattern", line)
		}
	}
	if !strings.Contains(out, "pgx-outage-retry") {
		t.Errorf("vault search -stack postgres -min 85 lacks pgx-outage-retry:\n%s", out)
	}
	out, _ = wantExit(t, exitOK, "vault", "search", "-category", "hedging")
	if strings.Count(out, "hedging") < 2 {
		t.Errorf("vault search -category hedging:\n%s", out)
	}
	out, _ = wantExit(t, exitOK, "vault", "search", "-stack", "cobol")
	if strings.TrimSpace(out) != "no pattern matches" {
		t.Errorf("vault search -stack cobol: %q", out)
	}
}

func TestVaultCommandsRefuseBadInput(t *testing.T) {
	wantUsage(t, []string{"vault"}, "missing subcommand")
	wantUsage(t, []string{"vault", "show"}, "want one pattern id")
	wantUsage(t, []string{"vault", "show", "pgx-outage-retri"}, "pgx-outage-retry") // the closest ids
	wantUsage(t, []string{"vault", "search", "-category", "magic"}, "-category")
	wantUsage(t, []string{"vault", "search", "-min", "101"}, "-min 101")
	wantUsage(t, []string{"vault", "list", "extra"}, "takes no arguments")

	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "broken.json"), []byte(`{"id": "x"`), 0o644); err != nil {
		t.Fatal(err)
	}
	wantUsage(t, []string{"vault", "list", "-dir", dir}, "broken.json")
	wantUsage(t, []string{"vault", "list", "-dir", filepath.Join(dir, "missing")}, "missing")
}

package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

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

// TestVaultVerifyNamesTheBrokenPattern copies two shipped patterns proven
// on their model into a team's directory and breaks one (an SLO its genome
// cannot meet): rafael vault verify re-runs both proofs through go test,
// exits 1 and names the broken one, and writes nothing without -update.
func TestVaultVerifyNamesTheBrokenPattern(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go test on the proofs: skipped with -short")
	}
	dir := t.TempDir()
	for _, id := range []string{"kafka-produce-ratelimit", "s3-upload-bulkhead"} {
		data, err := os.ReadFile(filepath.Join("..", "..", "vaultdata", "patterns", id+".json"))
		if err != nil {
			t.Fatal(err)
		}
		if id == "s3-upload-bulkhead" {
			data = []byte(strings.Replace(string(data), `"successRate": 0.95`, `"successRate": 0.95, "p99": "1ms"`, 1))
		}
		if err := os.WriteFile(filepath.Join(dir, id+".json"), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	before, _ := os.ReadFile(filepath.Join(dir, "kafka-produce-ratelimit.json"))
	out, _ := wantExit(t, exitFailure, "vault", "verify", dir, "-C", filepath.Join("..", ".."))
	for _, want := range []string{
		"ok   kafka-produce-ratelimit on simulated model",
		"FAIL s3-upload-bulkhead on simulated model: go test -count=1 -run '^TestModelProofs$/^s3-upload-bulkhead$' ./vaultdata/vaulttest",
		"1 of 2 patterns failed a proof: s3-upload-bulkhead",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("vault verify lacks %q:\n%s", want, out)
		}
	}
	if after, _ := os.ReadFile(filepath.Join(dir, "kafka-produce-ratelimit.json")); string(after) != string(before) {
		t.Error("vault verify without -update changed a pattern file")
	}

	// A file that does not load is named too, and nothing is run.
	if err := os.WriteFile(filepath.Join(dir, "broken.json"), []byte(`{"id": "broken"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	out, _ = wantExit(t, exitFailure, "vault", "verify", dir, "-C", filepath.Join("..", ".."))
	if !strings.Contains(out, "broken.json: name: missing") {
		t.Errorf("vault verify does not name the file that does not load:\n%s", out)
	}
}

// TestVaultVerifyUpdateRewritesTheProof: with -update, the proof is run
// again and written back, and the file still loads.
func TestVaultVerifyUpdateRewritesTheProof(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go test on the proofs: skipped with -short")
	}
	dir := t.TempDir()
	data, err := os.ReadFile(filepath.Join("..", "..", "vaultdata", "patterns", "kafka-produce-ratelimit.json"))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "kafka-produce-ratelimit.json")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	out, _ := wantExit(t, exitOK, "vault", "verify", dir, "-C", filepath.Join("..", ".."), "-update")
	if !strings.Contains(out, "every proof passed; "+dir+" updated") {
		t.Errorf("vault verify -update:\n%s", out)
	}
	after, err := os.ReadFile(path)
	if err != nil || string(after) == string(data) {
		t.Fatalf("vault verify -update did not rewrite the proof (%v)", err)
	}
	v, err := vaultdata.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := v.Pattern("kafka-produce-ratelimit")
	if len(p.Proofs) != 1 || p.Proofs[0].Date.Before(time.Now().Add(-time.Hour)) {
		t.Errorf("proofs after -update: %+v", p.Proofs)
	}
}

func TestVaultVerifyOutcome(t *testing.T) {
	for _, c := range []struct {
		out, skip string
		passed    bool
	}{
		{"=== RUN   TestVaultProofs\n--- PASS: TestVaultProofs (1.00s)\n    --- PASS: TestVaultProofs/pgx (1.00s)\nok\n", "", true},
		{"--- PASS: TestVaultProofs (0.00s)\n    --- SKIP: TestVaultProofs/pgx (0.00s)\n        main_test.go:61: PostgreSQL is not reachable\nok\n", "main_test.go:61: PostgreSQL is not reachable", true},
		{"testing: warning: no tests to run\nPASS\nok  \t./clients\t0.01s [no tests to run]\n", "", false},
	} {
		skip, passed := outcome(c.out)
		if skip != c.skip || passed != c.passed {
			t.Errorf("outcome(%q) = %q, %v; want %q, %v", c.out, skip, passed, c.skip, c.passed)
		}
	}
}

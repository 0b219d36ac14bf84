package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rafaelabs/rafael/report"
	"github.com/rafaelabs/rafael/slo"
)

// sampleReport is a small report of module on the simulated tier whose
// trials all met the SLO with the given fitness, under the named threats.
func sampleReport(module string, seed uint64, fitness float64, threats ...string) *report.Report {
	r := &report.Report{
		SchemaVersion: report.SchemaVersion,
		Module:        module,
		Seed:          seed,
		Tier:          "simulated",
		GoVersion:     "go1.26.8",
		Start:         time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC),
		End:           time.Date(2026, 3, 1, 12, 0, 1, 0, time.UTC),
		SLO:           slo.SLO{SuccessRate: 0.99, P99: 3 * time.Second},
		Genome:        "sha256:" + strings.Repeat("ab", 32),
	}
	for i, name := range threats {
		r.Threats = append(r.Threats, report.Threat{
			Name: name, Threat: name + " [high]", Severity: "high",
			Trials: []report.Trial{{
				Seed: uint64(100 + i), Genome: r.Genome, Replay: "go test -run X",
				Metrics: report.Metrics{Requests: 100, Succeeded: 100, SuccessRate: 1, Recovered: true, AttemptsPerRequest: 1, Fitness: fitness},
			}},
		})
	}
	r.Derive()
	return r
}

// troubled is sampleReport with threat "db-outage" broken on its p99 (trial
// seed 100), "latency" unstable (seed 101: its p99 broke, then met the SLO
// when measured again), and "flood" not run.
func troubled() *report.Report {
	r := sampleReport("checkout", 7, 0.9, "db-outage", "latency", "flood")
	slow := func(t *report.Trial, p99 time.Duration) {
		t.Metrics.P99 = p99
		t.Violations = slo.Check(r.SLO, t.Metrics)
	}
	db, lat := &r.Threats[0].Trials[0], &r.Threats[1].Trials[0]
	slow(db, 3870*time.Millisecond)
	db.Replay = "go test ./checkout -run '^TestCheckout$/^db-outage$/^seed=100$' -rafael.seed=7"
	again := lat.Metrics
	slow(lat, 3300*time.Millisecond)
	lat.Reruns = []report.Measurement{{Metrics: again}}
	r.Threats[2].Trials = nil
	r.Threats[2].NotRun = "the test's deadline came first"
	r.Derive()
	return r
}

func writeReport(t *testing.T, dir, name string, r *report.Report) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := r.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestReportRender(t *testing.T) {
	dir := t.TempDir()
	path := writeReport(t, dir, "run.json", sampleReport("checkout", 7, 0.9, "db-outage"))
	out, stderr := wantExit(t, exitOK, "report", "render", path)
	if !strings.Contains(out, "checkout") || !strings.Contains(out, "db-outage") {
		t.Errorf("render printed no Markdown of the report:\n%s", out)
	}
	for _, f := range []string{"run.md", "run.html"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("render did not write %s: %v (stderr %q)", f, err, stderr)
		}
	}
	other := filepath.Join(t.TempDir(), "html")
	wantExit(t, exitOK, "report", "render", path, "-o", other)
	if _, err := os.Stat(filepath.Join(other, "run.html")); err != nil {
		t.Errorf("render -o: %v", err)
	}
}

func TestReportMerge(t *testing.T) {
	dir := t.TempDir()
	a := writeReport(t, dir, "shard1.json", sampleReport("checkout", 7, 0.9, "db-outage"))
	b := writeReport(t, dir, "shard2.json", sampleReport("checkout", 7, 0.8, "latency"))
	out, _ := wantExit(t, exitOK, "report", "merge", a, b)
	if !strings.Contains(out, "db-outage") || !strings.Contains(out, "latency") {
		t.Errorf("merge of two shards lacks a threat:\n%s", out)
	}
	merged := filepath.Join(t.TempDir(), "merged.json")
	wantExit(t, exitOK, "report", "merge", dir, "-o", merged)
	r, err := report.ReadFile(merged)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Threats) != 2 {
		t.Errorf("merged report has %d threats, want the shards' 2", len(r.Threats))
	}

	writeReport(t, dir, "other.json", sampleReport("payments", 9, 0.5, "latency"))
	wantUsage(t, []string{"report", "merge", dir, "-o", merged}, "2 runs", "give -o a directory")
	outDir := filepath.Join(t.TempDir(), "runs")
	wantExit(t, exitOK, "report", "merge", dir, "-o", outDir)
	for _, f := range []string{"checkout.simulated.7.json", "payments.simulated.9.html", "summary.md", "summary.html"} {
		if _, err := os.Stat(filepath.Join(outDir, f)); err != nil {
			t.Errorf("merge -o DIR: %v", err)
		}
	}
}

func TestReportDiffGatesRegressions(t *testing.T) {
	oldDir, newDir := t.TempDir(), t.TempDir()
	writeReport(t, oldDir, "a.json", sampleReport("checkout", 7, 0.9, "db-outage"))
	same := writeReport(t, newDir, "a.json", sampleReport("checkout", 7, 0.9, "db-outage"))
	out, _ := wantExit(t, exitOK, "report", "diff", oldDir, same)
	if !strings.Contains(out, "checkout") {
		t.Errorf("diff does not list the run:\n%s", out)
	}

	worse := writeReport(t, t.TempDir(), "a.json", sampleReport("checkout", 7, 0.7, "db-outage"))
	_, stderr := wantExit(t, exitFailure, "report", "diff", oldDir, worse)
	if !strings.Contains(stderr, "rafael: report diff: ") || !strings.Contains(stderr, "regressed") {
		t.Errorf("regression not explained: %q", stderr)
	}
	wantExit(t, exitOK, "report", "diff", oldDir, worse, "-threshold", "25") // 10 points is within 25
	md, _ := wantExit(t, exitFailure, "report", "diff", "-markdown", oldDir, worse)
	if !strings.HasPrefix(md, "### ✗ Resilience went down in 1 of 1 runs") || !strings.Contains(md, "| status | module |") {
		t.Errorf("diff -markdown does not lead with the verdict and a table:\n%s", md)
	}
	wantUsage(t, []string{"report", "diff", oldDir, worse, "-threshold", "-1"}, "threshold")
	for _, bad := range []string{"NaN", "Inf", "-Inf", "+Inf"} { // NaN once disabled the gate
		wantUsage(t, []string{"report", "diff", oldDir, worse, "-threshold", bad}, "want a finite number of points")
	}
}

func TestReportBadInput(t *testing.T) {
	dir := t.TempDir()
	good := writeReport(t, dir, "good.json", sampleReport("checkout", 7, 0.9, "db-outage"))
	data, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	truncated := filepath.Join(dir, "truncated.json")
	if err := os.WriteFile(truncated, data[:len(data)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	future := filepath.Join(dir, "future.json")
	if err := os.WriteFile(future, []byte(strings.Replace(string(data), `"schemaVersion": 2`, `"schemaVersion": 3`, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	old := filepath.Join(dir, "old.json")
	if err := os.WriteFile(old, []byte(`{"schemaVersion": 1, "module": "checkout", "threats": [{"name": "x", "passed": true}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing.json")
	empty := t.TempDir()
	for _, tc := range []struct {
		args []string
		msgs []string
	}{
		{[]string{"report", "render"}, []string{"want one report file"}},
		{[]string{"report", "render", missing}, []string{"missing.json"}},
		{[]string{"report", "render", truncated}, []string{"truncated.json"}},
		{[]string{"report", "render", future}, []string{"future.json", "schema version"}},
		{[]string{"report", "merge"}, []string{"want report files"}},
		{[]string{"report", "merge", good, missing}, []string{"missing.json", "no such file"}},
		{[]string{"report", "merge", empty}, []string{"no report files"}},
		{[]string{"report", "diff", good}, []string{"want <old> <new>"}},
		{[]string{"report", "diff", good, truncated}, []string{"truncated.json"}},
		{[]string{"report", "diff", future, good}, []string{"future.json"}},
		{[]string{"report", "render", old}, []string{"old.json", "schemaVersion 1", "older rafael", "run the tests again"}},
		{[]string{"report", "diff", old, good}, []string{"old.json", "schemaVersion 1"}},
	} {
		wantUsage(t, tc.args, tc.msgs...)
	}
}

// merge -table and render say, of every threat not met, what broke, by how
// much, on which seed and how to replay it; of an unstable threat both
// measurements; of a threat not run that it did not run, and why.
func TestReportShowsWhatBroke(t *testing.T) {
	path := writeReport(t, t.TempDir(), "run.json", troubled())
	table, _ := wantExit(t, exitOK, "report", "merge", path, "-table")
	md, _ := wantExit(t, exitOK, "report", "render", path)
	for name, out := range map[string]string{"merge -table": table, "render": md} {
		for _, want := range []string{
			"p99 latency 3.87s is above the required 3s (+29 %)",
			"seed 100",
			"go test ./checkout -run '^TestCheckout$/^db-outage$/^seed=100$' -rafael.seed=7",
			"seed 101 is unstable",
			"first: p99 latency 3.3s is above the required 3s (+10 %)",
			"rerun 1: met the SLO",
			"not run", "the test's deadline came first",
			"1 broken, 1 unstable, 1 not run",
		} {
			if !strings.Contains(out, want) {
				t.Errorf("%s does not say %q:\n%s", name, want, out)
			}
		}
	}
	if !strings.Contains(table, "0/3") {
		t.Errorf("merge -table counts a threat not met as met:\n%s", table)
	}
}

// diff leaves an unstable threat out and gates a threat that stopped
// running.
func TestReportDiffUnstableAndNotRun(t *testing.T) {
	oldDir := t.TempDir()
	writeReport(t, oldDir, "a.json", sampleReport("checkout", 7, 0.9, "db-outage", "latency", "flood"))

	shaky := sampleReport("checkout", 7, 0.9, "db-outage", "latency", "flood")
	lat := &shaky.Threats[1].Trials[0]
	again := lat.Metrics
	lat.Metrics.P99 = 4 * time.Second
	lat.Violations = slo.Check(shaky.SLO, lat.Metrics)
	lat.Reruns = []report.Measurement{{Metrics: again}}
	shaky.Derive()
	out, _ := wantExit(t, exitOK, "report", "diff", oldDir, writeReport(t, t.TempDir(), "a.json", shaky))
	if !strings.Contains(out, "unstable, left out: latency") {
		t.Errorf("diff does not list the unstable threat:\n%s", out)
	}

	gone := sampleReport("checkout", 7, 0.9, "db-outage", "latency", "flood")
	gone.Threats[2].Trials = nil
	gone.Derive()
	_, stderr := wantExit(t, exitFailure, "report", "diff", oldDir, writeReport(t, t.TempDir(), "a.json", gone), "-threshold", "100")
	if !strings.Contains(stderr, "flood ran before and did not run now") {
		t.Errorf("diff does not say which threat stopped running: %q", stderr)
	}
}

// Runs that share module, tier and seed keep a file set each in the merged
// directory: rafael test on examples_test wrote 10 sets for 12 runs.
func TestMergedRunsKeepAFileSetEach(t *testing.T) {
	a, b, c := sampleReport("catalog", 1, 0.9, "flood"), sampleReport("catalog", 1, 0.8, "flood"), sampleReport("catalog", 1, 0.7, "flood")
	a.Test, b.Test = "TestCatalog", "TestWalkthroughs/catalog"
	c.Test, c.Genome = "TestCatalog", "sha256:"+strings.Repeat("1", 64) // a second Run in one test
	s, err := report.Merge(a, b, c)
	if err != nil || len(s.Reports) != 3 {
		t.Fatalf("merge: %v, %d runs", err, len(s.Reports))
	}
	out := t.TempDir()
	if _, err := writeSummary(s, out); err != nil {
		t.Fatal(err)
	}
	if jsons, _ := filepath.Glob(filepath.Join(out, "*.json")); len(jsons) != 3 {
		t.Errorf("want one report file per run, got %v", jsons)
	}
}

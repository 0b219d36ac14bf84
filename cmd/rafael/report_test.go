package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rafaelabs/rafael/report"
)

// sampleReport is a small report of module on the simulated tier whose
// trials all have the given fitness, under the named threats.
func sampleReport(module string, seed uint64, fitness float64, threats ...string) *report.Report {
	r := &report.Report{
		SchemaVersion: report.SchemaVersion,
		Module:        module,
		Seed:          seed,
		Tier:          "simulated",
		GoVersion:     "go1.26.8",
		Start:         time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC),
		End:           time.Date(2026, 3, 1, 12, 0, 1, 0, time.UTC),
		SLO:           report.SLO{SuccessRate: 0.99, P99: 3 * time.Second},
		Genome:        "sha256:" + strings.Repeat("ab", 32),
	}
	for i, name := range threats {
		trials := []report.Trial{{
			Seed: uint64(100 + i), Genome: r.Genome, Passed: true, Replay: "go test -run X",
			Metrics: report.Metrics{Requests: 100, Succeeded: 100, SuccessRate: 1, Recovered: true, AttemptsPerRequest: 1, Fitness: fitness},
		}}
		r.Threats = append(r.Threats, report.Threat{
			Name: name, Threat: name + " [high]", Severity: "high", Passed: true,
			Score: report.ScoreOf(trials), Trials: trials,
		})
	}
	r.Baseline, _ = report.Overall(r.Threats)
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
	wantExit(t, exitOK, "report", "diff", oldDir, worse, "-threshold", "25") // 20 points is within 25
	wantUsage(t, []string{"report", "diff", oldDir, worse, "-threshold", "-1"}, "threshold")
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
	if err := os.WriteFile(future, []byte(strings.Replace(string(data), `"schemaVersion": 1`, `"schemaVersion": 2`, 1)), 0o644); err != nil {
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
	} {
		wantUsage(t, tc.args, tc.msgs...)
	}
}

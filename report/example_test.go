package report_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/rafaelabs/rafael/report"
)

func ExampleReadFile() {
	dir, _ := os.MkdirTemp("", "rafael")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "checkout.report.json")
	rep := &report.Report{SchemaVersion: report.SchemaVersion, Module: "checkout", Baseline: report.Score{Score: 87.5, Trials: 6}}
	if err := rep.WriteFile(path); err != nil {
		panic(err)
	}
	back, err := report.ReadFile(path)
	fmt.Println(back.Module, back.Baseline.Score, err)

	_ = os.WriteFile(path, []byte(`{"schemaVersion": 7}`), 0o644)
	_, err = report.ReadFile(path)
	fmt.Println(err != nil)
	// Output:
	// checkout 87.5 <nil>
	// true
}

// small is a report with one threat of two trials, before and after.
func small() *report.Report {
	trial := func(seed uint64, fitness float64, passed bool) report.Trial {
		return report.Trial{Seed: seed, Passed: passed, Metrics: report.Metrics{Fitness: fitness}}
	}
	th := report.Threat{Name: "db-outage", Threat: "db-outage(outage=2s) [high]", Severity: "high",
		Trials:        []report.Trial{trial(1, 0.5, false), trial(2, 0.7, false)},
		EvolvedTrials: []report.Trial{trial(1, 0.9, true), trial(2, 0.95, true)}, EvolvedPassed: true,
		Verdict: report.Mitigated}
	th.Score = report.ScoreOf(th.Trials)
	ev := report.ScoreOf(th.EvolvedTrials)
	th.Evolved = &ev
	r := &report.Report{SchemaVersion: report.SchemaVersion, Module: "checkout", Seed: 42, Tier: "simulated",
		GoVersion: "go1.26.8", SLO: report.SLO{SuccessRate: 0.99}, Genome: "sha256:5f1c", Champion: "sha256:c4a8",
		Threats:    []report.Threat{th},
		GenomeDiff: []string{"- retry.maxAttempts: 2", "+ retry.maxAttempts: 4"}}
	r.Baseline, r.Evolved = report.Overall(r.Threats)
	r.Improvement = r.Evolved.Score - r.Baseline.Score
	return r
}

func ExampleReport_Markdown() {
	fmt.Print(string(small().Markdown()))
	// Output:
	// ### RAFAEL: checkout
	//
	// **Resilience 60.0 → 92.5 (+32.5 points, +54.2 %): baseline 60.0 (40.4–79.6), evolved 92.5 (87.6–97.4); threats 1 mitigated.**
	//
	// Seed 42, simulated tier, go1.26.8, 4 trials in 0s. SLO: success ≥ 99 %.
	//
	// | Threat | Severity | Before | After | Change | Verdict |
	// |---|---|---:|---:|---:|---|
	// | `db-outage(outage=2s) [high]` | high | 60.0 (40.4–79.6) | 92.5 (87.6–97.4) | +32.5 | mitigated |
	//
	// #### Genome: sha256:5f1c → sha256:c4a8
	//
	// ```diff
	// - retry.maxAttempts: 2
	// + retry.maxAttempts: 4
	// ```
}

func ExampleDiff() {
	before := small()
	after := small()
	for i := range after.Threats[0].Trials {
		after.Threats[0].Trials[i].Metrics.Fitness -= 0.10 // ten points worse
	}
	after.Threats[0].Score = report.ScoreOf(after.Threats[0].Trials)
	after.Baseline, after.Evolved = report.Overall(after.Threats)

	old, _ := report.Merge(before)
	cur, _ := report.Merge(after)
	d, err := report.Diff(old, cur, 5)
	fmt.Print(d)
	fmt.Println("bad input:", err)
	fmt.Println("regression:", errors.Is(d.Err(), report.ErrRegression))
	// Output:
	// ! checkout (simulated, seed 42): 60.0 → 50.0 (-10.0)
	// report: resilience regressed by more than 5 points: checkout (simulated, seed 42): 60.0 → 50.0 (-10.0)
	// bad input: <nil>
	// regression: true
}

func ExampleMerge() {
	whole := small()
	shard := func(i int) *report.Report {
		r := small()
		th := &r.Threats[0]
		th.Trials, th.EvolvedTrials = th.Trials[i:i+1], th.EvolvedTrials[i:i+1]
		th.Score = report.ScoreOf(th.Trials)
		ev := report.ScoreOf(th.EvolvedTrials)
		th.Evolved = &ev
		r.Baseline, r.Evolved = report.Overall(r.Threats)
		return r
	}
	a, b := shard(0), shard(1)
	fmt.Printf("shards: %.1f and %.1f\n", a.Baseline.Score, b.Baseline.Score)
	sum, err := report.Merge(a, b)
	fmt.Printf("merged: %v, %d report, %v\n", sum.Reports[0].Baseline, len(sum.Reports), err)
	fmt.Println("same as unsharded:", sum.Reports[0].Baseline == whole.Baseline)
	// Output:
	// shards: 50.0 and 70.0
	// merged: 60.0 (40.4–79.6), 1 report, <nil>
	// same as unsharded: true
}

package report_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/rafaelabs/rafael/report"
	"github.com/rafaelabs/rafael/slo"
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

// small is a report with one threat of two trials, before and after
// evolution, judged against its SLO by Derive.
func small() *report.Report {
	objective := slo.SLO{SuccessRate: 0.99}
	trial := func(seed uint64, succeeded int, fitness float64) report.Trial {
		m := report.Metrics{Requests: 100, Succeeded: succeeded, SuccessRate: float64(succeeded) / 100,
			P50: 20 * time.Millisecond, P99: 90 * time.Millisecond, Max: 120 * time.Millisecond,
			Recovered: true, Recovery: time.Second, Fitness: fitness}
		if succeeded < 100 {
			m.FailedP50, m.FailedP99, m.FailedMax = 2*time.Millisecond, 3*time.Millisecond, 3*time.Millisecond
		}
		return report.Trial{Seed: seed, Metrics: m, Violations: slo.Check(objective, m),
			Replay: fmt.Sprintf("go test . -run '^TestCheckout$/^db-outage$/^seed=%d$' -rafael.seed=42", seed)}
	}
	r := &report.Report{SchemaVersion: report.SchemaVersion, Module: "checkout", Seed: 42, Tier: "simulated",
		GoVersion: "go1.26.8", SLO: objective, Genome: "sha256:5f1c", Champion: "sha256:c4a8",
		Threats: []report.Threat{{Name: "db-outage", Threat: "db-outage(outage=2s) [high]", Severity: "high",
			Trials:        []report.Trial{trial(1, 80, 0.5), trial(2, 95, 0.7)},
			EvolvedTrials: []report.Trial{trial(1, 100, 0.9), trial(2, 100, 0.95)}}},
		GenomeDiff: []string{"- retry.maxAttempts: 2", "+ retry.maxAttempts: 4"}}
	r.Derive()
	return r
}

func ExampleReport_Markdown() {
	fmt.Print(string(small().Markdown()))
	// Output:
	// ### RAFAEL: checkout
	//
	// **Resilience 48.1 → 96.2 (+48.2 points, +100.3 %): baseline 48.1 (45.6–50.5, 2 trials), evolved 96.2 (93.8–98.7, 2 trials); threats: 1 mitigated.**
	//
	// Seed 42, simulated tier, go1.26.8, 4 trials in 0s. SLO: success ≥ 99 %.
	//
	// | Threat | Severity | Before | After | Change | Verdict |
	// |---|---|---:|---:|---:|---|
	// | `db-outage(outage=2s) [high]` | high | 48.1 (45.6–50.5, 2 trials) | 96.2 (93.8–98.7, 2 trials) | +48.2 | mitigated |
	//
	// #### Threats that did not meet the SLO
	//
	// **db-outage** `db-outage(outage=2s) [high]`, starting genome: **broken**: 2 of 2 trials broke the SLO.
	//
	// - seed 1 broke the SLO: success rate 0.800 (80 of 100) is below the required 0.990
	//   - measured: 80 of 100 requests succeeded; successes p50 20ms, p99 90ms, max 120ms; failures p50 2ms, p99 3ms, max 3ms; recovered in 1s
	//   - replay: `go test . -run '^TestCheckout$/^db-outage$/^seed=1$' -rafael.seed=42`
	// - seed 2 broke the SLO: success rate 0.950 (95 of 100) is below the required 0.990
	//   - measured: 95 of 100 requests succeeded; successes p50 20ms, p99 90ms, max 120ms; failures p50 2ms, p99 3ms, max 3ms; recovered in 1s
	//   - replay: `go test . -run '^TestCheckout$/^db-outage$/^seed=2$' -rafael.seed=42`
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
		tr := &after.Threats[0].Trials[i]
		tr.Metrics.Succeeded -= 40 // forty more requests fail
		tr.Metrics.SuccessRate = float64(tr.Metrics.Succeeded) / float64(tr.Metrics.Requests)
		tr.Violations = slo.Check(after.SLO, tr.Metrics)
	}
	after.Derive()

	old, _ := report.Merge(before)
	cur, _ := report.Merge(after)
	d, err := report.Diff(old, cur, 5)
	fmt.Print(d)
	fmt.Println("bad input:", err)
	fmt.Println("regression:", errors.Is(d.Err(), report.ErrRegression))
	// Output:
	// rule: a run regresses when its score drops by more than 5 points (-threshold) and more than the measured noise of the change, or when a threat stops running
	// ! checkout (simulated, seed 42): 48.1 → 41.3 (-6.7)
	// report: resilience regressed: checkout (simulated, seed 42): 48.1 → 41.3 (-6.7), a drop of more than the threshold, 5 points
	// bad input: <nil>
	// regression: true
}

func ExampleMerge() {
	whole := small()
	shard := func(i int) *report.Report {
		r := small()
		th := &r.Threats[0]
		th.Trials, th.EvolvedTrials = th.Trials[i:i+1], th.EvolvedTrials[i:i+1]
		r.Derive()
		return r
	}
	a, b := shard(0), shard(1)
	fmt.Printf("shards: %.1f and %.1f\n", a.Baseline.Score, b.Baseline.Score)
	sum, err := report.Merge(a, b)
	fmt.Printf("merged: %v, %d report, %v\n", sum.Reports[0].Baseline, len(sum.Reports), err)
	fmt.Println("same as unsharded:", sum.Reports[0].Baseline == whole.Baseline)
	// Output:
	// shards: 46.8 and 49.3
	// merged: 48.1 (45.6–50.5, 2 trials), 1 report, <nil>
	// same as unsharded: true
}

// Derive judges a report from its measurements: a trial that broke the SLO
// and met it when measured again is unstable, and a threat without trials
// is not run, never met.
func ExampleReport_Derive() {
	objective := slo.SLO{P99: 2 * time.Second}
	slow := report.Metrics{Requests: 100, Succeeded: 100, SuccessRate: 1, P99: 2580 * time.Millisecond, Fitness: 1}
	fast := slow
	fast.P99 = 1500 * time.Millisecond
	r := &report.Report{SchemaVersion: report.SchemaVersion, Module: "checkout", SLO: objective, Threats: []report.Threat{
		{Name: "latency", Trials: []report.Trial{{Seed: 7, Metrics: slow, Violations: slo.Check(objective, slow),
			Reruns: []report.Measurement{{Metrics: fast, Violations: slo.Check(objective, fast)}}}}},
		{Name: "db-outage", Trials: []report.Trial{{Seed: 7, Metrics: slow, Violations: slo.Check(objective, slow)}}},
		{Name: "flood", NotRun: "the test's deadline came first"},
	}}
	r.Derive()
	for _, t := range r.Threats {
		if t.Status == report.NotRun {
			fmt.Printf("%s: %s: %s\n", t.Name, t.Status, t.NotRun) // no score: nothing was measured
			continue
		}
		fmt.Printf("%s: %s, score %.1f\n", t.Name, t.Status, t.Score.Score)
	}
	fmt.Println(r.Threats[1].Trials[0].Violations[0])
	// Output:
	// latency: unstable, score 45.2
	// db-outage: broken, score 45.2
	// flood: not run: the test's deadline came first
	// p99 latency 2.58s is above the required 2s (+29 %)
}

package report

import (
	"encoding/json"
	"fmt"
	"time"
)

// The fixtures are built by hand: a full report with evolution data
// (evolved) and one of a run that only measured (measured). Every derived
// number goes through ScoreOf and Overall, as the harness's do.

// trials makes one trial per fitness value, seeds from base.
func trials(threat, genome string, base uint64, slo time.Duration, fitness ...float64) []Trial {
	out := make([]Trial, len(fitness))
	for i, f := range fitness {
		seed := base + uint64(i)
		ok := f >= 0.8
		tr := Trial{
			Seed: seed, Genome: genome, Passed: ok,
			Replay: fmt.Sprintf("go test -run '^TestCheckout$/^%s$/^seed=%d$' -rafael.seed=42 ./examples_test", threat, seed),
			Metrics: Metrics{
				Requests: 200, Succeeded: int(200 * f), SuccessRate: float64(int(200*f)) / 200,
				P50: time.Duration(20+i) * time.Millisecond, P90: time.Duration(120+10*i) * time.Millisecond,
				P99: time.Duration(float64(slo) * (1.6 - f)), Max: time.Duration(float64(slo) * (2 - f)),
				Recovered: ok, Recovery: time.Duration(300*(1+i)) * time.Millisecond,
				AttemptsPerRequest: 1 + (1-f)*2, PeakInFlight: 8 + i, PeakGoroutines: 12 + i,
				Fitness: f,
			},
		}
		if !ok {
			tr.Violations = []string{fmt.Sprintf("success rate %.3f < 0.990", tr.Metrics.SuccessRate)}
			tr.Metrics.Errors = []string{"dial tcp: connection refused ×" + fmt.Sprint(200-tr.Metrics.Succeeded)}
		}
		out[i] = tr
	}
	return out
}

// buckets makes a latency distribution with the standard bounds.
func buckets(counts ...int64) []Bucket {
	bounds := []time.Duration{time.Millisecond, 5 * time.Millisecond, 20 * time.Millisecond, 100 * time.Millisecond,
		500 * time.Millisecond, time.Second, 5 * time.Second}
	out := make([]Bucket, len(counts))
	for i, c := range counts {
		out[i] = Bucket{UpTo: bounds[i], Count: c}
	}
	return out
}

func passedAll(ts []Trial) bool {
	for _, t := range ts {
		if !t.Passed {
			return false
		}
	}
	return true
}

// row fills a threat's derived fields from its trials.
func row(t Threat) Threat {
	t.Score = ScoreOf(t.Trials)
	t.Passed = passedAll(t.Trials)
	if len(t.EvolvedTrials) > 0 {
		e := ScoreOf(t.EvolvedTrials)
		t.Evolved = &e
		t.EvolvedPassed = passedAll(t.EvolvedTrials)
		t.Verdict = verdict(t.Passed, t.EvolvedPassed)
	}
	return t
}

const (
	startDigest    = "sha256:5f1c0b9e2a7d"
	championDigest = "sha256:c4a81e07d3b2"
)

// measured is a report of a run without evolution.
func measured() *Report {
	slo := 500 * time.Millisecond
	r := &Report{
		SchemaVersion: SchemaVersion, Module: "checkout", Seed: 42, Tier: "simulated", GoVersion: "go1.26.8",
		Start:  time.Date(2026, 11, 24, 3, 0, 0, 0, time.UTC),
		End:    time.Date(2026, 11, 24, 3, 0, 2, 500_000_000, time.UTC),
		SLO:    SLO{SuccessRate: 0.99, P99: slo, RecoverWithin: 2 * time.Second},
		Genome: startDigest,
		Threats: []Threat{
			row(Threat{Name: "db-outage", Threat: "db-outage(outage=2s) [high]", Severity: "high",
				Trials:  trials("db-outage", startDigest, 100, slo, 0.55, 0.62, 0.48),
				Latency: buckets(40, 220, 130, 60, 90, 40, 20)}),
			row(Threat{Name: "latency", Threat: "latency(delay=300ms, jitter=100ms) [medium]", Severity: "medium",
				Trials:  trials("latency", startDigest, 200, slo, 0.91, 0.88, 0.93),
				Latency: buckets(0, 10, 30, 80, 420, 50, 10)}),
			row(Threat{Name: "flood", Threat: "flood(rate=2000/s) [critical]", Severity: "critical",
				Trials:  trials("flood", startDigest, 300, slo, 0.35, 0.41, 0.30),
				Latency: buckets(10, 40, 90, 150, 180, 80, 50)}),
		},
	}
	r.Baseline, r.Evolved = Overall(r.Threats)
	return r
}

// evolved is measured after an evolution: the champion's trials, the
// history, a counterexample, the genome diff and the audit reference.
func evolved() *Report {
	r := measured()
	slo := r.SLO.P99
	ev := []struct {
		fitness []float64
		latency []Bucket
	}{
		{[]float64{0.93, 0.95, 0.91}, buckets(180, 250, 110, 40, 15, 5, 0)},
		{[]float64{0.94, 0.92, 0.95}, buckets(0, 12, 40, 150, 380, 18, 0)},
		{[]float64{0.58, 0.66, 0.52}, buckets(60, 120, 160, 140, 70, 40, 10)},
	}
	for i := range r.Threats {
		t := r.Threats[i]
		t.EvolvedTrials = trials(t.Name, championDigest, uint64(100*(i+1)), slo, ev[i].fitness...)
		t.EvolvedLatency = ev[i].latency
		r.Threats[i] = row(t)
	}
	r.Baseline, r.Evolved = Overall(r.Threats)
	r.Improvement = r.Evolved.Score - r.Baseline.Score
	r.Champion = championDigest
	r.GenomeDiff = []string{
		"- retry.maxAttempts: 2",
		"+ retry.maxAttempts: 4",
		"- retry.backoff: 50ms",
		"+ retry.backoff: 80ms (jitter 0.2)",
		"+ breaker: open after 5 failures in 10s, half-open after 1.5s",
		"- timeout: 2s",
		"+ timeout: 450ms",
	}
	r.StartGenome = json.RawMessage(`{"schemaVersion":1,"module":"checkout","generation":0,"genes":[{"kind":"retry","maxAttempts":2,"backoff":50000000},{"kind":"timeout","after":2000000000}]}`)
	r.ChampionGenome = json.RawMessage(`{"schemaVersion":1,"module":"checkout","generation":5,"genes":[{"kind":"retry","maxAttempts":4,"backoff":80000000,"jitter":0.2},{"kind":"breaker","failures":5,"window":10000000000,"halfOpen":1500000000},{"kind":"timeout","after":450000000}]}`)
	best := []float64{0.52, 0.61, 0.70, 0.74, 0.79, 0.81}
	mean := []float64{0.41, 0.47, 0.55, 0.62, 0.66, 0.70}
	for i := range best {
		g := Generation{Index: i, Best: best[i], Mean: mean[i], BestGenome: fmt.Sprintf("sha256:gen%d", i),
			Adopted: i > 0 && i%2 == 1, Reason: "improvement below the trial noise", Evaluations: 16 * 9}
		if g.Adopted {
			g.Reason = fmt.Sprintf("best %.2f beats the incumbent by more than the noise", best[i])
		}
		r.History = append(r.History, g)
	}
	r.History[5].BestGenome = championDigest
	r.Counterexamples = []Counterexample{{
		Name: "flood", Threat: "flood(rate=1250/s) [critical]", Seed: 301,
		Replay:     "go test -run '^TestCheckout$/^flood$/^seed=301$' -rafael.seed=42 ./examples_test",
		Violations: []string{"success rate 0.660 < 0.990", "p99 940ms > 500ms"},
	}}
	r.Audit = &AuditRef{Status: "pending", Seq: 12, Hash: "sha256:9e0d44a1b6f3c2", Impact: "medium", Trusted: true}
	return r
}

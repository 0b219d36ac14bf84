package report

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/rafaelabs/rafael/slo"
)

// The fixtures are built by hand: a run on the wire tier that only
// measured (measured), with a broken, an unstable and a met threat and one
// that did not run; and a run on the simulated tier that evolved (evolved),
// with a mitigated, a held and a vulnerable threat and one that did not
// run. Their trials are judged with slo.Check and every status, score and
// verdict is set by Derive, as the harness's are.

// fixtureSLO is the objective of the fixtures.
var fixtureSLO = slo.SLO{SuccessRate: 0.99, P99: 500 * time.Millisecond, RecoverWithin: 2 * time.Second}

const ms = time.Millisecond

// metrics is a measurement of 200 requests: ok succeeded with the given
// p99; the failures took about failed (a refused connection fails fast); a
// zero recovery means it never recovered.
func metrics(i, ok int, p99, failed, recovery time.Duration, fitness float64) Metrics {
	m := Metrics{
		Requests: 200, Succeeded: ok, SuccessRate: float64(ok) / 200,
		P50: time.Duration(20+i) * ms, P90: time.Duration(120+10*i) * ms, P99: p99, Max: p99 + 200*ms,
		Recovered: recovery > 0, Recovery: recovery,
		AttemptsPerRequest: 1 + float64(200-ok)/100, PeakInFlight: 8 + i, PeakGoroutines: 12 + i,
		Fitness: fitness,
	}
	if n := 200 - ok; n > 0 {
		m.FailedP50, m.FailedP99, m.FailedMax = failed, 4*failed, 5*failed+time.Duration(i)*ms
		m.Errors = []string{fmt.Sprintf("dial tcp: connection refused ×%d", n)}
	}
	return m
}

// trial is the trial of threat with seed, judged against fixtureSLO; reruns
// are its re-measurements.
func trial(threat, genome string, seed uint64, m Metrics, reruns ...Metrics) Trial {
	tr := Trial{Seed: seed, Genome: genome, Violations: slo.Check(fixtureSLO, m), Metrics: m,
		Replay: fmt.Sprintf("go test ./examples_test -run '^TestCheckout$/^%s$/^seed=%d$' -rafael.seed=42", threat, seed)}
	for _, x := range reruns {
		tr.Reruns = append(tr.Reruns, Measurement{Violations: slo.Check(fixtureSLO, x), Metrics: x})
	}
	tr.Timeline = timelineOf(m)
	return tr
}

// timelineOf lays m's requests over time as a trial would: 1s steady, 2s
// of fault, 2s of recovery in ten buckets of 20 requests; the failures in
// the fault's buckets first, then (when it never recovered) after it; the
// p99 of a bucket in the fault m's p99, outside it m's p50.
func timelineOf(m Metrics) *Timeline {
	tl := &Timeline{Steady: time.Second, Inject: 2 * time.Second, Recover: 2 * time.Second, Bucket: 500 * ms}
	failed := m.Requests - m.Succeeded
	order := []int{2, 3, 4, 5, 6, 7, 8, 9, 1, 0}
	fails := make([]int, 10)
	for _, k := range order {
		fails[k] = min(20, failed)
		failed -= fails[k]
	}
	for k := range 10 {
		p := TimePoint{Requests: 20, Succeeded: 20 - fails[k], P99: m.P50}
		if k >= 2 && k < 6 {
			p.P99 = m.P99
		}
		if p.Succeeded == 0 {
			p.P99 = 0
		}
		tl.Points = append(tl.Points, p)
	}
	return tl
}

// buckets makes a latency distribution with the standard bounds.
func buckets(counts ...int64) []Bucket {
	bounds := []time.Duration{time.Millisecond, 5 * ms, 20 * ms, 100 * ms, 500 * ms, time.Second, 5 * time.Second}
	out := make([]Bucket, len(counts))
	for i, c := range counts {
		out[i] = Bucket{UpTo: bounds[i], Count: c}
	}
	return out
}

const (
	startDigest    = "sha256:5f1c0b9e2a7d"
	championDigest = "sha256:c4a81e07d3b2"
)

// notRun is why the fixtures' fourth threat did not run.
const notRun = "the test's deadline (go test -timeout) came before its first trial"

// base is a report of module checkout with seed 42 on tier, without threats.
func base(tier string) *Report {
	return &Report{
		SchemaVersion: SchemaVersion, Module: "checkout", Test: "TestCheckout", Package: "./examples_test", Seed: 42, Tier: tier, GoVersion: "go1.26.8",
		Start:  time.Date(2026, 11, 24, 3, 0, 0, 0, time.UTC),
		End:    time.Date(2026, 11, 24, 3, 0, 2, 500_000_000, time.UTC),
		SLO:    fixtureSLO,
		Genome: startDigest,
	}
}

// The threats of both fixtures.
var (
	dbOutage = Threat{Name: "db-outage", Threat: "db-outage(outage=2s) [high]", Severity: "high"}
	latency  = Threat{Name: "latency", Threat: "latency(delay=300ms, jitter=100ms) [medium]", Severity: "medium"}
	flood    = Threat{Name: "flood", Threat: "flood(rate=2000/s) [critical]", Severity: "critical"}
	stampede = Threat{Name: "cache-stampede", Threat: "cache-stampede(keys=1) [medium]", Severity: "medium", NotRun: notRun}
)

// measured is a report of a run on the wire tier without evolution: the
// trials that broke the SLO were measured again; db-outage broke it again
// (broken), latency's trial 201 met it the second time (unstable).
func measured() *Report {
	r := base("wire")
	g := startDigest
	db, lat, fl := dbOutage, latency, flood
	db.Trials = []Trial{
		trial("db-outage", g, 100, metrics(0, 110, 410*ms, 3*ms, 0, 0.55), metrics(0, 118, 395*ms, 3*ms, 0, 0.57)),
		trial("db-outage", g, 101, metrics(1, 124, 430*ms, 3*ms, 2600*ms, 0.62), metrics(1, 121, 420*ms, 3*ms, 2700*ms, 0.61)),
		trial("db-outage", g, 102, metrics(2, 96, 450*ms, 3*ms, 0, 0.48), metrics(2, 99, 440*ms, 3*ms, 0, 0.49)),
	}
	db.Latency, db.FailedLatency = buckets(0, 40, 160, 90, 40), buckets(150, 100, 20)
	slow := metrics(1, 200, 620*ms, 0, 300*ms, 0.88)
	slow.Lag = 180 * ms
	lat.Trials = []Trial{
		trial("latency", g, 200, metrics(0, 200, 440*ms, 0, 300*ms, 0.91)),
		trial("latency", g, 201, slow, metrics(1, 200, 470*ms, 0, 300*ms, 0.90)),
		trial("latency", g, 202, metrics(2, 199, 450*ms, 2*time.Second, 300*ms, 0.93)),
	}
	lat.Latency, lat.FailedLatency = buckets(0, 10, 30, 80, 420, 50), buckets(0, 0, 0, 0, 0, 0, 1)
	fl.Trials = []Trial{
		trial("flood", g, 300, metrics(0, 70, 480*ms, 40*ms, 1200*ms, 0.35), metrics(0, 72, 470*ms, 40*ms, 1300*ms, 0.36)),
		trial("flood", g, 301, metrics(1, 82, 700*ms, 40*ms, 0, 0.41), metrics(1, 80, 690*ms, 40*ms, 0, 0.40)),
		trial("flood", g, 302, metrics(2, 60, 490*ms, 40*ms, 1500*ms, 0.30), metrics(2, 64, 480*ms, 40*ms, 1400*ms, 0.31)),
	}
	fl.Latency, fl.FailedLatency = buckets(10, 40, 60, 50, 40, 12), buckets(0, 0, 188, 200)
	r.Threats = []Threat{db, lat, fl, stampede}
	r.Derive()
	return r
}

// unstable is a wire run that met the SLO but for one trial, which broke
// it and then met it when measured again: the latency threat of measured,
// alone.
func unstable() *Report {
	r := measured()
	r.Threats = r.Threats[1:2]
	r.Derive()
	return r
}

// evolved is a report of a run on the simulated tier that evolved: the
// champion's trials on the same seeds, the history, a counterexample, the
// genome diff and the audit reference.
func evolved() *Report {
	r := base("simulated")
	g, c := startDigest, championDigest
	db, lat, fl, st := dbOutage, latency, flood, stampede
	db.Trials = []Trial{
		trial("db-outage", g, 100, metrics(0, 110, 410*ms, 3*ms, 0, 0.55)),
		trial("db-outage", g, 101, metrics(1, 124, 430*ms, 3*ms, 2600*ms, 0.62)),
		trial("db-outage", g, 102, metrics(2, 96, 450*ms, 3*ms, 0, 0.48)),
	}
	db.EvolvedTrials = []Trial{
		trial("db-outage", c, 100, metrics(0, 200, 380*ms, 0, 400*ms, 0.93)),
		trial("db-outage", c, 101, metrics(1, 199, 390*ms, 450*ms, 450*ms, 0.95)),
		trial("db-outage", c, 102, metrics(2, 200, 370*ms, 0, 500*ms, 0.91)),
	}
	db.Latency, db.FailedLatency = buckets(0, 40, 160, 90, 40), buckets(150, 100, 20)
	db.EvolvedLatency, db.EvolvedFailedLatency = buckets(0, 120, 300, 150, 29), buckets(0, 0, 0, 0, 1)
	lat.Trials = []Trial{
		trial("latency", g, 200, metrics(0, 200, 440*ms, 0, 300*ms, 0.91)),
		trial("latency", g, 201, metrics(1, 200, 460*ms, 0, 300*ms, 0.88)),
		trial("latency", g, 202, metrics(2, 200, 450*ms, 0, 300*ms, 0.93)),
	}
	lat.EvolvedTrials = []Trial{
		trial("latency", c, 200, metrics(0, 200, 420*ms, 0, 300*ms, 0.94)),
		trial("latency", c, 201, metrics(1, 200, 430*ms, 0, 300*ms, 0.92)),
		trial("latency", c, 202, metrics(2, 200, 410*ms, 0, 300*ms, 0.95)),
	}
	lat.Latency, lat.EvolvedLatency = buckets(0, 10, 30, 80, 430, 50), buckets(0, 12, 40, 150, 398)
	fl.Trials = []Trial{
		trial("flood", g, 300, metrics(0, 70, 480*ms, 40*ms, 1200*ms, 0.35)),
		trial("flood", g, 301, metrics(1, 82, 700*ms, 40*ms, 0, 0.41)),
		trial("flood", g, 302, metrics(2, 60, 490*ms, 40*ms, 1500*ms, 0.30)),
	}
	fl.EvolvedTrials = []Trial{
		trial("flood", c, 300, metrics(0, 199, 645*ms, 60*ms, 900*ms, 0.58)),
		trial("flood", c, 301, metrics(1, 198, 480*ms, 60*ms, 800*ms, 0.66)),
		trial("flood", c, 302, metrics(2, 196, 520*ms, 60*ms, 950*ms, 0.52)),
	}
	fl.Latency, fl.FailedLatency = buckets(10, 40, 60, 50, 40, 12), buckets(0, 0, 188, 200)
	fl.EvolvedLatency, fl.EvolvedFailedLatency = buckets(60, 120, 160, 140, 70, 40, 3), buckets(0, 0, 0, 7)
	r.Threats = []Threat{db, lat, fl, st}
	r.Derive()

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
	r.GeneCosts = []GeneCost{
		{Gene: "retry", Threats: []GeneThreatCost{{Threat: "db-outage", Trials: 2, Passed: 2, PassedWithout: 0, Fitness: 0.935, FitnessWithout: 0.61}}},
		{Gene: "circuitBreaker", Threats: []GeneThreatCost{{Threat: "flood", Trials: 2, Passed: 1, PassedWithout: 0, Fitness: 0.71, FitnessWithout: 0.52}}},
	}
	r.Removed = []string{"hedge"}
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
		Replay: "go test ./examples_test -run '^TestCheckout$/^flood$/^seed=301$' -rafael.seed=42",
		Violations: slo.Check(fixtureSLO, Metrics{Requests: 200, Succeeded: 132, SuccessRate: 0.66, P99: 940 * ms,
			Recovered: true, Recovery: time.Second}),
	}}
	r.Audit = &AuditRef{Status: "pending", Seq: 12, Hash: "sha256:9e0d44a1b6f3c2", Impact: "medium", Trusted: true}
	return r
}

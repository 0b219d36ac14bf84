package report

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rafaelabs/rafael/slo"
)

// Measurements for the Derive tests, judged against fixtureSLO.
var (
	good     = Metrics{Requests: 100, Succeeded: 100, SuccessRate: 1, P99: 300 * ms, Recovered: true, Recovery: time.Second, Fitness: 0.9}
	slowP99  = Metrics{Requests: 100, Succeeded: 100, SuccessRate: 1, P99: 501 * ms, Recovered: true, Recovery: time.Second, Fitness: 1}
	dropping = Metrics{Requests: 100, Succeeded: 60, SuccessRate: 0.6, P99: 300 * ms, Recovered: true, Recovery: time.Second, Fitness: 0.5}
)

// judged is a trial of seed measuring m, then each of reruns.
func judged(seed uint64, m Metrics, reruns ...Metrics) Trial {
	return trial("t", "sha256:g", seed, m, reruns...)
}

func derived(threats ...Threat) *Report {
	r := &Report{SchemaVersion: SchemaVersion, Module: "m", SLO: fixtureSLO, Threats: threats}
	r.Derive()
	return r
}

func TestDeriveTrialStatus(t *testing.T) {
	r := derived(Threat{Name: "x", Severity: "high", Trials: []Trial{
		judged(1, good),
		judged(2, slowP99),                  // broke, never measured again
		judged(3, slowP99, slowP99),         // broke again when measured again
		judged(4, slowP99, slowP99, good),   // met it the second time it was measured again
		judged(5, dropping, good, dropping), // met it once of two
	}})
	var got []Status
	for _, tr := range r.Threats[0].Trials {
		got = append(got, tr.Status)
	}
	assert.Equal(t, []Status{Met, Broken, Broken, Unstable, Unstable}, got)
	assert.Equal(t, Broken, r.Threats[0].Status, "one broken trial breaks the threat")

	r = derived(Threat{Name: "x", Trials: []Trial{judged(1, good), judged(2, slowP99, good)}})
	assert.Equal(t, Unstable, r.Threats[0].Status, "unstable trials and no broken one: unstable")
	assert.Equal(t, string(Unstable), r.Threats[0].Verdict)
	assert.Less(t, r.Threats[0].Score.Score, slo.Met, "an unstable threat does not score as met")
}

// A trial that breaks its p99 by a millisecond scores below 50 whatever its
// fitness, and so does its threat, among perfect trials.
func TestDeriveScoresABrokenP99Below50(t *testing.T) {
	r := derived(Threat{Name: "x", Trials: []Trial{judged(1, good), judged(2, slowP99), judged(3, good)}})
	th := r.Threats[0]
	require.Equal(t, slo.P99, th.Trials[1].Violations[0].Kind)
	assert.Less(t, th.Trials[1].Score, slo.Met)
	assert.Equal(t, 95.0, th.Trials[0].Score, "a met trial scores 50 + 50·fitness")
	assert.Equal(t, Broken, th.Status)
	assert.Less(t, th.Score.Score, slo.Met)
	assert.Equal(t, 3, th.Score.Trials)
	assert.Less(t, r.Baseline.Score, slo.Met)
}

func TestDeriveNotRun(t *testing.T) {
	r := derived(
		Threat{Name: "ran", Severity: "medium", Trials: []Trial{judged(1, good)}},
		Threat{Name: "silent", Severity: "critical"},
		Threat{Name: "late", Severity: "critical", NotRun: "the deadline came first"},
	)
	silent, late := r.Threats[1], r.Threats[2]
	assert.Equal(t, NotRun, silent.Status, "a threat without trials is not run, never met")
	assert.Equal(t, string(NotRun), silent.Verdict)
	assert.Equal(t, "no trial ran", silent.NotRun)
	assert.Equal(t, "the deadline came first", late.NotRun)
	assert.Equal(t, Score{}, silent.Score)
	assert.Equal(t, r.Threats[0].Score, r.Baseline, "threats not run count for nothing, neither for nor against")

	none := derived(Threat{Name: "silent"})
	assert.Equal(t, 0, none.Baseline.Trials)

	// A stale reason is dropped once the threat has trials.
	stale := derived(Threat{Name: "x", NotRun: "skipped", Trials: []Trial{judged(1, good)}})
	assert.Empty(t, stale.Threats[0].NotRun)
}

func TestDeriveVerdicts(t *testing.T) {
	trials := map[Status][]Trial{
		Met:      {judged(1, good)},
		Broken:   {judged(1, dropping)},
		Unstable: {judged(1, slowP99, good)},
		NotRun:   nil,
	}
	for _, tc := range []struct {
		before, after Status
		want          string
	}{
		{Broken, Met, Mitigated},
		{Met, Met, Held},
		{Met, Broken, Regressed},
		{Broken, Broken, Vulnerable},
		{Unstable, Met, string(Unstable)},
		{Met, Unstable, string(Unstable)},
		{Unstable, Broken, string(Unstable)},
		{NotRun, Met, string(NotRun)},
		{Broken, NotRun, string(NotRun)},
	} {
		th := Threat{Name: "x", Trials: trials[tc.before], EvolvedTrials: trials[tc.after]}
		// Another threat the champion faced, so the run counts as evolved.
		r := derived(th, Threat{Name: "y", Trials: trials[Met], EvolvedTrials: trials[Met]})
		got := r.Threats[0]
		assert.Equal(t, tc.want, got.Verdict, "%s → %s", tc.before, tc.after)
		assert.Equal(t, tc.before, got.Status)
		assert.Equal(t, tc.after, got.EvolvedStatus)
	}
}

// The champion's trials are scored before its threat's score is taken from
// them: a report fresh from the harness holds no trial scores yet.
func TestDeriveScoresTheChampionsTrials(t *testing.T) {
	r := derived(Threat{Name: "x", Severity: "high", Trials: []Trial{judged(1, dropping)}, EvolvedTrials: []Trial{judged(1, good)}})
	th := r.Threats[0]
	assert.Equal(t, Mitigated, th.Verdict)
	require.NotNil(t, th.Evolved)
	assert.Equal(t, 95.0, th.Evolved.Score)
	assert.Equal(t, 95.0, th.EvolvedTrials[0].Score)
	require.NotNil(t, r.Evolved)
	assert.Equal(t, 95.0, r.Evolved.Score)
	assert.InDelta(t, 95-th.Score.Score, r.Improvement, 1e-12)
}

// Derive sets everything it derives from the measurements alone: derived
// twice, or after its judgements are tampered with, a report is the same.
func TestDeriveIsIdempotent(t *testing.T) {
	r := evolved()
	r.Derive()
	assert.Equal(t, evolved(), r)
	for i := range r.Threats {
		t := &r.Threats[i]
		t.Status, t.EvolvedStatus, t.Verdict, t.Score, t.Evolved = Met, Met, Held, Score{Score: 100}, nil
		for j := range t.Trials {
			t.Trials[j].Status, t.Trials[j].Score = Met, 100
		}
	}
	r.Baseline, r.Evolved, r.Improvement = Score{}, nil, 0
	r.Derive()
	assert.Equal(t, evolved(), r)
}

func TestDeriveSumsUpTheEvidenceThatFaultsFired(t *testing.T) {
	n := func(v int64) *int64 { return &v }
	inj := func(fault string, applied bool, touched *int64) Injection {
		i := Injection{Target: "postgres", Fault: fault, Applied: applied, Touched: touched}
		if touched != nil {
			i.Unit = "connections"
		}
		if applied {
			i.At, i.For = 500*time.Millisecond, 2*time.Second
		}
		return i
	}
	r := Report{Threats: []Threat{
		{Name: "latency", Trials: []Trial{
			{Injections: []Injection{inj("latency 300ms", true, n(12))}},
			{Injections: []Injection{inj("latency 300ms", true, n(9))}},
		}},
		{Name: "bypassed", Trials: []Trial{
			{Injections: []Injection{inj("latency 300ms", true, n(0))}},
			{Injections: []Injection{inj("latency 300ms", true, n(0))}},
		}},
		{Name: "db-outage", Trials: []Trial{{Injections: []Injection{inj("down", true, nil)}}}},
		{Name: "never", Trials: []Trial{{Injections: []Injection{inj("down", false, nil)}}}},
		{Name: "flood", Trials: []Trial{{}}},
	}}
	r.Derive()
	assert.Equal(t, []string{`latency 300ms on "postgres": applied in 2 of 2 trials, at 500ms for 2s in the first; acted on 21 connections`}, r.Threats[0].Fired)
	assert.Empty(t, r.Threats[0].Untouched)
	assert.Equal(t, `the faults of bypassed were applied but acted on no call or connection in 2 trials: does the workload go through target "postgres"?`, r.Threats[1].Untouched)
	assert.Contains(t, r.Threats[2].Fired[0], "its target does not count what it acted on")
	assert.Empty(t, r.Threats[2].Untouched, "a fault its target cannot count is not flagged")
	assert.Contains(t, r.Threats[3].Fired[0], "applied in 0 of 1 trials (never")
	assert.Empty(t, r.Threats[4].Fired, "a threat without fault steps has no evidence to show")

	md := string(r.Markdown())
	assert.Contains(t, md, "#### Evidence that the faults fired")
	assert.Contains(t, md, "  - **warning**: the faults of bypassed were applied but acted on no call or connection")
	page, err := r.HTML()
	require.NoError(t, err)
	assert.Contains(t, string(page), "<h2>Evidence that the faults fired</h2>")
	assert.Contains(t, string(page), `<span class="broken">warning: the faults of bypassed`)
}

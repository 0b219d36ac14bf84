package harness

import (
	"context"
	"testing"
	"time"

	"github.com/rafaelabs/rafael/faults"
	"github.com/rafaelabs/rafael/faults/toxiproxy"
	"github.com/rafaelabs/rafael/genome"
	"github.com/rafaelabs/rafael/internal/sim"
	"github.com/rafaelabs/rafael/report"
	"github.com/rafaelabs/rafael/scenarios"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The in-process dependency, workload and genome of these tests.
var (
	store     = sim.Store
	through   = func(call func(context.Context) error) Workload { return sim.Through(call) }
	resilient = sim.Resilient
)

func TestRunSurvivesOutageAndLatencyWithRetries(t *testing.T) {
	db := faults.NewHook("db", 1)
	rep := Run(t, Spec{
		Module: "checkout",
		Genome: resilient(),
		Threats: []scenarios.Threat{
			scenarios.DBOutage(db, 2*time.Second),
			scenarios.Latency(db, 500*time.Millisecond, scenarios.InjectFor(2*time.Second)),
		},
		Workload: through(store(db)),
		SLO:      SLO{SuccessRate: 0.99},
		Trials:   2,
	})
	require.Len(t, rep.Threats, 2)
	assert.Equal(t, "simulated", rep.Tier)
	for _, row := range rep.Threats {
		assert.Equal(t, report.Met, row.Status, row.Threat)
		require.Len(t, row.Trials, map[bool]int{true: 1, false: 2}[testing.Short()], "-short runs one trial a threat")
		for _, tr := range row.Trials {
			m := tr.Metrics
			assert.Equal(t, 100, m.Requests)
			assert.GreaterOrEqual(t, m.SuccessRate, 0.99, row.Threat)
			assert.Greater(t, m.AttemptsPerRequest, 1.0, "retries were needed under %s", row.Threat)
			assert.True(t, m.Recovered)
			assert.Contains(t, tr.Replay, "-rafael.seed=")
		}
	}
	outage := rep.Threats[0].Trials[0].Metrics
	assert.GreaterOrEqual(t, outage.Max, time.Second, "a request that waited out the outage took long")
	latency := rep.Threats[1].Trials[0].Metrics
	assert.GreaterOrEqual(t, latency.P99, 100*time.Millisecond, "the per-attempt timeout cut 500ms calls at 100ms, then retried")
	assert.Greater(t, rep.Baseline.Score, 50.0)
	assert.LessOrEqual(t, rep.Baseline.Low, rep.Baseline.Score)
}

func TestRunWithoutResilienceMeasuresTheDamage(t *testing.T) {
	db := faults.NewHook("db", 1)
	rep := Run(t, Spec{
		Module:   "checkout",
		Threats:  []scenarios.Threat{scenarios.DBOutage(db, 2*time.Second)},
		Workload: through(store(db)),
		Trials:   1,
	}) // the zero SLO only measures: nothing fails
	m := rep.Threats[0].Trials[0].Metrics
	// The outage is 2s of a 5s trial: about 40 % of the requests fail.
	assert.InDelta(t, 0.6, m.SuccessRate, 0.03)
	assert.Equal(t, 1.0, m.AttemptsPerRequest)
	assert.True(t, m.Recovered)
	assert.Less(t, m.Recovery, 100*time.Millisecond, "the first request after the outage succeeds")
	require.NotEmpty(t, m.Errors)
	assert.Contains(t, m.Errors[0], "connection refused")
	assert.Less(t, m.Fitness, 0.8)
	assert.Equal(t, report.Met, rep.Threats[0].Status, "the zero SLO is always met")
	assert.InDelta(t, 50+50*m.Fitness, rep.Baseline.Score, 1e-9, "a met trial scores 50 + 50·fitness")
}

func TestValidateRefusesBadSpecsBeforeAnyTrial(t *testing.T) {
	db := faults.NewHook("db", 1)
	ok := Spec{Module: "m", Threats: []scenarios.Threat{scenarios.DBOutage(db, time.Second)}, Workload: through(store(db))}
	require.NoError(t, ok.Validate())
	proxy := toxiproxy.Start(t, "postgres", "127.0.0.1:5432")
	for name, tc := range map[string]struct {
		edit func(*Spec)
		want string
	}{
		"empty module":     {func(s *Spec) { s.Module = "" }, "Module is empty"},
		"bad module":       {func(s *Spec) { s.Module = "a b" }, `Module "a b": use letters`},
		"no threats":       {func(s *Spec) { s.Threats = nil }, "Threats is empty"},
		"nil workload":     {func(s *Spec) { s.Workload = nil }, "Workload is nil"},
		"success above 1":  {func(s *Spec) { s.SLO.SuccessRate = 99 }, "SLO.SuccessRate = 99 is outside 0–1"},
		"success negative": {func(s *Spec) { s.SLO.SuccessRate = -0.1 }, "SLO.SuccessRate = -0.1 is outside 0–1"},
		"invalid threat":   {func(s *Spec) { s.Threats = []scenarios.Threat{scenarios.Latency(db, -time.Second)} }, "Threats[0]"},
		"wire target on the simulated tier": {func(s *Spec) {
			s.Tier = Simulated
			s.Threats = append(s.Threats, scenarios.DBOutage(proxy, time.Second))
		}, `Threats[1] "db-outage" step 0: target "postgres" (*toxiproxy.Proxy) reaches outside the process (its Networked method reports true: a network proxy, real sockets), which cannot run inside a testing/synctest bubble`},
		"invalid genome": {func(s *Spec) { s.Genome = &genome.Genome{Retry: &genome.Retry{MaxAttempts: 0}} }, "Genome: "},
		"bad weights":    {func(s *Spec) { s.Weights.Success = -1 }, "Weights.Success = -1"},
		"bad time scale": {func(s *Spec) { s.TimeScale = -2 }, "TimeScale = -2"},
	} {
		t.Run(name, func(t *testing.T) {
			s := ok
			tc.edit(&s)
			err := s.Validate()
			require.Error(t, err)
			assert.ErrorIs(t, err, ErrSpec)
			assert.ErrorContains(t, err, tc.want)
		})
	}
	// Every problem at once.
	err := Spec{SLO: SLO{SuccessRate: 2}}.Validate()
	for _, want := range []string{"Module is empty", "Workload is nil", "Threats is empty", "SLO.SuccessRate"} {
		assert.ErrorContains(t, err, want)
	}
	// Auto picks the wire tier for a proxy, the simulated one otherwise.
	assert.Equal(t, Simulated, ok.tier())
	wire := ok
	wire.Threats = []scenarios.Threat{scenarios.DBOutage(proxy, time.Second)}
	assert.Equal(t, Wire, wire.tier())
	require.NoError(t, wire.Validate())
}

// The same seed measures the same, trial for trial, whatever else runs on
// the machine: virtual time does not see the load.
func TestSameSeedSameMeasurements(t *testing.T) {
	t.Setenv("RAFAEL_OUT", t.TempDir())
	db := faults.NewHook("db", 1)
	spec := Spec{
		Module: "checkout",
		Genome: resilient(),
		Threats: []scenarios.Threat{
			scenarios.DBOutage(db, 2*time.Second),
			scenarios.Latency(db, 300*time.Millisecond, scenarios.Jitter(200*time.Millisecond)),
		},
		Workload: through(store(db)),
		Seed:     7,
		Trials:   2,
		Requests: 200,
	}
	a, b := Run(t, spec), Run(t, spec)
	require.Len(t, a.Threats, 2)
	for i := range a.Threats {
		require.Len(t, b.Threats[i].Trials, len(a.Threats[i].Trials))
		for j, tr := range a.Threats[i].Trials {
			ma, mb := tr.Metrics, b.Threats[i].Trials[j].Metrics
			assert.InDelta(t, ma.PeakGoroutines, mb.PeakGoroutines, 2, "a diagnostic of the whole process")
			ma.PeakGoroutines, mb.PeakGoroutines = 0, 0
			assert.Equal(t, ma, mb, "%s, trial %d", a.Threats[i].Name, j)
		}
	}
	assert.InDelta(t, a.Baseline.Score, b.Baseline.Score, 1e-9)
}

// Each trial records the evidence that its threat's faults fired, and a
// threat whose faults touched nothing — the workload goes around the target
// — is flagged in the report.
func TestReportShowsWhetherTheFaultsFired(t *testing.T) {
	db, unused := faults.NewHook("db", 1), faults.NewHook("replica", 2)
	rep := Run(t, Spec{
		Module: "checkout",
		Genome: resilient(),
		Threats: []scenarios.Threat{
			scenarios.DBOutage(db, 2*time.Second),
			scenarios.DBOutage(unused, 2*time.Second),
		},
		Workload: through(store(db)),
		SLO:      SLO{SuccessRate: 0.5},
		Trials:   1,
	})
	require.Len(t, rep.Threats, 2)
	hit, missed := rep.Threats[0], rep.Threats[1]
	require.Len(t, hit.Trials[0].Injections, 1)
	ev := hit.Trials[0].Injections[0]
	assert.True(t, ev.Applied)
	assert.Equal(t, "db", ev.Target)
	assert.Equal(t, 2*time.Second, ev.For, "in virtual time, exactly the outage")
	require.NotNil(t, ev.Touched)
	assert.Positive(t, *ev.Touched, "the outage refused calls")
	assert.Empty(t, hit.Untouched)
	assert.Contains(t, hit.Fired[0], `down on "db": applied in 1 of 1 trials`)

	require.NotNil(t, missed.Trials[0].Injections[0].Touched)
	assert.Zero(t, *missed.Trials[0].Injections[0].Touched)
	assert.Equal(t, report.Met, missed.Status, "nothing failed: the workload never called the replica")
	assert.Contains(t, missed.Untouched, `does the workload go through target "replica"?`)
}

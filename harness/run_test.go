package harness

import (
	"context"
	"testing"
	"time"

	"github.com/rafaelabs/rafael/evolve"
	"github.com/rafaelabs/rafael/faults"
	"github.com/rafaelabs/rafael/genome"
	"github.com/rafaelabs/rafael/internal/sim"
	"github.com/rafaelabs/rafael/scenarios"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// store is an in-process dependency: a call that takes 2ms, behind a hook.
func store(h *faults.Hook) func(context.Context) error {
	return faults.FuncErr(h, func(ctx context.Context) error { return sim.Work(ctx, 2*time.Millisecond) })
}

func through(call func(context.Context) error) Workload {
	return func(ctx context.Context, p *genome.Policy) error { return p.Do(ctx, call) }
}

// resilient retries through a 2s outage and cuts a 500ms latency short.
func resilient() *genome.Genome {
	return &genome.Genome{
		Timeout: &genome.Timeout{PerAttempt: 100 * time.Millisecond, Overall: 4 * time.Second},
		Retry:   &genome.Retry{MaxAttempts: 12, BaseDelay: 50 * time.Millisecond, MaxDelay: 500 * time.Millisecond, Multiplier: 2, Jitter: 0.2},
	}
}

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
		assert.True(t, row.Passed, row.Threat)
		require.Len(t, row.Trials, 2)
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
	assert.Less(t, rep.Baseline.Score, 80.0)
}

func TestSameSeedSameMeasurements(t *testing.T) {
	db := faults.NewHook("db", 1)
	g := resilient()
	g.Module = "checkout"
	g.CircuitBreaker = &genome.CircuitBreaker{Threshold: 3, OpenDuration: 300 * time.Millisecond, HalfOpenProbes: 1, Window: 10, FailureRate: 0.5}
	for _, th := range []scenarios.Threat{
		scenarios.DBOutage(db, 2*time.Second),
		scenarios.Latency(db, 300*time.Millisecond, scenarios.Jitter(200*time.Millisecond)),
		scenarios.Compose("flaky", scenarios.High, 3*time.Second, scenarios.Step{Target: db, Fault: faults.Error{Rate: 0.3}}),
	} {
		run := func(s uint64) bubbleResult {
			tr := &trial{threat: th, genome: g, workload: through(store(db)), seed: s, requests: 200, drain: time.Second}
			return inBubble(t, tr, 20*time.Second)
		}
		a, b, other := run(7), run(7), run(8)
		require.True(t, a.finished && b.finished && other.finished)
		ma, mb := measure(th, a.raw, evolve.Weights{}, nil), measure(th, b.raw, evolve.Weights{}, nil)
		assert.Equal(t, ma, mb, "%s: the same seed measures the same", th)
		assert.Equal(t, a.raw.samples, b.raw.samples, "%s: every request starts, ends and fails alike", th)
		assert.NotEqual(t, a.raw.samples, other.raw.samples, "%s: another seed, other arrivals", th)
	}
}

func TestAPanickingWorkloadFailsItsRequestsOnly(t *testing.T) {
	db := faults.NewHook("db", 1)
	th := scenarios.DBOutage(db, time.Second)
	tr := &trial{threat: th, genome: &genome.Genome{Module: "m"}, seed: 1, requests: 50, drain: time.Second,
		workload: func(ctx context.Context, p *genome.Policy) error {
			return p.Do(ctx, func(ctx context.Context) error {
				if err := db.Before(ctx); err != nil {
					panic(err)
				}
				return nil
			})
		}}
	res := inBubble(t, tr, 20*time.Second)
	require.True(t, res.finished)
	m := measure(th, res.raw, evolve.Weights{}, nil)
	assert.Less(t, m.SuccessRate, 1.0)
	assert.Greater(t, m.SuccessRate, 0.5)
	require.NotEmpty(t, m.Errors)
	assert.Contains(t, m.Errors[0], "workload panicked")
}

func TestValidateRefusesBadSpecsBeforeAnyTrial(t *testing.T) {
	db := faults.NewHook("db", 1)
	ok := Spec{Module: "m", Threats: []scenarios.Threat{scenarios.DBOutage(db, time.Second)}, Workload: through(store(db))}
	require.NoError(t, ok.Validate())
	proxy := faults.Proxy(t, "postgres", "127.0.0.1:5432")
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
		}, `Threats[1] "db-outage" step 0: target "postgres" is a network proxy (real TCP to 127.0.0.1:5432), which cannot run inside a testing/synctest bubble`},
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

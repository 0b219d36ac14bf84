package trial

import (
	"context"
	"errors"
	"math"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rafaelabs/rafael/faults"
	"github.com/rafaelabs/rafael/genome"
	"github.com/rafaelabs/rafael/internal/sim"
	"github.com/rafaelabs/rafael/scenarios"
	"github.com/rafaelabs/rafael/slo"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The in-process dependency, workload and genome of these tests.
var (
	store     = sim.Store
	through   = func(call func(context.Context) error) Workload { return sim.Through(call) }
	resilient = sim.Resilient
)

func TestRecoveryPeakAndErrors(t *testing.T) {
	th := scenarios.DBOutage(faults.NewHook("db", 1), 2*time.Second) // steady 1s, inject 2s, recover 2s: healed at 3s
	ms := time.Millisecond
	fail := errors.New("refused")
	ok := func(start, end time.Duration) sample { return sample{start: start, end: end, done: true} }
	bad := func(start, end time.Duration) sample { return sample{start: start, end: end, err: fail, done: true} }

	rec, d := recovery(th, []sample{ok(0, ms), bad(1500*ms, 1500*ms), ok(3100*ms, 3110*ms)})
	assert.True(t, rec)
	assert.Zero(t, d, "no failure once healed: recovered at once")

	rec, d = recovery(th, []sample{bad(3100*ms, 3100*ms), bad(3300*ms, 3300*ms), ok(3500*ms, 3520*ms), ok(4*time.Second, 4*time.Second)})
	assert.True(t, rec)
	assert.Equal(t, 520*ms, d, "the first success after the last failure ended at 3.52s")

	rec, d = recovery(th, []sample{ok(3100*ms, 3100*ms), bad(4900*ms, 4900*ms)})
	assert.False(t, rec, "the last request failed")
	assert.Equal(t, 2*time.Second, d)

	rec, _ = recovery(th, []sample{ok(3100*ms, 3100*ms), {start: 3200 * ms}})
	assert.False(t, rec, "a request that never returned is a failure")

	assert.Equal(t, 2, peakInFlight([]sample{ok(0, 10*ms), ok(5*ms, 20*ms), ok(10*ms, 30*ms), ok(30*ms, 40*ms)}),
		"a request ending as another starts does not overlap it")
	assert.Equal(t, 3, peakInFlight([]sample{{start: 0}, {start: ms}, ok(2*ms, 3*ms)}), "hung requests stay in flight")

	errs := topErrors([]sample{bad(0, 0), bad(0, 0), {start: 0}, sample{err: errors.New("x"), done: true}}, 2)
	assert.Equal(t, []string{"2× refused", "1× never returned, even after its context was cancelled"}, errs)

	m, succ, failed := measure(th, raw{samples: []sample{ok(0, 10*ms), bad(1500*ms, 1500*ms), ok(3100*ms, 3300*ms), {start: 4 * time.Second}}, attempts: 8, calls: 4, deadline: 6 * time.Second}, Config{})
	assert.Equal(t, 4, m.Requests)
	assert.Equal(t, 2, m.Succeeded)
	assert.Equal(t, 1, m.Hung)
	assert.InDelta(t, 2.0/4, m.SuccessRate, 1e-9)
	assert.Equal(t, 200*ms, m.Max, "the latency of the successes only")
	assert.Equal(t, 200*ms, m.P99, "percentiles never exceed the exact maximum")
	assert.InDelta(t, 10*ms, m.P50, float64(ms/100), "p50 to within HdrHistogram's three digits")
	assert.Equal(t, 2*time.Second, m.FailedMax, "a request that never returned fails at the drain deadline")
	assert.Equal(t, []time.Duration{10 * ms, 200 * ms}, succ)
	assert.Equal(t, []time.Duration{0, 2 * time.Second}, failed)
	assert.False(t, m.Recovered, "the hung request came after the heal")
	assert.Equal(t, 2.0, m.AttemptsPerRequest)
	assert.InDelta(t, 0.6*(2.0/4)+0.2*0+0.2*0.5, m.Fitness, 1e-9)
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
		cfg := Config{Workload: through(store(db)), Requests: 200, Drain: time.Second}
		a, b, other := InBubble(t, cfg, th, g, 7), InBubble(t, cfg, th, g, 7), InBubble(t, cfg, th, g, 8)
		require.True(t, a.Finished && b.Finished && other.Finished)
		assert.InDelta(t, a.Metrics.PeakGoroutines, b.Metrics.PeakGoroutines, 2, "a diagnostic of the whole process")
		a.Metrics.PeakGoroutines, b.Metrics.PeakGoroutines = 0, 0
		assert.Equal(t, a.Metrics, b.Metrics, "%s: the same seed measures the same", th)
		assert.Equal(t, a.Succeeded, b.Succeeded, "%s: every request takes as long", th)
		assert.Equal(t, a.Failed, b.Failed, "%s: every request fails alike", th)
		assert.NotEqual(t, a.Succeeded, other.Succeeded, "%s: another seed, other arrivals", th)
	}
}

func TestAPanickingWorkloadFailsItsRequestsOnly(t *testing.T) {
	db := faults.NewHook("db", 1)
	th := scenarios.DBOutage(db, time.Second)
	cfg := Config{Requests: 50, Drain: time.Second,
		Workload: func(ctx context.Context, p *genome.Policy) error {
			return p.Do(ctx, func(ctx context.Context) error {
				if err := db.Before(ctx); err != nil {
					panic(err)
				}
				return nil
			})
		}}
	res := InBubble(t, cfg, th, &genome.Genome{Module: "m"}, 1)
	require.True(t, res.Finished)
	m := res.Metrics
	assert.Less(t, m.SuccessRate, 1.0)
	assert.Greater(t, m.SuccessRate, 0.5)
	require.NotEmpty(t, m.Errors)
	assert.Contains(t, m.Errors[0], "workload panicked")
}

// A trial's timeline shows the outage where it was: every request of the
// steady and recover phases succeeds, none in the outage, and the buckets
// add up to the trial.
func TestTimelineShowsTheFaultWindow(t *testing.T) {
	db := faults.NewHook("db", 1)
	th := scenarios.DBOutage(db, 2*time.Second) // steady 1s, inject 2s, recover 2s
	res := InBubble(t, Config{Workload: through(store(db)), Requests: 200}, th, &genome.Genome{Module: "m"}, 3)
	require.True(t, res.Finished)
	tl := res.Timeline(10)
	require.Len(t, tl.Points, 10)
	assert.Equal(t, 500*time.Millisecond, tl.Bucket)
	assert.Equal(t, [3]time.Duration{time.Second, 2 * time.Second, 2 * time.Second}, [3]time.Duration{tl.Steady, tl.Inject, tl.Recover})
	n, ok := 0, 0
	for k, p := range tl.Points {
		n, ok = n+p.Requests, ok+p.Succeeded
		require.Positive(t, p.Requests, "bucket %d", k)
		switch at := time.Duration(k) * tl.Bucket; {
		case at < time.Second || at >= 3*time.Second:
			assert.Equal(t, p.Requests, p.Succeeded, "bucket %d (%v) is outside the outage", k, at)
			assert.Equal(t, 2*time.Millisecond, p.P99, "the store's service time")
		default:
			assert.Zero(t, p.Succeeded, "bucket %d (%v) is inside the outage", k, at)
			assert.Zero(t, p.P99)
		}
	}
	assert.Equal(t, res.Metrics.Requests, n)
	assert.Equal(t, res.Metrics.Succeeded, ok)
	assert.Empty(t, Result{}.Timeline(10).Points, "a trial that did not finish has no timeline")
}

// On the simulated tier memory pressure is modelled: the requests of the
// inject phase see it through faults.Pressure, the others do not, the
// process holds nothing, and the evidence says it was modelled.
func TestMemoryPressureIsModelledInABubble(t *testing.T) {
	th := scenarios.MemoryPressure(96<<20, scenarios.Steady(time.Second), scenarios.InjectFor(time.Second), scenarios.RecoverFor(time.Second))
	var seen, clear atomic.Int64
	work := func(ctx context.Context, _ *genome.Policy) error {
		if faults.Pressure(ctx) == 96<<20 {
			seen.Add(1)
		} else if faults.Pressure(ctx) == 0 {
			clear.Add(1)
		}
		return nil
	}
	res := InBubble(t, Config{Workload: work, Requests: 90}, th, &genome.Genome{Module: "m"}, 1)
	require.True(t, res.Finished)
	assert.InDelta(t, 30, seen.Load(), 1, "a third of the requests arrive in the inject phase")
	assert.Equal(t, int64(90), seen.Load()+clear.Load(), "the others see no pressure")
	require.Len(t, res.Injections, 1)
	assert.Contains(t, res.Injections[0].Fault, "modelled")
	assert.True(t, res.Injections[0].Applied)
	assert.Equal(t, time.Second, res.Injections[0].At)
	assert.Equal(t, time.Second, res.Injections[0].For)
	assert.Zero(t, faults.Pressure(context.Background()), "outside a trial there is none")
}

// A team's terms are measured from the trial's metrics, its counts among
// them; one that panics or is NaN counts 0 and the panic is an error of
// the trial, not a crash.
func TestTermsAreMeasuredAndAFaultyOneCountsZero(t *testing.T) {
	db := faults.NewHook("db", 1)
	work := func(ctx context.Context, _ *genome.Policy) error {
		Count(ctx, "hit", 1)
		return db.Before(ctx)
	}
	hits := func(m slo.Metrics) float64 { return m.Counts["hit"] / float64(m.Requests) }
	terms := []slo.Term{
		{Name: "hits", Weight: 1, Of: hits},
		{Name: "broken", Weight: 1, Of: func(slo.Metrics) float64 { panic("no such counter") }},
		{Name: "nan", Weight: 1, Of: func(slo.Metrics) float64 { return math.NaN() }},
	}
	res := InBubble(t, Config{Workload: work, Requests: 50, Terms: terms}, scenarios.DBOutage(db, time.Second), &genome.Genome{Module: "m"}, 1)
	require.True(t, res.Finished)
	m := res.Metrics
	assert.Equal(t, 50.0, m.Counts["hit"], "every regular request counted")
	assert.Equal(t, map[string]float64{"hits": 1, "broken": 0, "nan": 0}, m.Terms)
	assert.Contains(t, strings.Join(m.Errors, "\n"), `fitness term "broken" panicked: no such counter`)
	plain := InBubble(t, Config{Workload: work, Requests: 50}, scenarios.DBOutage(db, time.Second), &genome.Genome{Module: "m"}, 1)
	assert.Less(t, m.Fitness, plain.Metrics.Fitness, "two terms at 0 pull the fitness down")
}

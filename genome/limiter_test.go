package genome

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"
)

// queueing is a dependency that serves capacity calls at once in 10ms
// each; past that, calls queue and each takes 10ms × in flight / capacity.
type queueing struct {
	capacity atomic.Int64
	inflight atomic.Int64
}

func (q *queueing) call(ctx context.Context) error {
	n := q.inflight.Add(1)
	defer q.inflight.Add(-1)
	d := 10 * time.Millisecond
	if c := q.capacity.Load(); n > c {
		d = d * time.Duration(n) / time.Duration(c)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// load runs callers that call through p back to back for d, and returns
// how many calls succeeded.
func load(p *Policy, q *queueing, callers int, d time.Duration) int64 {
	var ok atomic.Int64
	var wg sync.WaitGroup
	end := time.Now().Add(d)
	for range callers {
		wg.Go(func() {
			for time.Now().Before(end) {
				if err := p.Do(context.Background(), q.call); err == nil {
					ok.Add(1)
				} else if errors.Is(err, ErrBulkheadFull) {
					time.Sleep(time.Millisecond) // shed: come back a little later
				}
			}
		})
	}
	wg.Wait()
	return ok.Load()
}

// Each adaptive limit falls when the dependency queues the calls it lets
// through, and rises again when the dependency's capacity comes back.
func TestAdaptiveLimitFollowsTheDependency(t *testing.T) {
	for _, alg := range []LimitAlgorithm{LimitAIMD, LimitVegas, LimitGradient2} {
		t.Run(alg.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				p := mustCompile(t, &Genome{Module: "m", Bulkhead: &Bulkhead{MaxConcurrent: 64, Limit: alg, MinConcurrent: 1, Tolerance: 2}})
				assert.Equal(t, 64, p.ConcurrencyLimit(), "it starts at its ceiling")
				q := &queueing{}
				q.capacity.Store(48)
				load(p, q, 32, 2*time.Second)
				steady := p.ConcurrencyLimit()
				assert.GreaterOrEqual(t, steady, 32, "while every caller is served at once it stays up")

				q.capacity.Store(4) // the dependency loses most of its capacity
				load(p, q, 32, 3*time.Second)
				overloaded := p.ConcurrencyLimit()
				assert.LessOrEqual(t, overloaded, 16, "32 callers against a capacity of 4: the limit comes down towards it")

				q.capacity.Store(48) // and gets it back
				load(p, q, 32, 3*time.Second)
				recovered := p.ConcurrencyLimit()
				assert.GreaterOrEqual(t, recovered, 32, "the limit rises with the capacity")
				t.Logf("%s: limit %d steady, %d under overload, %d after", alg, steady, overloaded, recovered)
			})
		})
	}
}

// A static bulkhead never moves, whatever the calls see.
func TestStaticLimitStays(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := mustCompile(t, &Genome{Module: "m", Bulkhead: &Bulkhead{MaxConcurrent: 16}})
		q := &queueing{}
		q.capacity.Store(2)
		load(p, q, 32, time.Second)
		assert.Equal(t, 16, p.ConcurrencyLimit())
	})
}

// Whatever the latencies, failures and load, an adaptive limit stays a
// whole number within its floor and its ceiling.
func TestPropAdaptiveLimitBounds(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		b := &Bulkhead{
			MaxConcurrent: rapid.IntRange(1, 200).Draw(t, "max"),
			Limit:         LimitAlgorithm(rapid.IntRange(1, 3).Draw(t, "alg")),
			Tolerance:     rapid.Float64Range(1.1, 10).Draw(t, "tolerance"),
		}
		b.MinConcurrent = rapid.IntRange(1, b.MaxConcurrent).Draw(t, "min")
		l := newLimiter(b)
		now := int64(0)
		for i, n := 0, rapid.IntRange(1, 500).Draw(t, "calls"); i < n; i++ {
			rtt := rapid.Int64Range(0, int64(10*time.Second)).Draw(t, "rtt")
			now += rapid.Int64Range(0, int64(20*time.Second)).Draw(t, "gap")
			if !l.claim(now) {
				continue
			}
			got := l.update(now+rtt, rtt, rapid.Bool().Draw(t, "failed"), rapid.Int64Range(0, 400).Draw(t, "inflight"))
			if got < int64(b.MinConcurrent) || got > int64(b.MaxConcurrent) {
				t.Fatalf("limit %d outside %d–%d", got, b.MinConcurrent, b.MaxConcurrent)
			}
		}
	})
}

func TestAdaptiveLimitIsCoherentAndValidated(t *testing.T) {
	g := &Genome{Module: "m", Bulkhead: &Bulkhead{MaxConcurrent: 8, Limit: LimitVegas}}
	err := g.Validate()
	require.ErrorIs(t, err, ErrInvalid)
	assert.Contains(t, err.Error(), "bulkhead.minConcurrent: is missing")
	assert.Contains(t, err.Error(), "bulkhead.tolerance: is missing")
	g.Normalize()
	require.NoError(t, g.Validate())
	assert.Equal(t, 1, g.Bulkhead.MinConcurrent)
	assert.Equal(t, float64(defaultTolerance), g.Bulkhead.Tolerance)
	assert.Empty(t, g.Incoherent())

	g.Bulkhead.MinConcurrent = 20
	assert.Contains(t, g.Incoherent(), "bulkhead.minConcurrent is above bulkhead.maxConcurrent")
	g.Normalize()
	assert.Equal(t, 8, g.Bulkhead.MinConcurrent)

	g.Bulkhead.Limit = LimitStatic
	g.Normalize()
	assert.Zero(t, g.Bulkhead.MinConcurrent)
	b, err := g.MarshalJSON()
	require.NoError(t, err)
	assert.Contains(t, string(b), `"bulkhead":{"maxConcurrent":8,"maxWait":"0s"}`, "a static bulkhead is written as before adaptive limits existed")
}

func TestAdaptiveLimitSuccessPathAllocatesNothing(t *testing.T) {
	for _, alg := range []LimitAlgorithm{LimitAIMD, LimitVegas, LimitGradient2} {
		p := mustCompile(t, &Genome{Module: "m", Bulkhead: &Bulkhead{MaxConcurrent: 64, Limit: alg, MinConcurrent: 1, Tolerance: 2},
			Retry: &Retry{MaxAttempts: 3, BaseDelay: time.Millisecond, MaxDelay: time.Second, Multiplier: 2, Budget: 0.2}})
		ctx := context.Background()
		fn := func(context.Context) error { return nil }
		assert.Zero(t, testing.AllocsPerRun(1000, func() { _ = p.Do(ctx, fn) }), alg.String())
	}
}

// A sampled call that panics counts as a failure and frees its slot and the
// sample: the limit goes on adapting.
func TestAdaptiveLimitSurvivesAPanickingCall(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := mustCompile(t, &Genome{Module: "m", Bulkhead: &Bulkhead{MaxConcurrent: 10, Limit: LimitAIMD, MinConcurrent: 1, Tolerance: 2}})
		assert.Panics(t, func() { _ = p.Do(t.Context(), func(context.Context) error { panic("boom") }) })
		assert.Equal(t, 9, p.ConcurrencyLimit(), "the panic was sampled as a failure: 10 × 0.9")
		assert.Zero(t, p.bh.inflight.Load(), "its slot is free")
		time.Sleep(2 * time.Millisecond)
		require.Error(t, p.Do(t.Context(), func(context.Context) error { return errDown }))
		assert.Equal(t, 8, p.ConcurrencyLimit(), "the next call is sampled again")
	})
}

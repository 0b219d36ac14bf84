package genome

import (
	"context"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"pgregory.net/rapid"
)

// slowEvery is a call that takes fast, and slow on every tenth call.
func slowEvery(n *atomic.Int64, fast, slow time.Duration) func(context.Context) error {
	return func(ctx context.Context) error {
		d := fast
		if n.Add(1)%10 == 0 {
			d = slow
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
}

// A hedge at the 80th percentile learns where that is from the calls and
// follows the dependency when it gets slower; the slow tenth of the calls
// is hedged, the rest is not.
func TestHedgeAtAQuantileFollowsTheLatency(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := mustCompile(t, &Genome{Module: "m", Hedge: &Hedge{Delay: 200 * time.Millisecond, MaxHedges: 1, Quantile: 0.8}})
		var n atomic.Int64
		call := slowEvery(&n, 10*time.Millisecond, 500*time.Millisecond)
		for range 300 {
			_ = p.Do(t.Context(), call)
		}
		fast := p.hq.delay()
		assert.InDelta(t, 10*time.Millisecond, fast, float64(3*time.Millisecond), "from 200ms down to the 80th percentile: the fast calls' 10ms")

		start := time.Now()
		n.Store(1) // the next call, the 10th, is slow
		for range 10 {
			_ = p.Do(t.Context(), call)
		}
		assert.Less(t, time.Since(start), 10*fast+200*time.Millisecond, "the slow call was hedged: it took about the delay plus a fast call, not 500ms")

		slower := slowEvery(&n, 100*time.Millisecond, 500*time.Millisecond)
		for range 300 {
			_ = p.Do(t.Context(), slower)
		}
		assert.Greater(t, p.hq.delay(), 90*time.Millisecond, "the dependency got slower: so does the hedge, instead of doubling every call")
		t.Logf("hedge delay %v on 10ms calls, %v on 100ms ones", fast, p.hq.delay())
	})
}

// Whatever the latencies it sees, the estimate stays within Hedge.Delay's
// bounds, and only moves towards the observation.
func TestPropHedgeQuantileBounds(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		h := &Hedge{Delay: time.Duration(rapid.Int64Range(minHedgeDelay, maxHedgeDelay).Draw(t, "delay")), MaxHedges: 1,
			Quantile: rapid.Float64Range(0.5, 0.999).Draw(t, "q")}
		e := newQuantile(h)
		for i, n := 0, rapid.IntRange(1, 300).Draw(t, "n"); i < n; i++ {
			before := e.delay()
			x := time.Duration(rapid.Int64Range(0, int64(2*time.Minute)).Draw(t, "x"))
			e.observe(x)
			got := e.delay()
			if got < time.Millisecond || got > time.Minute {
				t.Fatalf("estimate %v outside 1ms–1m", got)
			}
			if x > before && got < before || x <= before && got > before {
				t.Fatalf("estimate moved away from %v: %v → %v", x, before, got)
			}
		}
	})
}

func TestHedgeQuantileIsAdaptiveAndOmittedWhenStatic(t *testing.T) {
	sw, ok := AdaptiveSwitch(GeneHedge)
	assert.True(t, ok)
	assert.Equal(t, "hedge.quantile", sw.Path())
	g := &Genome{Module: "m", Hedge: &Hedge{Delay: 50 * time.Millisecond, MaxHedges: 1}}
	b, _ := g.MarshalJSON()
	assert.Contains(t, string(b), `"hedge":{"delay":"50ms","maxHedges":1}`)
}

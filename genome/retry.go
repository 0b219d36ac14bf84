package genome

import (
	"math"
	"sync/atomic"
	"time"
)

type retrier struct {
	maxAttempts int
	base, max   float64 // nanoseconds
	mult        float64
	jitter      float64
	seed        uint64
	n           atomic.Uint64 // draws so far

	// The retry budget, in thousandths of a retry: per is what each call
	// puts in (0: no budget), tokens what the bucket holds.
	per    int64
	tokens atomic.Int64
}

// budgetFull is a full retry budget, in thousandths of a retry.
const budgetFull = RetryBudgetBurst * 1000

func newRetrier(r *Retry, seed uint64) *retrier {
	rt := &retrier{
		maxAttempts: r.MaxAttempts,
		base:        float64(r.BaseDelay),
		max:         float64(r.MaxDelay),
		mult:        r.Multiplier,
		jitter:      r.Jitter,
		seed:        seed,
		per:         int64(math.Round(r.Budget * 1000)),
	}
	rt.tokens.Store(budgetFull)
	return rt
}

// deposit puts a call's share of retries into the budget, up to full.
func (r *retrier) deposit() {
	if r.per == 0 {
		return
	}
	for {
		v := r.tokens.Load()
		if v >= budgetFull || r.tokens.CompareAndSwap(v, min(budgetFull, v+r.per)) {
			return
		}
	}
}

// withdraw takes one retry from the budget, and reports false when it
// holds less than one; with no budget every retry may go.
func (r *retrier) withdraw() bool {
	if r.per == 0 {
		return true
	}
	for {
		v := r.tokens.Load()
		if v < 1000 {
			return false
		}
		if r.tokens.CompareAndSwap(v, v-1000) {
			return true
		}
	}
}

// delay returns the backoff before retry n (n = 1 for the first retry):
// min(max, base·mult^(n-1)) less a seeded random fraction up to jitter.
func (r *retrier) delay(n int) time.Duration {
	d := math.Min(r.base*math.Pow(r.mult, float64(n-1)), r.max)
	if r.jitter > 0 {
		u := float64(splitmix64(r.seed+r.n.Add(1)*0x9e3779b97f4a7c15)>>11) / (1 << 53)
		d -= d * r.jitter * u
	}
	return time.Duration(d)
}

// splitmix64 is the SplitMix64 finaliser: a bijective mix good enough to
// turn a counter into uniform draws.
func splitmix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

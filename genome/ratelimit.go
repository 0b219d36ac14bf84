package genome

import (
	"math"
	"sync/atomic"
)

// rateLimiter is a lock-free token bucket in its GCRA form: tat is the
// theoretical arrival time of the next call, in the policy's clock.
type rateLimiter struct {
	interval  int64 // nanoseconds per token
	tolerance int64 // how far ahead of now tat may run: interval·(burst-1)
	tat       atomic.Int64
}

func newRateLimiter(rate float64, burst int) *rateLimiter {
	iv := int64(math.Max(1, math.Round(1e9/rate)))
	return &rateLimiter{interval: iv, tolerance: iv * int64(burst-1)}
}

// allow takes a token at time now, or reports false when there is none.
func (r *rateLimiter) allow(now int64) bool {
	for {
		tat := r.tat.Load()
		t := max(tat, now)
		if t-now > r.tolerance {
			return false
		}
		if r.tat.CompareAndSwap(tat, t+r.interval) {
			return true
		}
	}
}

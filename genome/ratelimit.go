package genome

import (
	"math"
	"sync/atomic"
	"time"
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

// allow takes a token now, on the clock that starts at epoch, or reports
// false when there is none. It reads the clock after tat: any tat it sees
// was set from a reading no later than its own, so a goroutine delayed
// between the two (preempted, under the race detector) is never refused
// for a stale clock, which a tolerance of a few nanoseconds would do.
func (r *rateLimiter) allow(epoch time.Time) bool {
	for {
		tat := r.tat.Load()
		now := int64(time.Since(epoch))
		t := max(tat, now)
		if t-now > r.tolerance {
			return false
		}
		if r.tat.CompareAndSwap(tat, t+r.interval) {
			return true
		}
	}
}

package genome

import (
	"math"
	"sync"
	"sync/atomic"
	"time"
)

// LimitAlgorithm chooses how a [Bulkhead] sets its limit on the calls in
// flight: fixed, or adapted to the latency and failures the calls see.
type LimitAlgorithm uint8

// The limit algorithms. The adaptive ones are those of Netflix's
// concurrency-limits (and Envoy's adaptive concurrency filter): each
// lowers the limit when calls slow down or fail — the dependency is
// queueing them — and raises it while they do not and the limit is in
// use.
const (
	// LimitStatic keeps the limit at MaxConcurrent.
	LimitStatic LimitAlgorithm = iota
	// LimitAIMD adds one to the limit after a call that was neither slow
	// nor failed while at least half the limit was in use, and multiplies
	// it by 0.9 after one that failed or took longer than Tolerance times
	// the lowest latency seen: TCP Reno's additive increase, multiplicative
	// decrease.
	LimitAIMD
	// LimitVegas estimates the dependency's queue from each call's latency
	// against the lowest seen — limit × (1 − lowest/latency) — and moves
	// the limit by 1 + log10(limit): up while the queue is under half of
	// limit × (1 − 1/Tolerance), down when it is over that or a call
	// failed (TCP Vegas).
	LimitVegas
	// LimitGradient2 multiplies the limit by the gradient between a
	// long-term average latency and the call's, Tolerance × long / latency
	// within 0.5–1, and adds √limit of headroom; the change is smoothed,
	// and a failed call counts as a gradient of 0.5 (Netflix's Gradient2).
	// The long-term average learns a rise in latency over minutes and a
	// fall over seconds, so a sustained overload keeps the limit down.
	LimitGradient2
)

var limitNames = []string{"static", "aimd", "vegas", "gradient2"}

// String returns "static", "aimd", "vegas" or "gradient2".
func (a LimitAlgorithm) String() string { return choiceName(limitNames, uint8(a)) }

// limiter is a bulkhead's adaptive limit. It samples at most one call a
// round trip (a millisecond at least): the first call to start after the
// gate claims the sample ([limiter.claim]); every other call reads the
// clock once and an atomic, and takes no lock. Times are nanoseconds of
// the policy's monotonic clock.
type limiter struct {
	alg      LimitAlgorithm
	min, max float64
	tol      float64

	gate atomic.Int64 // the first call to start at or after it is sampled; MaxInt64 while one is

	mu    sync.Mutex
	seen  int64 // when the last sampled call ended; 0: none yet
	limit float64
	base  float64 // the lowest latency sampled, in ns, drifting up slowly so that a lasting change is learnt
	long  float64 // Gradient2's long-term average latency, in ns
}

func newLimiter(b *Bulkhead) *limiter {
	return &limiter{alg: b.Limit, min: float64(b.MinConcurrent), max: float64(b.MaxConcurrent), tol: b.Tolerance, limit: float64(b.MaxConcurrent)}
}

// claim reports whether a call starting at now is the one sampled; it
// must then end with update.
func (l *limiter) claim(now int64) bool {
	g := l.gate.Load()
	return now >= g && l.gate.CompareAndSwap(g, math.MaxInt64)
}

// Smoothing of the limiter's averages, by time so that the call rate does
// not change it: the lowest latency seen, and Gradient2's long-term
// average, rise towards a slower latency with a time constant of
// slowRise — an overload of seconds is not learnt as the dependency's
// normal, a lasting change in a few minutes; the long-term average falls
// with one of longFall; Gradient2's limit moves by gradientSmoothing of
// its change.
const (
	slowRise          = float64(time.Minute)
	longFall          = float64(2 * time.Second)
	gradientSmoothing = 0.2
	aimdBackoff       = 0.9
	// minSampleGap is the least time between two sampled calls, for
	// calls faster than it: a thousand samples a second are plenty.
	minSampleGap = time.Millisecond
)

// update takes the outcome of the sampled call, which ended at now — its
// latency, whether it failed, and the calls in flight as it ended (itself
// included) — and returns the new limit, a whole number within min–max.
//
// The limit moves at most once a round trip (the latency of the call it
// samples), as TCP's window does: the calls admitted under the old limit
// end within it, and reacting to each of them would overshoot — a limit
// that collapses to its floor, then oscillates.
func (l *limiter) update(now, rtt int64, failed bool, inflight int64) int64 {
	r := max(1, float64(rtt))
	l.mu.Lock()
	defer l.mu.Unlock()
	dt := 1.0
	if l.seen != 0 {
		dt = max(0, float64(now-l.seen))
	}
	l.seen = now
	switch {
	case l.base == 0 || r < l.base:
		l.base = r
	default:
		l.base += (r - l.base) * min(1, dt/slowRise)
	}
	if l.alg == LimitGradient2 {
		switch {
		case l.long == 0:
			l.long = r
		case r > l.long: // learn a rise slowly: an overload is not the new normal
			l.long += (r - l.long) * min(1, dt/slowRise)
		default:
			l.long += (r - l.long) * min(1, dt/longFall)
		}
	}
	defer l.gate.Store(now + max(rtt, int64(minSampleGap)))
	used := float64(inflight)*2 >= l.limit // the limit is in use: raising it means something
	switch l.alg {
	case LimitAIMD:
		switch {
		case failed || r > l.tol*l.base:
			l.limit *= aimdBackoff
		case used:
			l.limit++
		}
	case LimitVegas:
		step := 1 + math.Log10(l.limit)
		queue := l.limit * (1 - l.base/r)
		allowed := l.limit * (1 - 1/l.tol)
		switch {
		case failed || queue > allowed:
			l.limit -= step
		case used && queue < allowed/2:
			l.limit += step
		}
	case LimitGradient2:
		gradient := 0.5
		if !failed {
			gradient = max(0.5, min(1, l.tol*l.long/r))
		}
		next := l.limit*gradient + math.Sqrt(l.limit)
		if gradient == 1 && !used {
			next = l.limit // not in use: no evidence it can grow
		}
		l.limit += gradientSmoothing * (next - l.limit)
	}
	l.limit = min(l.max, max(l.min, l.limit))
	return int64(l.limit)
}

package bench

import (
	"context"
	"errors"
	"sync/atomic"
	"time"
)

// handwritten is the floor of the retry+breaker+ratelimit+bulkhead
// composition: what a careful engineer writes by hand for one call site —
// a GCRA rate limiter, a bulkhead, a consecutive-failures breaker and a
// retry loop on atomics, with no configuration, no events and no
// generality. Its success path reads the monotonic clock once (the rate
// limiter) and touches four atomics.
type handwritten struct {
	epoch    time.Time
	interval int64 // ns between calls at the rate
	burst    int64 // ns of burst tolerance
	tat      atomic.Int64

	inflight atomic.Int64

	failures  atomic.Int64
	openUntil atomic.Int64 // ns since epoch; 0: closed
}

var (
	errRateLimited = errors.New("handwritten: rate limited")
	errFull        = errors.New("handwritten: bulkhead full")
	errOpen        = errors.New("handwritten: breaker open")
)

func newHandwritten(rate float64, burst int) *handwritten {
	iv := int64(float64(time.Second) / rate)
	return &handwritten{epoch: time.Now(), interval: max(iv, 1), burst: int64(burst) * max(iv, 1)}
}

// do runs fn through the composition.
func (h *handwritten) do(ctx context.Context, fn func(context.Context) error) error {
	now := int64(time.Since(h.epoch))
	for { // GCRA
		tat := h.tat.Load()
		next := max(tat, now) + h.interval
		if next-now > h.burst {
			return errRateLimited
		}
		if h.tat.CompareAndSwap(tat, next) {
			break
		}
	}
	if h.inflight.Add(1) > maxConcurrent {
		h.inflight.Add(-1)
		return errFull
	}
	defer h.inflight.Add(-1)
	var err error
	delay := baseDelay
	for attempt := range maxAttempts {
		if attempt > 0 {
			select {
			case <-time.After(delay):
			case <-ctx.Done():
				return ctx.Err()
			}
			delay = min(delay*multiplier, maxDelay)
			now = int64(time.Since(h.epoch))
		}
		if until := h.openUntil.Load(); until != 0 && now < until {
			return errOpen
		}
		if err = fn(ctx); err == nil {
			if h.failures.Load() != 0 {
				h.failures.Store(0)
				h.openUntil.Store(0)
			}
			return nil
		}
		if h.failures.Add(1) >= breakerThreshold {
			h.openUntil.Store(now + int64(openDuration))
		}
	}
	return err
}

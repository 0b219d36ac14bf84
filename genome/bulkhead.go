package genome

import (
	"context"
	"sync/atomic"
	"time"
)

// bulkhead bounds the calls in flight with an atomic counter; a caller that
// may wait parks on a channel that releases signal while anyone waits.
// With an adaptive limit (lim) the bound moves with what the calls see.
type bulkhead struct {
	limit    atomic.Int64 // the calls in flight allowed now
	maxWait  time.Duration
	inflight atomic.Int64
	waiters  atomic.Int64
	wake     chan struct{}
	lim      *limiter // nil: a static limit
}

func newBulkhead(g *Bulkhead) *bulkhead {
	b := &bulkhead{maxWait: g.MaxWait, wake: make(chan struct{}, g.MaxConcurrent)}
	b.limit.Store(int64(g.MaxConcurrent))
	if g.Limit != LimitStatic {
		b.lim = newLimiter(g)
	}
	return b
}

// adaptive reports whether b's limit adapts: its calls must end with done.
func (b *bulkhead) adaptive() bool { return b.lim != nil }

// sample ends the sampled call, admitted at start (p.now()), which failed
// or not: the adaptive limit learns from it, then its slot is released.
func (b *bulkhead) sample(p *Policy, start int64, failed bool) {
	now := p.now()
	b.limit.Store(b.lim.update(now, now-start, failed, b.inflight.Load()))
	b.release()
}

func (b *bulkhead) tryAcquire() bool {
	for {
		n := b.inflight.Load()
		if n >= b.limit.Load() {
			return false
		}
		if b.inflight.CompareAndSwap(n, n+1) {
			return true
		}
	}
}

func (b *bulkhead) acquire(ctx context.Context) error {
	if b.tryAcquire() {
		return nil
	}
	if b.maxWait <= 0 {
		return errBulkheadFull
	}
	return b.wait(ctx)
}

func (b *bulkhead) wait(ctx context.Context) error {
	// Count ourselves as a waiter before looking again: a release that
	// happens after that look sees us and leaves a wake-up token.
	b.waiters.Add(1)
	defer b.waiters.Add(-1)
	t := time.NewTimer(b.maxWait)
	defer t.Stop()
	for {
		if b.tryAcquire() {
			return nil
		}
		select {
		case <-b.wake:
		case <-t.C:
			if b.tryAcquire() {
				return nil
			}
			return errBulkheadFull
		case <-ctx.Done():
			return &Error{Gene: GeneBulkhead, Reason: ctx.Err()}
		}
	}
}

func (b *bulkhead) release() {
	b.inflight.Add(-1)
	if b.waiters.Load() > 0 {
		select {
		case b.wake <- struct{}{}:
		default:
		}
	}
}

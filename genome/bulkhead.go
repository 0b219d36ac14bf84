package genome

import (
	"context"
	"sync/atomic"
	"time"
)

// bulkhead bounds the calls in flight with an atomic counter; a caller that
// may wait parks on a channel that releases signal while anyone waits.
type bulkhead struct {
	max      int64
	maxWait  time.Duration
	inflight atomic.Int64
	waiters  atomic.Int64
	wake     chan struct{}
}

func newBulkhead(maxConcurrent int, maxWait time.Duration) *bulkhead {
	return &bulkhead{max: int64(maxConcurrent), maxWait: maxWait, wake: make(chan struct{}, maxConcurrent)}
}

func (b *bulkhead) tryAcquire() bool {
	for {
		n := b.inflight.Load()
		if n >= b.max {
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

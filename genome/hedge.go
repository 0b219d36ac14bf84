package genome

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// quantile is a running estimate of a quantile of the first attempts'
// latency (a stochastic approximation: each observation moves it up by
// q·step when above it, down by (1−q)·step when not, so it settles where a
// fraction q of observations fall below; the step is 1/8 of the estimate,
// so it moves in proportion). An attempt a hedge beat was still running
// when the hedge started, so it counts as above the estimate then, which
// is all the estimate needs to know. Lock-free: a lost update under
// contention is one observation fewer.
type quantile struct {
	q   float64
	est atomic.Int64 // ns
}

// Bounds of a hedge's adaptive delay: those of Hedge.Delay.
const (
	minHedgeDelay = int64(time.Millisecond)
	maxHedgeDelay = int64(time.Minute)
)

func newQuantile(h *Hedge) *quantile {
	e := &quantile{q: h.Quantile}
	e.est.Store(int64(h.Delay))
	return e
}

// delay is the current estimate.
func (e *quantile) delay() time.Duration { return time.Duration(e.est.Load()) }

// observe takes a first attempt's latency, or a lower bound of it.
func (e *quantile) observe(x time.Duration) {
	est := e.est.Load()
	step := float64(est) / 8
	next := est
	if int64(x) > est {
		next += int64(step * e.q)
	} else {
		next -= int64(step * (1 - e.q))
	}
	e.est.CompareAndSwap(est, min(maxHedgeDelay, max(minHedgeDelay, next)))
}

type hedgeResult[T any] struct {
	v   T
	err error
}

// hedged runs the call on the caller's goroutine and, each time the hedge
// delay passes without an answer, starts one more attempt (up to MaxHedges)
// on a goroutine of its own. The first success wins and cancels the rest;
// hedged returns only after every attempt it started has returned.
func hedged[T any, C caller[T]](ctx context.Context, p *Policy, c C) (T, error) {
	hctx, cancel := context.WithCancel(ctx)
	defer cancel()
	delay := p.hd.Delay
	var start time.Time
	if p.hq != nil {
		delay, start = p.hq.delay(), time.Now()
	}
	var (
		mu      sync.Mutex
		stopped bool
		started int
		timer   *time.Timer
		wg      sync.WaitGroup
		results = make(chan hedgeResult[T], p.hd.MaxHedges)
	)
	var launch func()
	launch = func() { // runs on the timer's goroutine: it is the hedge
		mu.Lock()
		if stopped {
			mu.Unlock()
			return
		}
		started++
		n := started
		wg.Add(1)
		if started < p.hd.MaxHedges {
			timer = time.AfterFunc(delay, launch)
		}
		mu.Unlock()
		defer wg.Done()
		p.emit(Event{Kind: EventHedge, Gene: GeneHedge, Attempt: n + 1})
		v, err := c.call(hctx)
		if err == nil {
			cancel()
		}
		results <- hedgeResult[T]{v, err}
	}
	mu.Lock()
	timer = time.AfterFunc(delay, launch)
	mu.Unlock()

	v, err := c.call(hctx)
	if p.hq != nil {
		p.hq.observe(time.Since(start))
	}

	mu.Lock()
	stopped = true
	timer.Stop()
	n := started
	mu.Unlock()
	if err == nil {
		cancel()
		wg.Wait()
		return v, nil
	}
	won := false
	for range n {
		r := <-results
		if r.err == nil && !won {
			won = true
			v = r.v
			cancel()
		}
	}
	wg.Wait()
	if won {
		return v, nil
	}
	return v, err
}

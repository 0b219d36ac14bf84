package genome

import (
	"context"
	"sync"
	"time"
)

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
			timer = time.AfterFunc(p.hd.Delay, launch)
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
	timer = time.AfterFunc(p.hd.Delay, launch)
	mu.Unlock()

	v, err := c.call(hctx)

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

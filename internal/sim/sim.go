// Package sim holds the in-process stand-ins that RAFAEL's tests, examples
// and vault verification run workloads against: a dependency with a service
// time and a capacity, behind a fault hook. They wait only on timers and
// contexts, so they run inside testing/synctest bubbles in virtual time.
package sim

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rafaelabs/rafael/faults"
	"github.com/rafaelabs/rafael/genome"
)

// ErrOverloaded is what a full Dependency answers.
var ErrOverloaded = errors.New("sim: dependency overloaded")

// Work takes d, or returns ctx's error if ctx ends first.
func Work(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Dependency is a service with a capacity: at most Slots calls are served
// at once (0 means no limit), each taking Serve; a call beyond that is
// refused at once with ErrOverloaded, as an overloaded server would. Each
// call goes through Hook first, when there is one. The capacity is kept
// per trial (per faults.Scope of the call's context), as a fake's state
// must be for trials that run at the same time to keep apart.
type Dependency struct {
	Hook  *faults.Hook
	Slots int64
	Serve time.Duration

	mu     sync.Mutex
	inside map[*faults.Scope]*atomic.Int64 // calls being served, per trial
}

// busy returns the counter of calls being served in the trial of ctx.
func (d *Dependency) busy(ctx context.Context) *atomic.Int64 {
	s := faults.ScopeOf(ctx)
	d.mu.Lock()
	defer d.mu.Unlock()
	if n := d.inside[s]; n != nil {
		return n
	}
	n := new(atomic.Int64)
	if s == nil || s.OnEnd(func() { d.mu.Lock(); delete(d.inside, s); d.mu.Unlock() }) {
		if d.inside == nil {
			d.inside = map[*faults.Scope]*atomic.Int64{}
		}
		d.inside[s] = n
	}
	return n
}

// Call is one call of the dependency.
func (d *Dependency) Call(ctx context.Context) error {
	if d.Hook != nil {
		if err := d.Hook.Before(ctx); err != nil {
			return err
		}
	}
	inside := d.busy(ctx)
	if n := inside.Add(1); d.Slots > 0 && n > d.Slots {
		inside.Add(-1)
		return ErrOverloaded
	}
	defer inside.Add(-1)
	return Work(ctx, d.Serve)
}

// Store is an in-process dependency behind h: a call that takes 2ms.
func Store(h *faults.Hook) func(context.Context) error {
	return faults.FuncErr(h, func(ctx context.Context) error { return Work(ctx, 2*time.Millisecond) })
}

// Through is a workload that makes call through the policy.
func Through(call func(context.Context) error) func(context.Context, *genome.Policy) error {
	return func(ctx context.Context, p *genome.Policy) error { return p.Do(ctx, call) }
}

// Resilient is a genome that retries through a 2s outage and cuts a 500ms
// latency short (a 100ms per-attempt timeout).
func Resilient() *genome.Genome {
	return &genome.Genome{
		Timeout: &genome.Timeout{PerAttempt: 100 * time.Millisecond, Overall: 4 * time.Second},
		Retry:   &genome.Retry{MaxAttempts: 12, BaseDelay: 50 * time.Millisecond, MaxDelay: 500 * time.Millisecond, Multiplier: 2, Jitter: 0.2},
	}
}

package genome

import (
	"sync"
	"sync/atomic"
)

// breaker is a circuit breaker whose closed state costs two atomic loads on
// the success path; transitions take a mutex.
type breaker struct {
	rateMode    bool
	threshold   int32
	failureRate float64
	window      int64
	openFor     int64 // nanoseconds
	probes      int32

	state  atomic.Int32 // a BreakerState
	consec atomic.Int32 // consecutive failures (consecutive mode)

	slots  []atomic.Bool // the last window outcomes, true for a failure (rate mode)
	pos    atomic.Uint64 // next slot
	fails  atomic.Int64  // failures among the slots
	filled atomic.Int64  // slots written since the window was cleared

	mu        sync.Mutex
	openUntil int64  // policy clock
	epoch     uint32 // half-open periods so far; a probe carries its period's number
	admitted  int32  // probes admitted in this half-open period
	succeeded int32  // probes that succeeded in it
}

func newBreaker(c *CircuitBreaker) *breaker {
	b := &breaker{
		rateMode:    c.Mode == BreakerRate,
		threshold:   int32(c.Threshold),
		failureRate: c.FailureRate,
		window:      int64(c.Window),
		openFor:     int64(c.OpenDuration),
		probes:      int32(c.HalfOpenProbes),
	}
	if b.rateMode {
		b.slots = make([]atomic.Bool, c.Window)
	}
	return b
}

// allow reports whether a call may pass, and when it passes as a half-open
// probe, the probe's period number (else 0).
func (b *breaker) allow(p *Policy) (ok bool, probe uint32) {
	if BreakerState(b.state.Load()) == Closed {
		return true, 0
	}
	now := p.now()
	b.mu.Lock()
	transition := false
	switch BreakerState(b.state.Load()) {
	case Closed:
		b.mu.Unlock()
		return true, 0
	case Open:
		if now < b.openUntil {
			b.mu.Unlock()
			return false, 0
		}
		b.state.Store(int32(HalfOpen))
		b.epoch++
		b.admitted, b.succeeded = 0, 0
		transition = true
	}
	if b.admitted < b.probes {
		b.admitted++
		ok, probe = true, b.epoch
	}
	b.mu.Unlock()
	if transition {
		p.emit(Event{Kind: EventBreaker, Gene: GeneCircuitBreaker, From: Open, To: HalfOpen})
	}
	return ok, probe
}

// done accounts for the outcome of a non-probe call; a success in a closed
// consecutive-mode breaker with no failures pending costs two loads.
func (b *breaker) done(p *Policy, err error) {
	if err == nil && !b.rateMode && b.consec.Load() == 0 {
		return
	}
	b.record(p, 0, err != nil && breakerFailure(err))
}

// record accounts for the outcome of a call that allow let through.
func (b *breaker) record(p *Policy, probe uint32, failed bool) {
	if probe != 0 {
		b.recordProbe(p, probe, failed)
		return
	}
	if BreakerState(b.state.Load()) != Closed {
		return // admitted while closed, finished after the breaker opened
	}
	if !b.rateMode {
		if failed {
			if b.consec.Add(1) >= b.threshold {
				b.trip(p, Closed)
			}
		} else if b.consec.Load() != 0 {
			b.consec.Store(0)
		}
		return
	}
	i := (b.pos.Add(1) - 1) % uint64(b.window)
	if old := b.slots[i].Swap(failed); old != failed {
		if failed {
			b.fails.Add(1)
		} else {
			b.fails.Add(-1)
		}
	}
	n := b.filled.Load()
	if n < b.window {
		n = b.filled.Add(1)
	}
	if failed && n >= b.window && float64(b.fails.Load()) >= b.failureRate*float64(b.window) {
		b.trip(p, Closed)
	}
}

func (b *breaker) recordProbe(p *Policy, probe uint32, failed bool) {
	b.mu.Lock()
	if BreakerState(b.state.Load()) != HalfOpen || probe != b.epoch {
		b.mu.Unlock()
		return
	}
	to := HalfOpen
	if failed {
		b.open(p)
		to = Open
	} else if b.succeeded++; b.succeeded >= b.probes {
		b.reset()
		b.state.Store(int32(Closed))
		to = Closed
	}
	b.mu.Unlock()
	if to != HalfOpen {
		p.emit(Event{Kind: EventBreaker, Gene: GeneCircuitBreaker, From: HalfOpen, To: to})
	}
}

// trip opens the breaker if it is still in state from.
func (b *breaker) trip(p *Policy, from BreakerState) {
	b.mu.Lock()
	if BreakerState(b.state.Load()) != from {
		b.mu.Unlock()
		return
	}
	b.open(p)
	b.mu.Unlock()
	p.emit(Event{Kind: EventBreaker, Gene: GeneCircuitBreaker, From: from, To: Open})
}

// open moves to Open; b.mu is held.
func (b *breaker) open(p *Policy) {
	b.openUntil = p.now() + b.openFor
	b.state.Store(int32(Open))
	b.reset()
}

// reset clears the failure counts; b.mu is held.
func (b *breaker) reset() {
	b.consec.Store(0)
	for i := range b.slots {
		b.slots[i].Store(false)
	}
	b.fails.Store(0)
	b.filled.Store(0)
}

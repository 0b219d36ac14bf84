package faults

import (
	"context"
	"sync"
	"sync/atomic"
)

// Scope keeps the fault state of one trial apart from every other trial's,
// so that trials that share targets can run at the same time: a hook keeps,
// per scope, the faults applied in it, its random decisions and its
// connections. A harness makes a scope per trial, carries it in the trial's
// context ([WithScope]), applies the trial's faults through views of its
// targets in that scope ([Scoper]), and ends it when the trial ends.
//
// A call whose context carries no scope sees the target's own state — the
// faults applied with its own Apply — or, while exactly one scope is live,
// that scope's ([Hook.Astray] counts the calls that could not tell).
type Scope struct {
	mu       sync.Mutex
	ends     []func()
	ended    bool
	pressure atomic.Int64 // modelled memory pressure, bytes
}

// SetPressure sets the memory pressure, in bytes, that s's trial models
// without holding it ([Pressure]); 0 ends it. A simulated trial's driver
// sets it during a MemoryPressure threat's inject phase.
func (s *Scope) SetPressure(n int64) { s.pressure.Store(max(0, n)) }

// Pressure is the memory pressure, in bytes, that the trial ctx belongs
// to models but does not hold: on the simulated tier, a MemoryPressure
// threat's bytes during its inject phase, where holding real memory per
// trial would cost more than the trials and skew the trials beside it. It
// is 0 outside such a trial — on the wire tier the pressure is real
// memory, which the process's heap shows, and in production there is none
// — so code that sheds load by the memory it sees adds Pressure(ctx) to
// what it reads, and is then exercised on both tiers:
//
//	used := heapInUse() + uint64(faults.Pressure(ctx))
func Pressure(ctx context.Context) int64 {
	if s := ScopeOf(ctx); s != nil {
		return s.pressure.Load()
	}
	return 0
}

// NewScope returns a new scope.
func NewScope() *Scope { return &Scope{} }

// End makes every target forget its state of s. It is idempotent.
func (s *Scope) End() {
	s.mu.Lock()
	ends := s.ends
	s.ends, s.ended = nil, true
	s.mu.Unlock()
	for _, fn := range ends {
		fn()
	}
}

type scopeKey struct{}

// WithScope returns a copy of ctx that carries s: a hook consulted with it
// (or a context derived from it) uses its state of s.
func WithScope(ctx context.Context, s *Scope) context.Context {
	return context.WithValue(ctx, scopeKey{}, s)
}

// ScopeOf returns the scope ctx carries, or nil.
func ScopeOf(ctx context.Context) *Scope {
	s, _ := ctx.Value(scopeKey{}).(*Scope)
	return s
}

// Scoper is an optional capability of a [Target] whose fault state can be
// kept per [Scope]: InScope returns a view of the target whose Apply (and,
// where the target has them, Reseed and Touched) act on scope s only,
// seen by calls whose context carries s. A [*Hook] is a Scoper; a network
// proxy is not (a trial through one runs alone).
type Scoper interface {
	InScope(s *Scope) Target
}

// OnEnd registers fn to run when s ends and reports true, or reports false
// when s has already ended. A fake that keeps state per trial (a capacity, a
// cache) keys it by [ScopeOf] the call's context and forgets it here, so
// that trials running at the same time keep apart.
func (s *Scope) OnEnd(fn func()) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ended {
		return false
	}
	s.ends = append(s.ends, fn)
	return true
}

// InScope returns a view of h in scope s: its Apply, Reseed and Touched act
// on s's state, which calls whose context carries s see (see [Scoper]).
func (h *Hook) InScope(s *Scope) Target { return hookView{h, s} }

// hookView is a hook in one scope.
type hookView struct {
	h *Hook
	s *Scope
}

func (v hookView) Name() string                        { return v.h.Name() }
func (v hookView) Supports(k Kind) bool                { return v.h.Supports(k) }
func (v hookView) Apply(f Fault) (func(), error)       { return v.h.apply(v.s, f) }
func (v hookView) Reseed(seed uint64)                  { v.h.reseed(v.s, seed) }
func (v hookView) Touched(Kind) (n int64, unit string) { return v.h.touchedIn(v.s) }
func (v hookView) Networked() bool                     { return v.h.Networked() }
func (v hookView) String() string                      { return v.h.Name() }

package faults

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"syscall"
	"time"
)

// ErrRefused is matched (with errors.Is) by the error of a call or dial that
// a [Down] fault refuses. That error also matches syscall.ECONNREFUSED.
var ErrRefused = errors.New("faults: connection refused")

// ErrReset is matched by the error of a call or connection that a [Reset]
// fault resets, or that a removed [Hang] releases. That error also matches
// syscall.ECONNRESET.
var ErrReset = errors.New("faults: connection reset")

// hookError is an injected refusal or reset: it names the hook and matches
// both its sentinel and the errno a real network would give.
type hookError struct {
	msg      string
	sentinel error
	errno    syscall.Errno
}

func (e *hookError) Error() string   { return e.msg }
func (e *hookError) Unwrap() []error { return []error{e.sentinel, e.errno} }

func (h *Hook) refused() error {
	return &hookError{fmt.Sprintf("faults: %s: connection refused (injected down)", h.name), ErrRefused, syscall.ECONNREFUSED}
}

func (h *Hook) reset(why string) error {
	return &hookError{fmt.Sprintf("faults: %s: connection reset by peer (injected %s)", h.name, why), ErrReset, syscall.ECONNRESET}
}

// errHookGone reports, inside the package, that the fault a wait was holding on
// has been removed.
var errHookGone = errors.New("faults: fault removed")

// Hook is an in-process [Target]: wrappers such as [Func], [RoundTripper],
// [Conn] and [Connector] consult it around each operation. Any number of
// faults may be applied at once; each stays until its remove function is
// called.
//
// A hook created by [NewHook] supports [Latency], [Down], [Hang], [Reset] and
// [Error]; one created by [NewConnHook] also supports the byte-level kinds,
// which act only on connections wrapped by [Conn] or [Dialer].
//
// Every random decision (Error.Rate, Latency.Jitter and Toxicity, Slicer
// sizes) is drawn from the hook's seed, so a sequential caller sees the same
// decisions on every run with the same seed.
//
// A hook waits only on timers, channels and contexts, so it blocks durably
// inside a testing/synctest bubble and a 30-second outage passes in virtual
// time. Apply and remove faults inside the bubble that uses the hook. What
// the hook wraps may not: a hook in front of a real driver, dialer,
// transport or socket is [Hook.Networked], and runs in real time.
type Hook struct {
	name  string
	conns bool // supports the byte-level kinds

	mu     sync.Mutex // bookkeeping only, never held while blocking
	def    hookState  // the state seen by calls whose context carries no scope
	scopes map[*Scope]*hookState
	astray int64 // calls without a scope while several scopes were live (Astray)

	// What the hook fronts (see Hook.Networked).
	remote    bool // a wrapper fronts a driver, dialer or transport
	socket    bool // Conn wrapped a real socket
	inProcess bool // Hook.InProcess was called
}

// hookState is a hook's fault state in one scope (or its own, outside any).
type hookState struct {
	rnd     uint64       // splitmix64 state
	faults  []*hookFault // in the order applied
	live    map[*hookConn]struct{}
	touched int64 // operations a fault acted on (Toucher)
}

// hookFault is one fault while it is applied.
type hookFault struct {
	f     Fault
	st    *hookState // where it is applied
	at    time.Time
	gone  chan struct{} // closed on removal
	calls int           // calls it has seen (Error's First and Every count them); h.mu
}

// callState is the state a call carrying scope s sees; h.mu is held. A call
// that carries none — a workload that dropped the trial's context — sees
// the one live scope when there is exactly one (trials one at a time, as
// before scopes), and otherwise the hook's own state, counted as astray.
func (h *Hook) callState(s *Scope) *hookState {
	if s != nil {
		return h.state(s)
	}
	if len(h.scopes) == 1 {
		for _, st := range h.scopes {
			return st
		}
	}
	if len(h.scopes) > 1 {
		h.astray++
	}
	return &h.def
}

// Astray returns how many calls reached h without a scope in their context
// while several scopes were live: calls of a workload that does not pass
// the trial's context on, which trials running at the same time cannot
// keep apart. A harness that runs trials in parallel checks it.
func (h *Hook) Astray() int64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.astray
}

// state returns h's state in scope s (its own when s is nil), made on first
// use and forgotten when s ends; h.mu is held. A scope that has ended gets a
// fresh state that nothing keeps.
func (h *Hook) state(s *Scope) *hookState {
	if s == nil {
		return &h.def
	}
	if st := h.scopes[s]; st != nil {
		return st
	}
	st := &hookState{rnd: h.def.rnd, live: map[*hookConn]struct{}{}}
	if s.OnEnd(func() { h.mu.Lock(); delete(h.scopes, s); h.mu.Unlock() }) {
		if h.scopes == nil {
			h.scopes = map[*Scope]*hookState{}
		}
		h.scopes[s] = st
	}
	return st
}

// NewHook returns a hook named name (for errors and reports) whose random
// decisions derive from seed. It supports Latency, Down, Hang, Reset and Error.
func NewHook(name string, seed uint64) *Hook {
	return &Hook{name: name, def: hookState{rnd: seed, live: map[*hookConn]struct{}{}}}
}

// NewConnHook is [NewHook] for a hook meant for [Conn] and [Dialer]: it also
// supports Blackhole, Bandwidth, SlowClose, CutAfter and Slicer. Wrappers of
// calls ([Func], [RoundTripper], [Connector]) ignore those kinds.
func NewConnHook(name string, seed uint64) *Hook {
	h := NewHook(name, seed)
	h.conns = true
	return h
}

// Name returns the hook's name.
func (h *Hook) Name() string { return h.name }

// Reseed restarts the hook's random decisions from seed, as if it had just
// been made with it. The harness reseeds every hook at the start of each
// trial, so that a trial replays the same whatever trials ran before it.
func (h *Hook) Reseed(seed uint64) { h.reseed(nil, seed) }

func (h *Hook) reseed(s *Scope, seed uint64) {
	h.mu.Lock()
	h.state(s).rnd = seed
	h.mu.Unlock()
}

// Touched returns how many operations — calls, dials, connections, reads
// and writes — the hook's faults have acted on (refused, failed, reset,
// held, delayed, shaped) since it was made; a hook counts every kind:
// "calls", or "operations" for a [NewConnHook] (dials, reads and writes
// too). See [Toucher].
func (h *Hook) Touched(Kind) (n int64, unit string) { return h.touchedIn(nil) }

func (h *Hook) touchedIn(s *Scope) (n int64, unit string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.conns {
		return h.state(s).touched, "operations"
	}
	return h.state(s).touched, "calls"
}

// Supports reports whether the hook can inject faults of kind k.
func (h *Hook) Supports(k Kind) bool {
	switch k {
	case KindLatency, KindDown, KindHang, KindReset, KindError:
		return true
	case KindBlackhole, KindBandwidth, KindSlowClose, KindCutAfter, KindSlicer:
		return h.conns
	}
	return false
}

// Apply injects f until the returned remove is called; remove is idempotent.
// A fault refused by [Check] is an error and nothing is injected.
//
// Applying [Down] closes the hook's live connections; applying [Reset] resets
// them once they have lived for Reset.After.
func (h *Hook) Apply(f Fault) (remove func(), err error) { return h.apply(nil, f) }

// apply is Apply in scope s.
func (h *Hook) apply(s *Scope, f Fault) (remove func(), err error) {
	if err := Check(h, f); err != nil {
		return nil, err
	}
	a := &hookFault{f: f, at: time.Now(), gone: make(chan struct{})}
	h.mu.Lock()
	st := h.state(s)
	a.st = st
	st.faults = append(st.faults, a)
	conns := make([]*hookConn, 0, len(st.live))
	for c := range st.live {
		conns = append(conns, c)
	}
	if k := f.Kind(); k == KindDown || k == KindReset {
		st.touched += int64(len(conns)) // it kills or will reset them
	}
	h.mu.Unlock()
	for _, c := range conns {
		h.touch(c, a)
	}
	var once sync.Once
	return func() { once.Do(func() { h.remove(a) }) }, nil
}

func (h *Hook) remove(a *hookFault) {
	h.mu.Lock()
	st := a.st
	for i, b := range st.faults {
		if b == a {
			st.faults = append(st.faults[:i:i], st.faults[i+1:]...)
			break
		}
	}
	h.mu.Unlock()
	close(a.gone)
}

// active reports whether a is still applied.
func (h *Hook) active(a *hookFault) bool {
	select {
	case <-a.gone:
		return false
	default:
		return true
	}
}

// Before is what a wrapper calls before each operation. It applies the hook's
// faults in this order: Down returns an error matching [ErrRefused]; Error
// returns its Err (or [ErrInjected]) at its Rate; Reset returns an error
// matching [ErrReset] once the fault has been applied for Reset.After; Hang
// blocks until ctx is done and returns ctx.Err() (or a reset error when the
// Hang is removed first); Latency waits Delay ± Jitter, or returns ctx.Err()
// if ctx is done first. Before returns nil when the operation may proceed;
// it ignores the byte-level kinds, which only [Conn] applies.
func (h *Hook) Before(ctx context.Context) error {
	return h.run(ctx, hookCallKinds)
}

// hookKinds is a set of kinds, one bit each.
type hookKinds uint16

func hookKindsOf(ks ...Kind) hookKinds {
	var s hookKinds
	for _, k := range ks {
		s |= 1 << k
	}
	return s
}

func (s hookKinds) has(k Kind) bool { return s&(1<<k) != 0 }

var (
	hookCallKinds = hookKindsOf(KindDown, KindError, KindReset, KindHang, KindLatency)
	hookDialKinds = hookKindsOf(KindDown, KindError)
	hookCallOrder = [...]Kind{KindDown, KindError, KindReset, KindHang, KindLatency}
)

func (h *Hook) run(ctx context.Context, s hookKinds) error {
	hang, delay, err := h.plan(ScopeOf(ctx), s)
	if err != nil {
		return err
	}
	if hang != nil {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-hang:
			return h.reset("hang, released on removal")
		}
	}
	return hookSleep(ctx, delay)
}

// plan decides, in one critical section, what the faults of kinds s do to
// one call: an error to return at once, a Hang to wait on, or a delay.
func (h *Hook) plan(scope *Scope, s hookKinds) (hang <-chan struct{}, delay time.Duration, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	st := h.callState(scope)
	defer func() {
		if hang != nil || delay > 0 || err != nil {
			st.touched++
		}
	}()
	for _, k := range hookCallOrder {
		if !s.has(k) {
			continue
		}
		for _, a := range st.faults {
			switch f := a.f.(type) {
			case Down:
				if k == KindDown {
					return nil, 0, h.refused()
				}
			case Error:
				if k == KindError {
					a.calls++
					if f.fails(a.calls, st.chance) {
						return nil, 0, f.err()
					}
				}
			case Reset:
				if k == KindReset && time.Since(a.at) >= f.After {
					return nil, 0, h.reset("reset")
				}
			case Hang:
				if k == KindHang {
					return a.gone, 0, nil
				}
			case Latency:
				if k == KindLatency {
					delay += st.latency(f)
				}
			}
		}
	}
	return nil, delay, nil
}

// hookSleep waits d on a timer, or returns ctx.Err() if ctx is done first.
func hookSleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// next returns the next value of the state's splitmix64 stream; the hook's
// mu is held.
func (h *hookState) next() uint64 {
	h.rnd += 0x9e3779b97f4a7c15
	z := h.rnd
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// chance reports true with probability p, where 0 (and 1) mean always; h.mu
// is held. Certain outcomes draw nothing.
func (h *hookState) chance(p float64) bool {
	if p == 0 || p >= 1 {
		return true
	}
	return float64(h.next()>>11)*0x1p-53 < p
}

// latency draws the delay of f for one call (0 when Toxicity spares it);
// h.mu is held.
func (h *hookState) latency(f Latency) time.Duration {
	if !h.chance(f.Toxicity) {
		return 0
	}
	if f.Jitter <= 0 {
		return f.Delay
	}
	span := uint64(2*f.Jitter) + 1
	return f.Delay - f.Jitter + time.Duration(h.next()%span)
}

// touch applies to c the side effect of a fault applied while c lives.
func (h *Hook) touch(c *hookConn, a *hookFault) {
	switch f := a.f.(type) {
	case Down:
		c.kill(io.EOF, h.reset("down"))
	case Reset:
		t := time.AfterFunc(time.Until(resetAt(c, a, f)), func() {
			if h.active(a) {
				r := h.reset("reset")
				c.kill(r, r)
			}
		})
		c.mu.Lock()
		c.timers = append(c.timers, t)
		c.mu.Unlock()
	}
}

// resetAt is when f resets c: After past the later of c's wrapping and a's
// application.
func resetAt(c *hookConn, a *hookFault, f Reset) time.Time {
	if a.at.After(c.opened) {
		return a.at.Add(f.After)
	}
	return c.opened.Add(f.After)
}

func (h *Hook) forget(c *hookConn) {
	h.mu.Lock()
	delete(c.st.live, c)
	h.mu.Unlock()
}

// hookGate is what the hook's faults say about an operation on c starting now.
type hookGate struct {
	down, reset, hang bool
	hold              <-chan struct{} // a Hang or Blackhole to wait out
}

func (h *Hook) gate(c *hookConn) (g hookGate) {
	h.mu.Lock()
	defer h.mu.Unlock()
	now := time.Now()
	for _, a := range c.st.faults {
		switch f := a.f.(type) {
		case Down:
			g.down = true
		case Reset:
			g.reset = g.reset || !now.Before(resetAt(c, a, f))
		case Hang:
			if !g.hang {
				g.hang, g.hold = true, a.gone
			}
		case Blackhole:
			if g.hold == nil {
				g.hold = a.gone
			}
		}
	}
	if g.down || g.reset || g.hang || g.hold != nil {
		c.st.touched++
	}
	return g
}

// hookShape is how the hook's faults shape data flowing one way.
type hookShape struct {
	delay  time.Duration
	rate   int64 // bytes per second; 0 means unlimited
	slicer *Slicer
	cut    int64 // -1 means none
}

// shape returns the shape of data read (read) or written; with draw, it draws
// the Latency delay, which consumes randomness.
func (h *Hook) shape(st *hookState, read, draw bool) hookShape {
	h.mu.Lock()
	defer h.mu.Unlock()
	s := hookShape{cut: -1}
	for _, a := range st.faults {
		switch f := a.f.(type) {
		case Latency:
			if draw && hookAlong(f.Direction, read) {
				s.delay += st.latency(f)
			}
		case Bandwidth:
			if hookAlong(f.Direction, read) && (s.rate == 0 || f.BytesPerSecond < s.rate) {
				s.rate = f.BytesPerSecond
			}
		case Slicer:
			if hookAlong(f.Direction, read) && s.slicer == nil {
				s.slicer = &f
			}
		case CutAfter:
			if hookAlong(f.Direction, read) && (s.cut < 0 || f.Bytes < s.cut) {
				s.cut = f.Bytes
			}
		}
	}
	if s.delay > 0 || s.rate > 0 || s.slicer != nil || s.cut >= 0 {
		st.touched++
	}
	return s
}

func hookAlong(d Direction, read bool) bool {
	return d == Both || (d == Downstream) == read
}

func (s hookShape) transfer(n int) time.Duration {
	if s.rate <= 0 {
		return 0
	}
	return time.Duration(n) * time.Second / time.Duration(s.rate)
}

// sliceSize draws the size of the next chunk f cuts.
func (h *Hook) sliceSize(st *hookState, f *Slicer) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return f.AverageSize - f.SizeVariation + int(st.next()%uint64(2*f.SizeVariation+1))
}

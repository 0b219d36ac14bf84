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

	mu      sync.Mutex   // bookkeeping only, never held while blocking
	rnd     uint64       // splitmix64 state
	faults  []*hookFault // in the order applied
	live    map[*hookConn]struct{}
	touched int64 // operations a fault acted on (Toucher)

	// What the hook fronts (see Hook.Networked).
	remote    bool // a wrapper fronts a driver, dialer or transport
	socket    bool // Conn wrapped a real socket
	inProcess bool // Hook.InProcess was called
}

// hookFault is one fault while it is applied.
type hookFault struct {
	f     Fault
	at    time.Time
	gone  chan struct{} // closed on removal
	calls int           // calls it has seen (Error's First and Every count them); h.mu
}

// NewHook returns a hook named name (for errors and reports) whose random
// decisions derive from seed. It supports Latency, Down, Hang, Reset and Error.
func NewHook(name string, seed uint64) *Hook {
	return &Hook{name: name, rnd: seed, live: map[*hookConn]struct{}{}}
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
func (h *Hook) Reseed(seed uint64) {
	h.mu.Lock()
	h.rnd = seed
	h.mu.Unlock()
}

// Touched returns how many operations — calls, dials, connections, reads
// and writes — the hook's faults have acted on (refused, failed, reset,
// held, delayed, shaped) since it was made; a hook counts every kind:
// "calls", or "operations" for a [NewConnHook] (dials, reads and writes
// too). See [Toucher].
func (h *Hook) Touched(Kind) (n int64, unit string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.conns {
		return h.touched, "operations"
	}
	return h.touched, "calls"
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
func (h *Hook) Apply(f Fault) (remove func(), err error) {
	if err := Check(h, f); err != nil {
		return nil, err
	}
	a := &hookFault{f: f, at: time.Now(), gone: make(chan struct{})}
	h.mu.Lock()
	h.faults = append(h.faults, a)
	conns := make([]*hookConn, 0, len(h.live))
	for c := range h.live {
		conns = append(conns, c)
	}
	if k := f.Kind(); k == KindDown || k == KindReset {
		h.touched += int64(len(conns)) // it kills or will reset them
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
	for i, b := range h.faults {
		if b == a {
			h.faults = append(h.faults[:i:i], h.faults[i+1:]...)
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
	hang, delay, err := h.plan(s)
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
func (h *Hook) plan(s hookKinds) (hang <-chan struct{}, delay time.Duration, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	defer func() {
		if hang != nil || delay > 0 || err != nil {
			h.touched++
		}
	}()
	for _, k := range hookCallOrder {
		if !s.has(k) {
			continue
		}
		for _, a := range h.faults {
			switch f := a.f.(type) {
			case Down:
				if k == KindDown {
					return nil, 0, h.refused()
				}
			case Error:
				if k == KindError {
					a.calls++
					if f.fails(a.calls, h.chance) {
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
					delay += h.latency(f)
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

// next returns the next value of the hook's splitmix64 stream; h.mu is held.
func (h *Hook) next() uint64 {
	h.rnd += 0x9e3779b97f4a7c15
	z := h.rnd
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// chance reports true with probability p, where 0 (and 1) mean always; h.mu
// is held. Certain outcomes draw nothing.
func (h *Hook) chance(p float64) bool {
	if p == 0 || p >= 1 {
		return true
	}
	return float64(h.next()>>11)*0x1p-53 < p
}

// latency draws the delay of f for one call (0 when Toxicity spares it);
// h.mu is held.
func (h *Hook) latency(f Latency) time.Duration {
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
	delete(h.live, c)
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
	for _, a := range h.faults {
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
		h.touched++
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
func (h *Hook) shape(read, draw bool) hookShape {
	h.mu.Lock()
	defer h.mu.Unlock()
	s := hookShape{cut: -1}
	for _, a := range h.faults {
		switch f := a.f.(type) {
		case Latency:
			if draw && hookAlong(f.Direction, read) {
				s.delay += h.latency(f)
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
		h.touched++
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
func (h *Hook) sliceSize(f *Slicer) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return f.AverageSize - f.SizeVariation + int(h.next()%uint64(2*f.SizeVariation+1))
}

package faults

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"
)

// Target is something faults are injected into: a network proxy or an
// in-process hook. Scenarios are written against this interface, so that a
// threat such as a database outage works on either.
type Target interface {
	// Name identifies the target in errors and reports.
	Name() string
	// Supports reports whether the target can inject faults of kind k.
	Supports(k Kind) bool
	// Apply injects f until the returned remove is called. remove is
	// idempotent. A fault that fails validation, or of a kind the target
	// does not support, is an error and nothing is injected.
	Apply(f Fault) (remove func(), err error)
}

// Networked is an optional capability of a [Target]: Networked reports true
// when the target reaches outside the process — a real socket, a real
// database driver, a real server — and so cannot run inside a
// testing/synctest bubble. There a real socket never blocks durably (the
// bubble hangs), and a real driver's timers and channels crossing the
// bubble's boundary are a fatal error that ends the whole test binary
// ("select on synctest channel from outside bubble"), which no recover
// catches. A harness asks it before the first trial: it runs a threat on a
// networked target in real time, and refuses to run one in a bubble.
//
// A target without the method is in-process. A network proxy (the
// faults/toxiproxy backend) is always networked. A [*Hook] is in-process
// until a wrapper makes it front a real endpoint: [Connector] (a driver's
// connector), [Dialer] (a dialer to a socket), [RoundTripper] (an
// http.Transport, or any RoundTripper not known to stay in the process) and
// [Conn] of a real socket (one with a file descriptor: syscall.Conn). [Func]
// and [FuncErr] leave it in-process. A hook whose connector, dialer or
// transport is itself in the process (a fake driver, a net.Pipe dialer, a
// handler called directly) says so with [Hook.InProcess].
type Networked interface {
	Networked() bool
}

// Reacher is an optional capability of a [Target] in front of an upstream
// (a network proxy): Reach checks, before any fault is injected, that the
// upstream answers. A harness asks it at the start of a trial, so that an
// upstream already down is reported as a setup error ("not reachable before
// any fault was injected"), not as the damage the threat did.
type Reacher interface {
	Reach(ctx context.Context) error
}

// Reseeder is an optional capability of a [Target] that makes random
// decisions (a [*Hook]'s rates and jitter): Reseed restarts them from seed.
// A harness reseeds every target at the start of each trial from the trial's
// seed, so that a trial replays exactly.
type Reseeder interface {
	Reseed(seed uint64)
}

// Lingerer is an optional capability of a [Target] whose own goroutines may
// outlive a fault and a trial (a proxy's connection pumps, which its owner's
// cleanup stops): Lingering names their functions, as a goroutine dump
// prints them ("github.com/Shopify/toxiproxy/v2.(*ToxicLink).read"), so a
// harness's leak check ignores them instead of blaming the code under test.
type Lingerer interface {
	Lingering() []string
}

// Toucher is an optional capability of a [Target] that can tell whether its
// faults acted on anything: Touched returns how many calls or connections
// its faults have acted on since it was made (a count that only grows) and
// what it counts ("calls", "connections"); unit is "" when it cannot count
// what faults of kind k do (a proxy's Down refuses connections it never
// sees). [ScheduleTracked] reads it when a
// fault is applied and when it is removed: the difference is the evidence
// that the fault fired, and a threat whose faults touched nothing — a client
// that does not go through the target — is flagged.
type Toucher interface {
	Touched(k Kind) (n int64, unit string)
}

// Bounded is an optional capability of a [Target] whose faults live outside
// the process (a cluster backend's experiment objects): ApplyFor is Apply
// told how long the fault is meant to last, so that the backend removes it
// by itself if the process that applied it dies. [ScheduleTracked] calls
// it when the fault has a length.
type Bounded interface {
	ApplyFor(f Fault, lasting time.Duration) (remove func(), err error)
}

// Witness is an optional capability of a [Target] that can prove a fault
// fired beyond counting calls: Witness returns, in one line, what the
// backend reported for the last fault applied and removed ("injected in 3
// of 3 pods, recovered in 3"). [ScheduleTracked] puts it in
// [Injection.Detail].
type Witness interface {
	Witness() string
}

// Check is what every target's Apply does before injecting anything: it
// refuses a nil fault, a pointer to a fault (pass Latency{...}, not
// &Latency{...}), a fault that fails validation (matching [ErrInvalid]) and a
// kind t does not support (matching [ErrUnsupported]). Scenarios use it to
// validate a threat before any trial runs.
func Check(t Target, f Fault) error {
	switch f.(type) {
	case Latency, Down, Blackhole, Hang, Reset, Bandwidth, SlowClose, CutAfter, Slicer, Error:
	case nil:
		return fmt.Errorf("%w: nil fault (target %q)", ErrInvalid, t.Name())
	default:
		return fmt.Errorf("%w: %T is not a fault value: pass Latency{...}, not a pointer (target %q)", ErrInvalid, f, t.Name())
	}
	if err := f.Validate(); err != nil {
		return fmt.Errorf("%w (target %q)", err, t.Name())
	}
	if !t.Supports(f.Kind()) {
		return Unsupported(t, f.Kind())
	}
	return nil
}

// Unsupported returns the error for a target asked for a fault kind it cannot
// inject; it matches [ErrUnsupported] and lists what the target supports.
func Unsupported(t Target, k Kind) error {
	var ks []string
	for i := range numKinds {
		if t.Supports(i) {
			ks = append(ks, i.String())
		}
	}
	return fmt.Errorf("%w: target %q cannot inject %s (it supports %s)", ErrUnsupported, t.Name(), k, strings.Join(ks, ", "))
}

// Injection is the evidence of what one scheduled fault did: when it was
// applied and removed and, when its target can count ([Toucher]), how many
// calls or connections it acted on while in force (all of the target's
// faults' touches in that time: faults in force together on one target
// share them).
type Injection struct {
	Target  string
	Fault   string
	Applied time.Time // zero: never applied (stopped before its time, or Apply failed)
	Removed time.Time // zero: never applied
	Touched int64     // calls or connections acted on while in force, when Unit is set
	Unit    string    // what the target counted ("calls", "connections"), or "" when it cannot
	Detail  string    // what the backend reported of the fault ([Witness]), or ""
	Err     error     // Apply's error
}

// Schedule applies f to t after the delay after and removes it when it has
// lasted for (for ≤ 0: until cancelled). It returns a cancel function that
// removes the fault at once, or prevents it from ever being applied; cancel
// is idempotent and waits for nothing. An error from Apply at the scheduled
// time is passed to onErr when it is non-nil.
//
// Schedule uses ordinary timers, so inside a testing/synctest bubble a
// 30-second outage passes in virtual time.
func Schedule(t Target, f Fault, after, lasting time.Duration, onErr func(error)) (cancel func()) {
	stop := ScheduleTracked(t, f, after, lasting, onErr)
	return func() { stop() }
}

// ScheduleTracked is [Schedule] that keeps the evidence: stop removes the
// fault (or prevents it) as cancel does, and returns what the fault did.
func ScheduleTracked(t Target, f Fault, after, lasting time.Duration, onErr func(error)) (stop func() Injection) {
	var (
		mu              sync.Mutex
		done            bool
		remove          func()
		startT          *time.Timer
		stopT           *time.Timer
		ev              = Injection{Target: t.Name(), Fault: f.String()}
		toucher, counts = t.(Toucher)
		before          int64
		end             = func() { // under mu
			if remove == nil {
				return
			}
			remove()
			remove = nil
			ev.Removed = time.Now()
			if w, ok := t.(Witness); ok {
				ev.Detail = w.Witness()
			}
			if counts {
				n, unit := toucher.Touched(f.Kind())
				ev.Touched, ev.Unit = n-before, unit
			}
		}
	)
	startT = time.AfterFunc(after, func() {
		mu.Lock()
		defer mu.Unlock()
		if done {
			return
		}
		if counts {
			before, _ = toucher.Touched(f.Kind())
		}
		var r func()
		var err error
		if b, ok := t.(Bounded); ok && lasting > 0 {
			r, err = b.ApplyFor(f, lasting)
		} else {
			r, err = t.Apply(f)
		}
		if err != nil {
			ev.Err = err
			if onErr != nil {
				onErr(err)
			}
			return
		}
		remove, ev.Applied = r, time.Now()
		if lasting > 0 {
			stopT = time.AfterFunc(lasting, func() {
				mu.Lock()
				defer mu.Unlock()
				end()
			})
		}
	})
	return func() Injection {
		mu.Lock()
		defer mu.Unlock()
		done = true
		startT.Stop()
		if stopT != nil {
			stopT.Stop()
		}
		end()
		return ev
	}
}

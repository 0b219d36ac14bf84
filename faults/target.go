package faults

import (
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

// Schedule applies f to t after the delay after and removes it when it has
// lasted for (for ≤ 0: until cancelled). It returns a cancel function that
// removes the fault at once, or prevents it from ever being applied; cancel
// is idempotent and waits for nothing. An error from Apply at the scheduled
// time is passed to onErr when it is non-nil.
//
// Schedule uses ordinary timers, so inside a testing/synctest bubble a
// 30-second outage passes in virtual time.
func Schedule(t Target, f Fault, after, lasting time.Duration, onErr func(error)) (cancel func()) {
	var (
		mu       sync.Mutex
		done     bool
		remove   func()
		startT   *time.Timer
		stopT    *time.Timer
		stopOnce = func() {
			if remove != nil {
				remove()
				remove = nil
			}
		}
	)
	startT = time.AfterFunc(after, func() {
		mu.Lock()
		defer mu.Unlock()
		if done {
			return
		}
		r, err := t.Apply(f)
		if err != nil {
			if onErr != nil {
				onErr(err)
			}
			return
		}
		remove = r
		if lasting > 0 {
			stopT = time.AfterFunc(lasting, func() {
				mu.Lock()
				defer mu.Unlock()
				stopOnce()
			})
		}
	})
	return func() {
		mu.Lock()
		defer mu.Unlock()
		done = true
		startT.Stop()
		if stopT != nil {
			stopT.Stop()
		}
		stopOnce()
	}
}

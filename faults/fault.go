package faults

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Kind names a fault primitive.
type Kind uint8

// The fault primitives. Network targets (Toxiproxy) support the first nine;
// in-process hooks support Latency, Down, Hang, Reset and Error, and the
// byte-level ones where they wrap a connection.
const (
	KindLatency   Kind = iota // delay (+ jitter)
	KindDown                  // refuse new calls or connections; drop live connections
	KindBlackhole             // stall data in flight; delivered when removed
	KindHang                  // block until the caller gives up (context done)
	KindReset                 // connection reset by peer
	KindBandwidth             // throttle throughput
	KindSlowClose             // delay closing
	KindCutAfter              // close after N bytes
	KindSlicer                // split data into small, delayed chunks
	KindError                 // fail calls with an error, at a rate
	numKinds
)

var kindNames = [numKinds]string{"latency", "down", "blackhole", "hang", "reset", "bandwidth", "slowClose", "cutAfter", "slicer", "error"}

// String returns the kind's name, such as "latency".
func (k Kind) String() string {
	if k < numKinds {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// Direction says which way through a connection a fault acts.
type Direction uint8

// The directions. The zero value, Downstream, acts on what the upstream
// sends back to the client, which is where latency is usually felt.
const (
	Downstream Direction = iota // upstream → client
	Upstream                    // client → upstream
	Both                        // both ways
)

// String returns "downstream", "upstream" or "both".
func (d Direction) String() string {
	switch d {
	case Downstream:
		return "downstream"
	case Upstream:
		return "upstream"
	case Both:
		return "both"
	}
	return fmt.Sprintf("Direction(%d)", uint8(d))
}

// Fault is one typed fault primitive, such as [Latency] or [Down]. Faults are
// values: a [Target] applies one and returns the function that removes it.
// The set is closed (sealed by an unexported method): a backend switches over
// the types this package defines and knows it has seen them all.
type Fault interface {
	Kind() Kind
	// Validate reports a parameter out of range, naming it.
	Validate() error
	String() string
	fault()
}

// Kinds returns every fault kind, in order.
func Kinds() []Kind {
	ks := make([]Kind, numKinds)
	for i := range ks {
		ks[i] = Kind(i)
	}
	return ks
}

// ErrInvalid is matched (with errors.Is) by every validation error.
var ErrInvalid = errors.New("faults: invalid fault")

// ErrUnsupported is matched by the error a target returns for a fault kind
// it cannot inject.
var ErrUnsupported = errors.New("faults: unsupported fault")

func invalid(f Fault, field, problem string) error {
	return fmt.Errorf("%w: %s.%s %s", ErrInvalid, f.Kind(), field, problem)
}

func checkToxicity(f Fault, t float64) error {
	if t < 0 || t > 1 || t != t {
		return invalid(f, "Toxicity", fmt.Sprintf("= %v is outside [0, 1] (0 means 1: every connection)", t))
	}
	return nil
}

func checkDirection(f Fault, d Direction) error {
	if d > Both {
		return invalid(f, "Direction", fmt.Sprintf("= %d is not Downstream, Upstream or Both", d))
	}
	return nil
}

func nonNegative(f Fault, field string, d time.Duration) error {
	if d < 0 {
		return invalid(f, field, fmt.Sprintf("= %v is negative", d))
	}
	return nil
}

// Latency delays data (network) or calls (hooks) by Delay, plus or minus a
// uniformly drawn Jitter.
type Latency struct {
	Delay     time.Duration
	Jitter    time.Duration // at most Delay
	Direction Direction     // network only
	Toxicity  float64       // fraction of connections (network) or calls (hooks) affected; 0 means all
}

// Kind returns KindLatency.
func (Latency) Kind() Kind { return KindLatency }

func (Latency) fault() {}

// Validate checks that Delay and Jitter are not negative and Jitter ≤ Delay.
func (f Latency) Validate() error {
	return errors.Join(nonNegative(f, "Delay", f.Delay), nonNegative(f, "Jitter", f.Jitter),
		jitterBound(f), checkDirection(f, f.Direction), checkToxicity(f, f.Toxicity))
}

func jitterBound(f Latency) error {
	if f.Delay >= 0 && f.Jitter > f.Delay {
		return invalid(f, "Jitter", fmt.Sprintf("= %v exceeds Delay %v (a delay cannot go below zero)", f.Jitter, f.Delay))
	}
	return nil
}

func (f Latency) String() string {
	s := "latency " + f.Delay.String()
	if f.Jitter > 0 {
		s += "±" + f.Jitter.String()
	}
	return s + toxicityString(f.Toxicity)
}

func toxicityString(t float64) string {
	if t == 0 || t == 1 {
		return ""
	}
	return fmt.Sprintf(" (%.0f%%)", t*100)
}

// Down takes the dependency away: new connections or calls are refused and
// live connections are closed.
type Down struct{}

// Kind returns KindDown.
func (Down) Kind() Kind { return KindDown }

func (Down) fault() {}

// Validate returns nil: Down has no parameters.
func (Down) Validate() error { return nil }

func (Down) String() string { return "down" }

// Blackhole stalls data both ways without closing anything; what was held is
// delivered when the fault is removed (a healable partition).
type Blackhole struct{}

// Kind returns KindBlackhole.
func (Blackhole) Kind() Kind { return KindBlackhole }

func (Blackhole) fault() {}

// Validate returns nil: Blackhole has no parameters.
func (Blackhole) Validate() error { return nil }

func (Blackhole) String() string { return "blackhole" }

// Hang accepts but never answers: data is swallowed (network) or the call
// blocks until its context is done (hooks). Removing it closes the stalled
// connections.
type Hang struct{}

// Kind returns KindHang.
func (Hang) Kind() Kind { return KindHang }

func (Hang) fault() {}

// Validate returns nil: Hang has no parameters.
func (Hang) Validate() error { return nil }

func (Hang) String() string { return "hang" }

// Reset resets connections (ECONNRESET) after After; on hooks a call fails
// with a connection-reset error.
type Reset struct {
	After time.Duration // how long a connection lives before the reset
}

// Kind returns KindReset.
func (Reset) Kind() Kind { return KindReset }

func (Reset) fault() {}

// Validate checks that After is not negative.
func (f Reset) Validate() error { return nonNegative(f, "After", f.After) }

func (f Reset) String() string {
	if f.After > 0 {
		return "reset after " + f.After.String()
	}
	return "reset"
}

// Bandwidth throttles throughput to BytesPerSecond (rounded to KB/s for a
// network target).
type Bandwidth struct {
	BytesPerSecond int64
	Direction      Direction
}

// Kind returns KindBandwidth.
func (Bandwidth) Kind() Kind { return KindBandwidth }

func (Bandwidth) fault() {}

// Validate checks the rate is at least 1024 bytes per second.
func (f Bandwidth) Validate() error {
	var err error
	if f.BytesPerSecond < 1024 {
		err = invalid(f, "BytesPerSecond", fmt.Sprintf("= %d is below 1024 (use Blackhole to stop data)", f.BytesPerSecond))
	}
	return errors.Join(err, checkDirection(f, f.Direction))
}

func (f Bandwidth) String() string { return fmt.Sprintf("bandwidth %d B/s", f.BytesPerSecond) }

// SlowClose delays the close of a connection by Delay.
type SlowClose struct {
	Delay time.Duration
}

// Kind returns KindSlowClose.
func (SlowClose) Kind() Kind { return KindSlowClose }

func (SlowClose) fault() {}

// Validate checks Delay is not negative.
func (f SlowClose) Validate() error { return nonNegative(f, "Delay", f.Delay) }

func (f SlowClose) String() string { return "slow close " + f.Delay.String() }

// CutAfter closes a connection once Bytes have passed in Direction.
type CutAfter struct {
	Bytes     int64
	Direction Direction
}

// Kind returns KindCutAfter.
func (CutAfter) Kind() Kind { return KindCutAfter }

func (CutAfter) fault() {}

// Validate checks Bytes is not negative.
func (f CutAfter) Validate() error {
	var err error
	if f.Bytes < 0 {
		err = invalid(f, "Bytes", fmt.Sprintf("= %d is negative", f.Bytes))
	}
	return errors.Join(err, checkDirection(f, f.Direction))
}

func (f CutAfter) String() string { return fmt.Sprintf("cut after %d bytes", f.Bytes) }

// Slicer splits data into chunks of about AverageSize bytes (± SizeVariation),
// each Delay apart.
type Slicer struct {
	AverageSize   int
	SizeVariation int
	Delay         time.Duration
	Direction     Direction
}

// Kind returns KindSlicer.
func (Slicer) Kind() Kind { return KindSlicer }

func (Slicer) fault() {}

// Validate checks AverageSize ≥ 1, 0 ≤ SizeVariation < AverageSize, Delay ≥ 0.
func (f Slicer) Validate() error {
	var errs []error
	if f.AverageSize < 1 {
		errs = append(errs, invalid(f, "AverageSize", fmt.Sprintf("= %d is below 1", f.AverageSize)))
	}
	if f.SizeVariation < 0 || (f.AverageSize >= 1 && f.SizeVariation >= f.AverageSize) {
		errs = append(errs, invalid(f, "SizeVariation", fmt.Sprintf("= %d is outside [0, AverageSize)", f.SizeVariation)))
	}
	errs = append(errs, nonNegative(f, "Delay", f.Delay), checkDirection(f, f.Direction))
	return errors.Join(errs...)
}

func (f Slicer) String() string {
	return fmt.Sprintf("slicer %d±%d bytes every %v", f.AverageSize, f.SizeVariation, f.Delay)
}

// Error fails calls with Err: each call with probability Rate (0 means
// every call), or, counting the calls since the fault was applied, the
// first First calls, or every Every-th call (the Every-th, the 2·Every-th,
// …). At most one of Rate, First and Every is set. With Status, an HTTP
// hook ([RoundTripper]) answers the failed requests with that status code
// instead of a transport error, and other hooks return a [*StatusError]. It
// is an in-process fault: network targets do not support it.
type Error struct {
	Err    error   // the error returned; nil means ErrInjected
	Rate   float64 // 0 means 1
	First  int     // fail the first First calls, then none
	Every  int     // fail every Every-th call
	Status int     // an HTTP status code (400–599) to answer with, or 0
}

// ErrInjected is the error an [Error] fault returns when it names none.
var ErrInjected = errors.New("faults: injected error")

// StatusError is what a hook other than an HTTP one returns for an [Error]
// fault with a Status: the status a caller of an HTTP API would have seen.
type StatusError struct{ Code int }

// Error returns "faults: injected HTTP status 503".
func (e *StatusError) Error() string { return fmt.Sprintf("faults: injected HTTP status %d", e.Code) }

// Is reports whether target is [ErrInjected]: an injected status is an
// injected error.
func (e *StatusError) Is(target error) bool { return target == ErrInjected }

// Kind returns KindError.
func (Error) Kind() Kind { return KindError }

func (Error) fault() {}

// Validate checks Rate is within [0, 1], First and Every are not negative,
// at most one of Rate, First and Every is set, and Status is 0 or an HTTP
// error status (400–599).
func (f Error) Validate() error {
	switch {
	case f.Rate < 0 || f.Rate > 1 || f.Rate != f.Rate:
		return invalid(f, "Rate", fmt.Sprintf("= %v is outside [0, 1] (0 means every call)", f.Rate))
	case f.First < 0:
		return invalid(f, "First", fmt.Sprintf("= %d is negative: want the number of calls to fail", f.First))
	case f.Every < 0:
		return invalid(f, "Every", fmt.Sprintf("= %d is negative: want N to fail every N-th call", f.Every))
	case (f.Rate != 0 && (f.First != 0 || f.Every != 0)) || (f.First != 0 && f.Every != 0):
		return invalid(f, "Rate/First/Every", "set at most one of them: a rate, the first N calls, or every N-th call")
	case f.Status != 0 && (f.Status < 400 || f.Status > 599):
		return invalid(f, "Status", fmt.Sprintf("= %d is not an HTTP error status: want 400–599, or 0 for a transport error", f.Status))
	}
	return nil
}

// fails reports whether the n-th call (counting from 1) since the fault was
// applied fails, given chance for the Rate.
func (f Error) fails(n int, chance func(float64) bool) bool {
	switch {
	case f.First > 0:
		return n <= f.First
	case f.Every > 0:
		return n%f.Every == 0
	}
	return chance(f.Rate)
}

// err is the error a failed call returns.
func (f Error) err() error {
	switch {
	case f.Status != 0:
		return &StatusError{Code: f.Status}
	case f.Err != nil:
		return f.Err
	}
	return ErrInjected
}

func (f Error) String() string {
	s := "error " + strings.TrimPrefix(f.err().Error(), "faults: ")
	switch {
	case f.First > 0:
		return s + fmt.Sprintf(" (first %d calls)", f.First)
	case f.Every > 0:
		return s + fmt.Sprintf(" (every %d calls)", f.Every)
	}
	return s + toxicityString(f.Rate)
}

package genome

import (
	"errors"
	"strconv"
	"time"
)

// Sentinel errors, matched with errors.Is against what a [Policy] returns.
var (
	ErrCircuitOpen      = errors.New("genome: circuit open")
	ErrRateLimited      = errors.New("genome: rate limited")
	ErrBulkheadFull     = errors.New("genome: bulkhead full")
	ErrTimeout          = errors.New("genome: timeout")
	ErrRetriesExhausted = errors.New("genome: retries exhausted")
	ErrRetryBudget      = errors.New("genome: retry budget exhausted")
	ErrDegraded         = errors.New("genome: degraded")
)

// Error is returned by a [Policy] when one of its genes stops a call. It
// matches both its Reason and its Cause with errors.Is and errors.As.
type Error struct {
	Gene     GeneKind // the gene that stopped the call
	Reason   error    // a sentinel such as ErrCircuitOpen, or the caller's context error
	Attempts int      // attempts made before it stopped
	Cause    error    // the last error of the call, or nil when the call never ran
}

// Error returns the reason, the attempts when more than one, and the cause:
// "genome: retries exhausted after 3 attempts: connection refused".
func (e *Error) Error() string {
	s := e.Reason.Error()
	if e.Attempts > 1 {
		s += " after " + strconv.Itoa(e.Attempts) + " attempts"
	}
	if e.Cause != nil {
		s += ": " + e.Cause.Error()
	}
	return s
}

// Unwrap returns the reason and, when there is one, the cause.
func (e *Error) Unwrap() []error {
	if e.Cause == nil {
		return []error{e.Reason}
	}
	return []error{e.Reason, e.Cause}
}

// Rejections that carry no cause are shared values: rejecting allocates
// nothing, which matters most under a flood.
var (
	errRateLimited  = &Error{Gene: GeneRateLimit, Reason: ErrRateLimited}
	errBulkheadFull = &Error{Gene: GeneBulkhead, Reason: ErrBulkheadFull}
	errCircuitOpen  = &Error{Gene: GeneCircuitBreaker, Reason: ErrCircuitOpen}
)

type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// Permanent marks err as not worth retrying: a [Policy] returns it at once,
// and a circuit breaker does not count it as a failure of the dependency.
// Permanent(nil) is nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err}
}

// IsPermanent reports whether err, or an error it wraps, was marked with
// [Permanent].
func IsPermanent(err error) bool {
	var p *permanentError
	return errors.As(err, &p)
}

type noRetryError struct{ err error }

func (e *noRetryError) Error() string { return e.err.Error() }
func (e *noRetryError) Unwrap() error { return e.err }

// NoRetry marks err as a failure of the dependency that must not be
// repeated — a request that cannot be sent again, a statement that may
// already have run: a [Policy] does not retry it, and, unlike [Permanent],
// its circuit breaker counts it. NoRetry(nil) is nil.
func NoRetry(err error) error {
	if err == nil {
		return nil
	}
	return &noRetryError{err}
}

// isNoRetry reports whether err, or an error it wraps, was marked with
// [NoRetry].
func isNoRetry(err error) bool {
	var n *noRetryError
	return errors.As(err, &n)
}

type retryAfterError struct {
	err error
	d   time.Duration
}

func (e *retryAfterError) Error() string { return e.err.Error() }
func (e *retryAfterError) Unwrap() error { return e.err }

// RetryAfter marks err as a failure after which the dependency asked to be
// left alone for d (an HTTP Retry-After, a gRPC retry pushback): a
// [Policy] retries it no sooner than d, and not at all when d is longer
// than its retry gene's MaxDelay allows, or the overall timeout or the
// caller's deadline leaves. A circuit breaker counts it as any failure.
// RetryAfter(nil, d) is nil.
func RetryAfter(err error, d time.Duration) error {
	if err == nil {
		return nil
	}
	return &retryAfterError{err, max(0, d)}
}

// retryAfterOf returns the wait err asks for, if it does.
func retryAfterOf(err error) (time.Duration, bool) {
	var ra *retryAfterError
	if errors.As(err, &ra) {
		return ra.d, true
	}
	return 0, false
}

// DegradedError is what a fallback of kind error returns in place of the
// failure: one known class that callers handle, wrapping the cause.
type DegradedError struct {
	Class string // the genome's fallback.errorClass, such as "unavailable"
	Cause error  // the failure it replaces
}

// Error returns "genome: degraded (<class>): <cause>".
func (e *DegradedError) Error() string {
	return "genome: degraded (" + e.Class + "): " + e.Cause.Error()
}

// Is reports whether target is [ErrDegraded].
func (e *DegradedError) Is(target error) bool { return target == ErrDegraded }

// Unwrap returns the cause.
func (e *DegradedError) Unwrap() error { return e.Cause }

// Package genomehttp runs HTTP through a compiled genome: a client-side
// [Transport] (an http.RoundTripper) and [NewClient], and a server-side
// [Shed] middleware that sheds load with the genome's bulkhead and rate
// limit. It is the production edge of the policy a RAFAEL test evolved, so
// the code the test drives is the code the service runs.
//
// It imports only the standard library and package genome.
package genomehttp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rafaelabs/rafael/genome"
)

// Policy is what runs each request: a compiled *genome.Policy, or anything
// with its Do (a policy that reloads itself, a test's stand-in).
type Policy interface {
	Do(ctx context.Context, fn func(context.Context) error) error
}

// Transport is an http.RoundTripper that sends each request through
// Policy: its rate limit, bulkhead, timeouts and circuit breaker apply to
// every request, and its retry to the requests that can be sent again.
//
// A request is sent again only when it is idempotent — GET, HEAD, OPTIONS,
// TRACE, PUT or DELETE, or any method with an Idempotency-Key header — and
// its body can be replayed (no body, or Request.GetBody set, as
// http.NewRequest does for in-memory bodies). Any other request is sent
// once: its failure is not retried (genome.NoRetry), though a circuit
// breaker counts it.
//
// An attempt fails when the transport fails, or when the server answers
// 429 or a 5xx other than 501 and 505: the response is then drained,
// closed, and the attempt is retried after the response's Retry-After
// when it has one (see genome.RetryAfter). When the policy gives up after
// such answers, the caller gets the last response, as from any client:
// http.Client returns a 503 as a response, not as an error. Rejections of
// the policy itself (circuit open, rate limited, bulkhead full, timed out
// before any answer) are errors matching genome's sentinels.
type Transport struct {
	Policy Policy
	Base   http.RoundTripper // nil: http.DefaultTransport
}

// NewClient returns an *http.Client whose requests go through p over base
// (nil: http.DefaultTransport). It sets no Timeout: the policy's timeout
// genes bound each attempt and the whole call.
func NewClient(p Policy, base http.RoundTripper) *http.Client {
	return &http.Client{Transport: &Transport{Policy: p, Base: base}}
}

// ErrNotReplayable is the cause of a retry that was not sent: the request
// is not idempotent, or its body cannot be read again.
var ErrNotReplayable = errors.New("genomehttp: the request cannot be sent again (not idempotent, or its body cannot be replayed)")

// StatusError is an attempt the server answered with a status worth
// retrying (429, 5xx).
type StatusError struct {
	StatusCode int
	RetryAfter time.Duration // what the response asked for; 0 when it did not
}

func (e *StatusError) Error() string {
	s := fmt.Sprintf("genomehttp: the server answered %d %s", e.StatusCode, http.StatusText(e.StatusCode))
	if e.RetryAfter > 0 {
		s += ", retry after " + e.RetryAfter.String()
	}
	return s
}

// RoundTrip implements http.RoundTripper.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	rt := &roundTrip{req: req, base: t.Base}
	if rt.base == nil {
		rt.base = http.DefaultTransport
	}
	rt.replayable = idempotent(req) && (req.Body == nil || req.Body == http.NoBody || req.GetBody != nil)
	err := t.Policy.Do(req.Context(), rt.attempt)
	rt.mu.Lock()
	defer rt.mu.Unlock()
	switch {
	case err == nil && rt.resp != nil:
		return rt.resp, nil
	case rt.last != nil && req.Context().Err() == nil:
		// The policy gave up on answers the server did give, or a fallback
		// stood in for them: the caller reads the last one, as from any
		// HTTP client.
		return rt.last, nil
	case err == nil:
		// A fallback gene stood in for a request that got no answer: there
		// is no response to give.
		err = errors.New("genomehttp: the policy's fallback stood in for a request that got no answer; an HTTP response cannot be made up")
	}
	if rt.last != nil {
		discard(rt.last)
	}
	return nil, err
}

// roundTrip is one request's attempts. Attempts may run at once (a hedge
// gene): what they share is guarded by mu.
type roundTrip struct {
	req        *http.Request
	base       http.RoundTripper
	replayable bool

	mu       sync.Mutex
	attempts int
	last     *http.Response // the last answer worth retrying, kept for the caller
	resp     *http.Response // the answer that succeeded
}

// attempt sends the request once, with ctx.
func (rt *roundTrip) attempt(ctx context.Context) error {
	rt.mu.Lock()
	rt.attempts++
	n := rt.attempts
	rt.mu.Unlock()
	r := rt.req
	if n > 1 {
		if !rt.replayable {
			return genome.Permanent(ErrNotReplayable)
		}
		c := *r // a shallow copy, as RoundTrip must not change the caller's request
		r = &c
		if rt.req.GetBody != nil {
			body, err := rt.req.GetBody()
			if err != nil {
				return genome.Permanent(fmt.Errorf("genomehttp: replaying the body: %w", err))
			}
			r.Body = body
		}
	}
	if ctx != r.Context() { // a timeout gene's deadline, a hedge's cancellation
		r = r.WithContext(ctx)
	}
	res, err := rt.base.RoundTrip(r)
	if err != nil {
		return rt.once(err)
	}
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if rt.resp != nil { // another attempt (a hedge) already won
		discard(res)
		return nil
	}
	if !retryable(res.StatusCode) {
		rt.resp = res
		if rt.last != nil {
			discard(rt.last)
			rt.last = nil
		}
		return nil
	}
	if rt.last != nil {
		discard(rt.last)
	}
	rt.last = res
	se := &StatusError{StatusCode: res.StatusCode, RetryAfter: retryAfter(res.Header.Get("Retry-After"), time.Now())}
	if se.RetryAfter > 0 {
		return rt.once(genome.RetryAfter(se, se.RetryAfter))
	}
	return rt.once(se)
}

// once marks a failure of a request that cannot be sent again as not to
// be retried: the policy stops at once, its breaker still counting it.
func (rt *roundTrip) once(err error) error {
	if rt.replayable {
		return err
	}
	return genome.NoRetry(err)
}

// idempotent reports whether sending req twice is safe.
func idempotent(req *http.Request) bool {
	switch req.Method {
	case "", http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace, http.MethodPut, http.MethodDelete:
		return true
	}
	return req.Header.Get("Idempotency-Key") != "" || req.Header.Get("X-Idempotency-Key") != ""
}

// retryable reports whether an answer with status code is a failure worth
// retrying: too many requests, or a server error other than "not
// implemented" and "HTTP version not supported", which will not change.
func retryable(code int) bool {
	return code == http.StatusTooManyRequests ||
		code >= 500 && code != http.StatusNotImplemented && code != http.StatusHTTPVersionNotSupported
}

// retryAfter parses a Retry-After value: seconds, or an HTTP date (then
// relative to now). It returns 0 for none or a value it cannot read.
func retryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseInt(v, 10, 64); err == nil {
		if s <= 0 {
			return 0
		}
		return time.Duration(min(s, int64(24*time.Hour/time.Second))) * time.Second
	}
	if at, err := http.ParseTime(v); err == nil {
		return max(0, at.Sub(now))
	}
	return 0
}

// discard drains a little of a response body, so its connection can be
// reused, and closes it.
func discard(res *http.Response) {
	_, _ = io.CopyN(io.Discard, res.Body, 4<<10)
	res.Body.Close()
}

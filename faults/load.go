package faults

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Hard caps on a [Load]: a flood is always bounded in time, count and width.
const (
	MaxLoadDuration    = 5 * time.Minute
	MaxLoadCalls       = 10_000_000
	MaxLoadConcurrency = 1024
)

// Load is the setting of a load generator: a bounded flood of calls. Its
// zero value is not runnable: Duration is required.
//
// Pacing: with Rate > 0, call k (counting from 0) starts no earlier than
// k/Rate seconds after the start, and only calls whose start falls before
// Duration are made, so a run makes at most ceil(Duration×Rate) calls and
// lasts Duration. A call that starts late (all workers busy) starts as soon
// as a worker is free, so the average rate catches up. With Rate 0 every
// worker calls back to back (inside a synctest bubble the calls must then
// take virtual time, or MaxCalls is what ends the run). No call starts at
// or after Duration.
//
// A run ends when Duration has elapsed, MaxCalls calls have been made, or
// ctx is done, whichever comes first; calls in flight when Duration elapses
// see their context cancelled. Load uses only timers, channels and
// contexts, so inside a testing/synctest bubble it runs in virtual time.
type Load struct {
	Concurrency int           // workers calling at once; 0 means 1, at most MaxLoadConcurrency
	Rate        float64       // calls per second across all workers; 0 means as fast as possible
	Duration    time.Duration // required: > 0 and ≤ MaxLoadDuration
	MaxCalls    int64         // most calls made; 0 means MaxLoadCalls
}

// LoadResult is what a [Load] run did. The latencies are those of calls that
// completed (not Interrupted); they are zero when there were none.
type LoadResult struct {
	Calls       int64         // calls made, including Errors and Interrupted
	Errors      int64         // calls that returned an error
	Interrupted int64         // calls cut off by the end of the run (context error after it ended)
	FirstErr    error         // the earliest error among Errors, nil if none
	Elapsed     time.Duration // from start until the last worker finished
	Achieved    float64       // Calls per second of Elapsed

	MinLatency, MeanLatency, MaxLatency time.Duration
}

// String summarises the result on one line.
func (r LoadResult) String() string {
	return fmt.Sprintf("%d calls (%d errors, %d interrupted) in %v: %.1f/s; latency min %v mean %v max %v",
		r.Calls, r.Errors, r.Interrupted, r.Elapsed, r.Achieved, r.MinLatency, r.MeanLatency, r.MaxLatency)
}

func loadInvalid(field, problem string) error {
	return fmt.Errorf("%w: load.%s %s", ErrInvalid, field, problem)
}

// Validate reports every setting out of range, naming the field; the errors
// match [ErrInvalid].
func (l Load) Validate() error {
	var errs []error
	if l.Concurrency < 0 || l.Concurrency > MaxLoadConcurrency {
		errs = append(errs, loadInvalid("Concurrency", fmt.Sprintf("= %d is outside [0, %d] (0 means 1)", l.Concurrency, MaxLoadConcurrency)))
	}
	if l.Rate < 0 || math.IsNaN(l.Rate) || math.IsInf(l.Rate, 0) {
		errs = append(errs, loadInvalid("Rate", fmt.Sprintf("= %v must be a finite number ≥ 0 (0 means as fast as possible)", l.Rate)))
	}
	if l.Duration <= 0 || l.Duration > MaxLoadDuration {
		errs = append(errs, loadInvalid("Duration", fmt.Sprintf("= %v is outside (0, %v]: a flood must be bounded in time", l.Duration, MaxLoadDuration)))
	}
	if l.MaxCalls < 0 || l.MaxCalls > MaxLoadCalls {
		errs = append(errs, loadInvalid("MaxCalls", fmt.Sprintf("= %d is outside [0, %d] (0 means %[2]d)", l.MaxCalls, MaxLoadCalls)))
	}
	return errors.Join(errs...)
}

// Run floods call as l says and waits for every worker before it returns.
// Each call gets a context that ends with the run. If ctx is done before
// the run ends, Run returns what was done so far and an error wrapping
// ctx's error.
func (l Load) Run(ctx context.Context, call func(ctx context.Context) error) (LoadResult, error) {
	if err := l.Validate(); err != nil {
		return LoadResult{}, err
	}
	if call == nil {
		return LoadResult{}, fmt.Errorf("%w: load.Run call is nil", ErrInvalid)
	}
	workers, maxCalls := max(l.Concurrency, 1), l.MaxCalls
	if maxCalls == 0 {
		maxCalls = MaxLoadCalls
	}
	start := time.Now()
	runCtx, cancel := context.WithTimeout(ctx, l.Duration)
	defer cancel()

	var (
		wg      sync.WaitGroup
		stats   = make([]loadStats, workers)
		claimed atomic.Int64 // calls claimed so far, by index
		paced   atomic.Bool  // a worker found the schedule ended before maxCalls
	)
	// open reports whether a call may start. Its clock check keeps a call
	// due exactly at Duration from starting, whichever goroutine wakes
	// first at that instant, so that runs in virtual time are exact.
	open := func() bool { return time.Since(start) < l.Duration && runCtx.Err() == nil }
	for i := range stats {
		s := &stats[i]
		wg.Go(func() {
			if l.Rate <= 0 {
				for open() && claimed.Add(1) <= maxCalls {
					s.do(runCtx, call)
				}
				return
			}
			// Paced: a free worker claims the next call and waits for its
			// time itself — no pacer to wake and hand a token over, which
			// in a bubble costs two goroutine switches a call.
			var timer *time.Timer
			defer func() {
				if timer != nil {
					timer.Stop()
				}
			}()
			for {
				k := claimed.Add(1) - 1
				if k >= maxCalls {
					return
				}
				due := float64(k) * float64(time.Second) / l.Rate
				if due >= float64(l.Duration) {
					paced.Store(true)
					return
				}
				if wait := time.Until(start.Add(time.Duration(due))); wait > 0 {
					if timer == nil {
						timer = time.NewTimer(wait)
					} else {
						timer.Reset(wait)
					}
					select {
					case <-timer.C:
					case <-runCtx.Done():
						return
					}
				}
				if !open() {
					return
				}
				s.do(runCtx, call)
			}
		})
	}
	wg.Wait()
	if paced.Load() {
		<-runCtx.Done() // the schedule ended before maxCalls: the run lasts Duration
	}

	r := loadMerge(stats, time.Since(start))
	if err := ctx.Err(); err != nil {
		return r, fmt.Errorf("faults: load: stopped early after %d calls: %w", r.Calls, err)
	}
	return r, nil
}

// loadStats is one worker's tally, merged when the workers are done.
type loadStats struct {
	calls, errors, interrupted, timed int64
	firstErr                          error
	firstAt                           time.Time
	min, max, total                   time.Duration
}

func (s *loadStats) do(ctx context.Context, call func(context.Context) error) {
	t0 := time.Now()
	err := call(ctx)
	lat := time.Since(t0)
	s.calls++
	if err != nil && ctx.Err() != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) {
		s.interrupted++
		return
	}
	if err != nil {
		s.errors++
		if s.firstErr == nil {
			s.firstErr, s.firstAt = err, t0
		}
	}
	if s.timed == 0 || lat < s.min {
		s.min = lat
	}
	s.max = max(s.max, lat)
	s.total += lat
	s.timed++
}

func loadMerge(stats []loadStats, elapsed time.Duration) LoadResult {
	r := LoadResult{Elapsed: elapsed}
	var timed int64
	var total time.Duration
	var firstAt time.Time
	for _, s := range stats {
		r.Calls += s.calls
		r.Errors += s.errors
		r.Interrupted += s.interrupted
		if s.firstErr != nil && (r.FirstErr == nil || s.firstAt.Before(firstAt)) {
			r.FirstErr, firstAt = s.firstErr, s.firstAt
		}
		if s.timed > 0 {
			if timed == 0 || s.min < r.MinLatency {
				r.MinLatency = s.min
			}
			r.MaxLatency = max(r.MaxLatency, s.max)
			timed += s.timed
			total += s.total
		}
	}
	if timed > 0 {
		r.MeanLatency = total / time.Duration(timed)
	}
	if elapsed > 0 {
		r.Achieved = float64(r.Calls) / elapsed.Seconds()
	}
	return r
}

// LoadHTTP floods rawURL with requests of the given method (no body) through
// client (nil means a default client), as l.Run ([Load.Run]) does. It is a
// function, not a method of Load, so that a test binary that never floods
// over HTTP does not link net/http's client (a method of a type that goes
// into an interface stays linked when any dependency calls a method by
// reflection, as pgregory.net/rapid does). It refuses,
// before sending anything, a URL whose host is not a literal loopback IP
// (127.0.0.0/8, ::1) or localhost: the error matches [ErrNotLoopback]; DNS
// names are not resolved. As defence in depth every request, redirects
// included, is checked the same way and, when client's transport is an
// *http.Transport (or nil), every dial must reach a loopback IP; the client
// itself is not modified. Response bodies are drained and closed; transport
// errors and statuses ≥ 500 count as Errors.
func LoadHTTP(ctx context.Context, l Load, client *http.Client, method, rawURL string) (LoadResult, error) {
	if err := l.Validate(); err != nil {
		return LoadResult{}, err
	}
	if err := loadCheckURL(rawURL); err != nil {
		return LoadResult{}, err
	}
	if _, err := http.NewRequest(method, rawURL, http.NoBody); err != nil {
		return LoadResult{}, fmt.Errorf("faults: load: %w", err)
	}
	c := &http.Client{}
	if client != nil {
		*c = *client
	}
	base := c.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	if t, ok := base.(*http.Transport); ok {
		t = t.Clone()
		t.Proxy = nil // straight to the loopback target, never via a proxy
		t.DialContext = loadDialer().DialContext
		t.DialTLSContext = nil
		//lint:ignore SA1019 the deprecated dialers are still honoured: clear them so only DialContext dials
		t.DialTLS, t.Dial = nil, nil
		defer t.CloseIdleConnections()
		base = t
	}
	c.Transport = loadGuard{base}
	return l.Run(ctx, func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, method, rawURL, http.NoBody)
		if err != nil {
			return err
		}
		resp, err := c.Do(req)
		if err != nil {
			return err
		}
		_, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode >= 500 {
			return fmt.Errorf("faults: load: %s %s: status %s", method, req.URL.Redacted(), resp.Status)
		}
		return err
	})
}

// loadCheckURL accepts an http or https URL whose host passes CheckLoopback.
func loadCheckURL(rawURL string) error {
	u, err := url.Parse(rawURL)
	if err != nil {
		return fmt.Errorf("%w: load: refusing %q: %v", ErrNotLoopback, rawURL, err)
	}
	return loadCheck(u)
}

func loadCheck(u *url.URL) error {
	port := u.Port()
	if port == "" {
		port = "80"
	}
	if (u.Scheme != "http" && u.Scheme != "https") || CheckLoopback(net.JoinHostPort(u.Hostname(), port)) != nil {
		return fmt.Errorf("%w: load: refusing %s: only loopback targets (127.0.0.0/8, ::1, localhost) may be flooded, over http or https",
			ErrNotLoopback, u.Redacted())
	}
	return nil
}

// loadGuard checks every request's URL, redirects included, before it is sent.
type loadGuard struct{ rt http.RoundTripper }

func (g loadGuard) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := loadCheck(req.URL); err != nil {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, err
	}
	return g.rt.RoundTrip(req)
}

// loadDialer refuses, after name resolution and before connecting, any
// address that is not a loopback IP.
func loadDialer() *net.Dialer {
	return &net.Dialer{
		Timeout: 30 * time.Second,
		Control: func(network, address string, _ syscall.RawConn) error {
			if err := CheckLoopback(address); err != nil || !loadIsIP(address) {
				return fmt.Errorf("%w: load: refusing to dial %s %s", ErrNotLoopback, network, address)
			}
			return nil
		},
	}
}

// loadIsIP reports whether hostport's host is a literal IP (at dial time it
// always is; "localhost" there would mean something odd happened).
func loadIsIP(hostport string) bool {
	host, _, err := net.SplitHostPort(hostport)
	return err == nil && net.ParseIP(host) != nil
}

package genomehttp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rafaelabs/rafael/genome"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// server is a real HTTP server on loopback that answers each request with
// the next of answers (the last one again once they run out), and records
// the bodies it was sent.
type server struct {
	*httptest.Server
	mu      sync.Mutex
	answers []int
	headers []http.Header
	bodies  []string
}

func newServer(t *testing.T, tls bool, answers ...int) *server {
	s := &server{answers: answers}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		s.bodies = append(s.bodies, string(body))
		code := s.answers[min(len(s.bodies), len(s.answers))-1]
		var hdr http.Header
		if len(s.headers) >= len(s.bodies) {
			hdr = s.headers[len(s.bodies)-1]
		}
		s.mu.Unlock()
		for k, v := range hdr {
			w.Header()[k] = v
		}
		w.WriteHeader(code)
		io.WriteString(w, http.StatusText(code))
	})
	if tls {
		s.Server = httptest.NewTLSServer(h)
	} else {
		s.Server = httptest.NewServer(h)
	}
	t.Cleanup(s.Close)
	return s
}

func (s *server) sent() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.bodies...)
}

// policy compiles a genome that retries up to 4 attempts quickly.
func policy(t *testing.T, g *genome.Genome, opts ...genome.Option) *genome.Policy {
	t.Helper()
	if g == nil {
		g = &genome.Genome{Module: "client", Retry: &genome.Retry{MaxAttempts: 4, BaseDelay: time.Millisecond, MaxDelay: 2 * time.Second, Multiplier: 2}}
	}
	p, err := genome.Compile(g, opts...)
	require.NoError(t, err)
	return p
}

// client is a client through p over the server's own transport, closed
// with the test.
func client(t *testing.T, s *server, p Policy) *http.Client {
	base := s.Client().Transport
	t.Cleanup(base.(*http.Transport).CloseIdleConnections)
	return NewClient(p, base)
}

func get(t *testing.T, c *http.Client, url string) (int, string, error) {
	t.Helper()
	res, err := c.Get(url)
	if err != nil {
		return 0, "", err
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b), nil
}

func TestAGetIsRetriedThroughServerErrors(t *testing.T) {
	for _, tls := range []bool{false, true} {
		s := newServer(t, tls, 503, 502, 200)
		code, body, err := get(t, client(t, s, policy(t, nil)), s.URL)
		require.NoError(t, err)
		assert.Equal(t, 200, code, "tls %v", tls)
		assert.Equal(t, "OK", body)
		assert.Len(t, s.sent(), 3, "two server errors, then the answer")
	}
}

func TestWhenRetriesRunOutTheCallerReadsTheLastAnswer(t *testing.T) {
	s := newServer(t, false, 503)
	code, body, err := get(t, client(t, s, policy(t, nil)), s.URL)
	require.NoError(t, err, "an HTTP client returns a 503 as a response")
	assert.Equal(t, 503, code)
	assert.Equal(t, "Service Unavailable", body, "its body is readable")
	assert.Len(t, s.sent(), 4)
}

func TestClientErrorsAreAnswersNotFailures(t *testing.T) {
	for _, code := range []int{404, 400, 501} {
		s := newServer(t, false, code)
		got, _, err := get(t, client(t, s, policy(t, nil)), s.URL)
		require.NoError(t, err)
		assert.Equal(t, code, got)
		assert.Len(t, s.sent(), 1, "%d is not retried", code)
	}
}

// A POST whose body cannot be read again is sent once, whatever the
// answer; one that can, with an Idempotency-Key, is retried with its whole
// body each time.
func TestAPostIsRetriedOnlyWhenItCanBeSentAgain(t *testing.T) {
	s := newServer(t, false, 503, 200)
	c := client(t, s, policy(t, nil))
	req, err := http.NewRequest(http.MethodPost, s.URL, io.NopCloser(strings.NewReader("order=1"))) // a stream: no GetBody
	require.NoError(t, err)
	res, err := c.Do(req)
	require.NoError(t, err)
	res.Body.Close()
	assert.Equal(t, 503, res.StatusCode, "the caller gets the server's answer")
	assert.Equal(t, []string{"order=1"}, s.sent(), "sent once: its body was consumed")

	s = newServer(t, false, 503, 200)
	c = client(t, s, policy(t, nil))
	req, err = http.NewRequest(http.MethodPost, s.URL, bytes.NewReader([]byte("order=2")))
	require.NoError(t, err)
	res, err = c.Do(req)
	require.NoError(t, err)
	res.Body.Close()
	assert.Equal(t, 503, res.StatusCode, "a POST is not idempotent: not retried without an Idempotency-Key")
	assert.Len(t, s.sent(), 1)

	s = newServer(t, false, 503, 200)
	c = client(t, s, policy(t, nil))
	req, err = http.NewRequest(http.MethodPost, s.URL, bytes.NewReader([]byte("order=3")))
	require.NoError(t, err)
	req.Header.Set("Idempotency-Key", "k3")
	res, err = c.Do(req)
	require.NoError(t, err)
	res.Body.Close()
	assert.Equal(t, 200, res.StatusCode)
	assert.Equal(t, []string{"order=3", "order=3"}, s.sent(), "the whole body, each time")
}

func TestRetryAfterIsWaitedFor(t *testing.T) {
	s := newServer(t, false, 429, 200)
	s.headers = []http.Header{{"Retry-After": {"1"}}}
	var delays []time.Duration
	var mu sync.Mutex
	obs := genome.ObserverFunc(func(e genome.Event) {
		if e.Kind == genome.EventRetry {
			mu.Lock()
			delays = append(delays, e.Delay)
			mu.Unlock()
		}
	})
	code, _, err := get(t, client(t, s, policy(t, nil, genome.WithObserver(obs))), s.URL)
	require.NoError(t, err)
	assert.Equal(t, 200, code)
	assert.Equal(t, []time.Duration{time.Second}, delays, "the backoff of 1ms was raised to the second the server asked for")

	s = newServer(t, false, 503, 200)
	s.headers = []http.Header{{"Retry-After": {"120"}}}
	code, _, err = get(t, client(t, s, policy(t, nil)), s.URL)
	require.NoError(t, err)
	assert.Equal(t, 503, code, "two minutes is beyond the genome's MaxDelay: not retried, the answer returned")
	assert.Len(t, s.sent(), 1)
}

func TestRetryAfterParses(t *testing.T) {
	now := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	for v, want := range map[string]time.Duration{
		"3": 3 * time.Second, " 10 ": 10 * time.Second, "0": 0, "-1": 0, "soon": 0, "": 0,
		"Sat, 05 Dec 2026 12:00:30 GMT": 30 * time.Second, "Sat, 05 Dec 2026 11:00:00 GMT": 0,
	} {
		assert.Equal(t, want, retryAfter(v, now), "%q", v)
	}
}

// A server that is gone fails every attempt; the breaker then opens and
// rejects calls without sending them.
func TestAnUnreachableServerOpensTheBreaker(t *testing.T) {
	s := newServer(t, false, 200)
	url := s.URL
	s.Close()
	g := &genome.Genome{Module: "client",
		Retry:          &genome.Retry{MaxAttempts: 2, BaseDelay: time.Millisecond, MaxDelay: 10 * time.Millisecond, Multiplier: 2},
		CircuitBreaker: &genome.CircuitBreaker{Mode: genome.BreakerConsecutive, Threshold: 4, OpenDuration: time.Minute, HalfOpenProbes: 1, FailureRate: 0.5, Window: 10}}
	p := policy(t, g)
	c := NewClient(p, &http.Transport{})
	t.Cleanup(c.CloseIdleConnections)
	_, _, err := get(t, c, url)
	require.Error(t, err)
	assert.ErrorIs(t, err, genome.ErrRetriesExhausted)
	assert.Contains(t, err.Error(), "connection refused")
	_, _, err = get(t, c, url)
	require.Error(t, err)
	_, _, err = get(t, c, url)
	assert.ErrorIs(t, err, genome.ErrCircuitOpen, "four failures in a row open it")
}

// A timeout gene bounds a slow server's answer.
func TestATimeoutCutsASlowAnswerShort(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) })
	p := policy(t, &genome.Genome{Module: "client", Timeout: &genome.Timeout{PerAttempt: 50 * time.Millisecond}})
	base := &http.Transport{}
	t.Cleanup(base.CloseIdleConnections)
	_, err := NewClient(p, base).Get(srv.URL)
	require.Error(t, err)
	assert.ErrorIs(t, err, genome.ErrTimeout)
}

// A policy whose fallback stands in for a request that got no answer
// cannot make up a response: the caller gets an error that says so.
func TestAFallbackCannotMakeUpAResponse(t *testing.T) {
	p := policy(t, &genome.Genome{Module: "client", Fallback: &genome.Fallback{Kind: genome.FallbackStatic, Value: json.RawMessage(`"x"`)}})
	down := newServer(t, false, 200)
	url := down.URL
	down.Close()
	base := &http.Transport{}
	t.Cleanup(base.CloseIdleConnections)
	_, err := NewClient(p, base).Get(url)
	require.Error(t, err, "the policy's fallback said the call succeeded, yet there is no response")
	assert.Contains(t, err.Error(), "cannot be made up")
}

// Attempts that run at once (a hedge) leave one response to the caller
// and close the others.
func TestHedgedAttemptsLeaveOneResponse(t *testing.T) {
	var n atomic.Int32
	hedged := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 1 { // the first answers only once the hedge has come
			select {
			case <-hedged:
			case <-r.Context().Done():
				return
			}
			io.WriteString(w, "slow")
			return
		}
		close(hedged)
		io.WriteString(w, "hedge")
	}))
	t.Cleanup(srv.Close)
	p := policy(t, &genome.Genome{Module: "client", Hedge: &genome.Hedge{Delay: 10 * time.Millisecond, MaxHedges: 1}})
	base := &http.Transport{}
	t.Cleanup(base.CloseIdleConnections)
	res, err := NewClient(p, base).Get(srv.URL)
	require.NoError(t, err)
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	assert.Contains(t, []string{"slow", "hedge"}, string(b), "one of the two answers, whole")
	assert.EqualValues(t, 2, n.Load(), "the hedge went out")
}

func TestPolicyIsWhatRuns(t *testing.T) {
	calls := 0
	stub := policyFunc(func(ctx context.Context, fn func(context.Context) error) error {
		calls++
		return errors.New("refused by the stand-in")
	})
	s := newServer(t, false, 200)
	_, err := client(t, s, stub).Get(s.URL)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "refused by the stand-in")
	assert.Equal(t, 1, calls)
	assert.Empty(t, s.sent())
}

type policyFunc func(ctx context.Context, fn func(context.Context) error) error

func (f policyFunc) Do(ctx context.Context, fn func(context.Context) error) error { return f(ctx, fn) }

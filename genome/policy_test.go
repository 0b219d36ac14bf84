package genome

import (
	"context"
	"errors"
	"io"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var errDown = errors.New("connection refused")

func mustCompile(t *testing.T, g *Genome, opts ...Option) *Policy {
	t.Helper()
	p, err := Compile(g, opts...)
	require.NoError(t, err)
	return p
}

// recorder is an Observer that keeps every event.
type recorder struct {
	mu     sync.Mutex
	events []Event
}

func (r *recorder) Observe(e Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
}

func (r *recorder) kinds(k EventKind) []Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []Event
	for _, e := range r.events {
		if e.Kind == k {
			out = append(out, e)
		}
	}
	return out
}

func TestBackoffDelaysLandAtExactVirtualTimes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := mustCompile(t, &Genome{Retry: &Retry{MaxAttempts: 5, BaseDelay: 100 * time.Millisecond, MaxDelay: 350 * time.Millisecond, Multiplier: 2}})
		start := time.Now()
		var at []time.Duration
		err := p.Do(t.Context(), func(context.Context) error {
			at = append(at, time.Since(start))
			return errDown
		})
		// Delays 100, 200, 350 (capped), 350 ms.
		assert.Equal(t, []time.Duration{0, 100 * time.Millisecond, 300 * time.Millisecond, 650 * time.Millisecond, 1000 * time.Millisecond}, at)
		assert.ErrorIs(t, err, ErrRetriesExhausted)
		assert.ErrorIs(t, err, errDown)
		var pe *Error
		require.ErrorAs(t, err, &pe)
		assert.Equal(t, GeneRetry, pe.Gene)
		assert.Equal(t, 5, pe.Attempts)
		assert.Equal(t, "genome: retries exhausted after 5 attempts: connection refused", err.Error())
	})
}

func TestRetryStopsOnSuccessAndClassifiesErrors(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		retry := &Retry{MaxAttempts: 5, BaseDelay: 10 * time.Millisecond, MaxDelay: time.Second, Multiplier: 2}
		p := mustCompile(t, &Genome{Retry: retry})
		calls := 0
		require.NoError(t, p.Do(t.Context(), func(context.Context) error {
			if calls++; calls < 3 {
				return errDown
			}
			return nil
		}))
		assert.Equal(t, 3, calls)

		for name, e := range map[string]error{"permanent": Permanent(errDown), "canceled": context.Canceled} {
			calls = 0
			err := p.Do(t.Context(), func(context.Context) error { calls++; return e })
			assert.Equal(t, 1, calls, name+" is not retried")
			assert.ErrorIs(t, err, e)
		}
		assert.True(t, IsPermanent(Permanent(errDown)))
		assert.Nil(t, Permanent(nil))

		picky := mustCompile(t, &Genome{Retry: retry}, WithRetryIf(func(err error) bool { return !errors.Is(err, io.ErrUnexpectedEOF) }))
		calls = 0
		err := picky.Do(t.Context(), func(context.Context) error { calls++; return io.ErrUnexpectedEOF })
		assert.Equal(t, 1, calls, "WithRetryIf false is not retried")
		assert.ErrorIs(t, err, io.ErrUnexpectedEOF)
	})
}

func TestCallerCancellationDuringBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := mustCompile(t, &Genome{Retry: &Retry{MaxAttempts: 3, BaseDelay: time.Second, MaxDelay: time.Second, Multiplier: 1}})
		ctx, cancel := context.WithCancel(t.Context())
		time.AfterFunc(1500*time.Millisecond, cancel)
		calls := 0
		start := time.Now()
		err := p.Do(ctx, func(context.Context) error { calls++; return errDown })
		assert.Equal(t, 1500*time.Millisecond, time.Since(start))
		assert.Equal(t, 2, calls)
		assert.ErrorIs(t, err, context.Canceled)
		assert.ErrorIs(t, err, errDown)
	})
}

func TestBreakerTransitionsAtConfiguredDurations(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		p := mustCompile(t, &Genome{CircuitBreaker: &CircuitBreaker{Mode: BreakerConsecutive, Threshold: 3, FailureRate: 0.5, Window: 10, OpenDuration: time.Second, HalfOpenProbes: 2}}, WithObserver(rec))
		fail := func(context.Context) error { return errDown }
		ok := func(context.Context) error { return nil }
		ctx := t.Context()

		// Two failures, a success, two failures: never three in a row.
		for _, fn := range []func(context.Context) error{fail, fail, ok, fail, fail} {
			_ = p.Do(ctx, fn)
		}
		assert.Equal(t, Closed, p.BreakerState())
		assert.ErrorIs(t, p.Do(ctx, fail), errDown)
		assert.Equal(t, Open, p.BreakerState(), "third consecutive failure opens")

		calls := 0
		err := p.Do(ctx, func(context.Context) error { calls++; return nil })
		assert.ErrorIs(t, err, ErrCircuitOpen)
		assert.Zero(t, calls, "an open breaker does not call")

		time.Sleep(time.Second - time.Nanosecond)
		assert.ErrorIs(t, p.Do(ctx, ok), ErrCircuitOpen, "still open 1ns before OpenDuration")
		time.Sleep(time.Nanosecond)

		// Half-open: exactly two probes pass, a third concurrent call is rejected.
		release := make(chan struct{})
		var entered atomic.Int32
		var wg sync.WaitGroup
		for range 2 {
			wg.Go(func() {
				assert.NoError(t, p.Do(ctx, func(context.Context) error { entered.Add(1); <-release; return nil }))
			})
		}
		synctest.Wait()
		assert.Equal(t, HalfOpen, p.BreakerState())
		assert.Equal(t, int32(2), entered.Load())
		assert.ErrorIs(t, p.Do(ctx, ok), ErrCircuitOpen, "a third call while both probes are out")
		close(release)
		wg.Wait()
		assert.Equal(t, Closed, p.BreakerState(), "two successful probes close")

		// A failed probe re-opens for another full OpenDuration.
		for range 3 {
			_ = p.Do(ctx, fail)
		}
		require.Equal(t, Open, p.BreakerState())
		time.Sleep(time.Second)
		assert.ErrorIs(t, p.Do(ctx, fail), errDown)
		assert.Equal(t, Open, p.BreakerState())
		time.Sleep(time.Second - time.Nanosecond)
		assert.ErrorIs(t, p.Do(ctx, ok), ErrCircuitOpen)
		time.Sleep(time.Nanosecond)
		assert.NoError(t, p.Do(ctx, ok))
		assert.Equal(t, HalfOpen, p.BreakerState(), "one of two probes done")

		var trans []string
		for _, e := range rec.kinds(EventBreaker) {
			trans = append(trans, e.From.String()+">"+e.To.String())
		}
		assert.Equal(t, []string{"closed>open", "open>half-open", "half-open>closed", "closed>open", "open>half-open", "half-open>open", "open>half-open"}, trans)
	})
}

func TestBreakerRateMode(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := mustCompile(t, &Genome{CircuitBreaker: &CircuitBreaker{Mode: BreakerRate, Threshold: 1, FailureRate: 0.5, Window: 4, OpenDuration: time.Second, HalfOpenProbes: 1}})
		ctx := t.Context()
		fail := func(context.Context) error { return errDown }
		ok := func(context.Context) error { return nil }
		_ = p.Do(ctx, fail)
		_ = p.Do(ctx, fail)
		assert.Equal(t, Closed, p.BreakerState(), "the window is not full yet")
		_ = p.Do(ctx, ok)
		_ = p.Do(ctx, ok)
		assert.Equal(t, Closed, p.BreakerState(), "a success does not trip")
		_ = p.Do(ctx, ok) // window: fail ok ok ok
		_ = p.Do(ctx, fail)
		assert.Equal(t, Closed, p.BreakerState(), "window ok ok ok fail: 25%")
		_ = p.Do(ctx, fail)
		assert.Equal(t, Open, p.BreakerState(), "window ok ok fail fail: 50%")
	})
}

func TestBreakerIgnoresPermanentAndCanceled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := mustCompile(t, &Genome{CircuitBreaker: &CircuitBreaker{Threshold: 1, FailureRate: 1, Window: 1, OpenDuration: time.Second, HalfOpenProbes: 1}})
		_ = p.Do(t.Context(), func(context.Context) error { return Permanent(errDown) })
		_ = p.Do(t.Context(), func(context.Context) error { return context.Canceled })
		assert.Equal(t, Closed, p.BreakerState())
	})
}

func blockUntilDone(ctx context.Context) error {
	<-ctx.Done()
	return ctx.Err()
}

func TestTimeoutsFireExactly(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := mustCompile(t, &Genome{Timeout: &Timeout{PerAttempt: 200 * time.Millisecond}})
		start := time.Now()
		err := p.Do(t.Context(), blockUntilDone)
		assert.Equal(t, 200*time.Millisecond, time.Since(start))
		assert.ErrorIs(t, err, ErrTimeout)
		assert.ErrorIs(t, err, context.DeadlineExceeded)

		// Per-attempt 200ms, backoff 100ms, overall 450ms: attempt 1 times out at
		// 200ms, attempt 2 starts at 300ms and the overall deadline ends it at 450ms.
		p = mustCompile(t, &Genome{
			Timeout: &Timeout{PerAttempt: 200 * time.Millisecond, Overall: 450 * time.Millisecond},
			Retry:   &Retry{MaxAttempts: 5, BaseDelay: 100 * time.Millisecond, MaxDelay: time.Second, Multiplier: 1},
		})
		start = time.Now()
		var at []time.Duration
		err = p.Do(t.Context(), func(ctx context.Context) error {
			at = append(at, time.Since(start))
			return blockUntilDone(ctx)
		})
		assert.Equal(t, 450*time.Millisecond, time.Since(start))
		assert.Equal(t, []time.Duration{0, 300 * time.Millisecond}, at)
		var pe *Error
		require.ErrorAs(t, err, &pe)
		assert.Equal(t, GeneTimeout, pe.Gene)
		assert.Equal(t, 2, pe.Attempts)
		assert.ErrorIs(t, err, ErrTimeout)

		// A backoff that would outlast the overall deadline is cut at it:
		// attempt 1 times out at 200ms, the 100ms backoff ends at 250ms.
		p = mustCompile(t, &Genome{
			Timeout: &Timeout{PerAttempt: 200 * time.Millisecond, Overall: 250 * time.Millisecond},
			Retry:   &Retry{MaxAttempts: 5, BaseDelay: 100 * time.Millisecond, MaxDelay: time.Second, Multiplier: 1},
		})
		start, at = time.Now(), nil
		err = p.Do(t.Context(), func(ctx context.Context) error {
			at = append(at, time.Since(start))
			return blockUntilDone(ctx)
		})
		assert.Equal(t, 250*time.Millisecond, time.Since(start))
		assert.Equal(t, []time.Duration{0}, at)
		require.ErrorAs(t, err, &pe)
		assert.Equal(t, GeneTimeout, pe.Gene)
		assert.Equal(t, 1, pe.Attempts)

		// The caller's own cancellation is never reported as the timeout.
		ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
		defer cancel()
		err = p.Do(ctx, blockUntilDone)
		assert.ErrorIs(t, err, context.DeadlineExceeded)
		assert.NotErrorIs(t, err, ErrTimeout, "the caller's deadline came first")
	})
}

func TestRateLimitRejectsAsConfigured(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		p := mustCompile(t, &Genome{RateLimit: &RateLimit{Rate: 10, Burst: 3}}, WithObserver(rec))
		ok := func(context.Context) error { return nil }
		admitted := func(n int) int {
			k := 0
			for range n {
				if err := p.Do(t.Context(), ok); err == nil {
					k++
				} else {
					assert.ErrorIs(t, err, ErrRateLimited)
				}
			}
			return k
		}
		assert.Equal(t, 3, admitted(10), "the burst")
		time.Sleep(99 * time.Millisecond)
		assert.Equal(t, 0, admitted(1), "1ms short of a token")
		time.Sleep(time.Millisecond)
		assert.Equal(t, 1, admitted(5), "one token per 100ms")
		time.Sleep(time.Hour)
		assert.Equal(t, 3, admitted(10), "an idle bucket holds no more than the burst")
		time.Sleep(time.Second)
		assert.Equal(t, 3, admitted(10))
		assert.Len(t, rec.kinds(EventRejected), 7+1+4+7+7)
	})
}

func TestBulkheadRejectsAsConfigured(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := t.Context()
		for _, wait := range []time.Duration{0, 100 * time.Millisecond} {
			p := mustCompile(t, &Genome{Bulkhead: &Bulkhead{MaxConcurrent: 2, MaxWait: wait}})
			release := make(chan struct{})
			var wg sync.WaitGroup
			for range 2 {
				wg.Go(func() {
					assert.NoError(t, p.Do(ctx, func(context.Context) error { <-release; return nil }))
				})
			}
			synctest.Wait()
			start := time.Now()
			calls := 0
			err := p.Do(ctx, func(context.Context) error { calls++; return nil })
			assert.ErrorIs(t, err, ErrBulkheadFull)
			assert.Equal(t, wait, time.Since(start), "rejected after MaxWait")
			assert.Zero(t, calls)

			if wait > 0 {
				// A slot that frees within MaxWait is taken at that moment.
				time.AfterFunc(30*time.Millisecond, func() { release <- struct{}{} })
				start = time.Now()
				assert.NoError(t, p.Do(ctx, func(context.Context) error { calls++; return nil }))
				assert.Equal(t, 30*time.Millisecond, time.Since(start))
				assert.Equal(t, 1, calls)
			}
			close(release)
			wg.Wait()
		}
	})
}

func TestHedgeTakesTheFirstSuccess(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		p := mustCompile(t, &Genome{Hedge: &Hedge{Delay: 50 * time.Millisecond, MaxHedges: 2}}, WithObserver(rec))
		var calls atomic.Int32
		start := time.Now()
		v, err := Get(t.Context(), p, func(ctx context.Context) (string, error) {
			switch calls.Add(1) {
			case 1: // the primary hangs until a hedge wins
				return "", blockUntilDone(ctx)
			case 2: // the first hedge, at 50ms, takes 30ms
				time.Sleep(30 * time.Millisecond)
				return "hedge", nil
			}
			return "", errDown
		})
		require.NoError(t, err)
		assert.Equal(t, "hedge", v)
		assert.Equal(t, 80*time.Millisecond, time.Since(start))
		assert.Equal(t, int32(2), calls.Load(), "the second hedge was never needed")
		assert.Len(t, rec.kinds(EventHedge), 1)

		// A primary faster than the delay starts nothing.
		calls.Store(0)
		require.NoError(t, p.Do(t.Context(), func(context.Context) error {
			calls.Add(1)
			time.Sleep(49 * time.Millisecond)
			return nil
		}))
		assert.Equal(t, int32(1), calls.Load())

		// All attempts fail: the primary's error comes back after every hedge returned.
		calls.Store(0)
		err = p.Do(t.Context(), func(ctx context.Context) error {
			n := calls.Add(1)
			time.Sleep(200 * time.Millisecond)
			if n == 1 {
				return errDown
			}
			return io.EOF
		})
		assert.ErrorIs(t, err, errDown)
		assert.Equal(t, int32(3), calls.Load())
	})
}

func TestFallbackKinds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := t.Context()
		failInt := func(context.Context) (int, error) { return 0, errDown }

		static := mustCompile(t, &Genome{Fallback: &Fallback{Kind: FallbackStatic, Value: []byte(`42`)}})
		v, err := Get(ctx, static, failInt)
		assert.NoError(t, err)
		assert.Equal(t, 42, v)
		assert.NoError(t, static.Do(ctx, func(context.Context) error { return errDown }))
		_, err = Get(ctx, static, func(context.Context) (string, error) { return "", errDown })
		assert.ErrorContains(t, err, "fallback.value does not decode into string")
		assert.ErrorIs(t, err, errDown)

		cached := mustCompile(t, &Genome{Fallback: &Fallback{Kind: FallbackCached}})
		_, err = Get(ctx, cached, failInt)
		assert.ErrorIs(t, err, errDown, "nothing cached yet")
		_, err = Get(ctx, cached, func(context.Context) (int, error) { return 7, nil })
		require.NoError(t, err)
		v, err = Get(ctx, cached, failInt)
		assert.NoError(t, err)
		assert.Equal(t, 7, v)
		assert.ErrorIs(t, cached.Do(ctx, func(context.Context) error { return errDown }), errDown, "Do has not succeeded yet")
		require.NoError(t, cached.Do(ctx, func(context.Context) error { return nil }))
		assert.NoError(t, cached.Do(ctx, func(context.Context) error { return errDown }))

		degrade := mustCompile(t, &Genome{Fallback: &Fallback{Kind: FallbackError, ErrorClass: "unavailable"}, RateLimit: &RateLimit{Rate: 1, Burst: 1}})
		require.NoError(t, degrade.Do(ctx, func(context.Context) error { return nil }))
		err = degrade.Do(ctx, func(context.Context) error { return nil })
		assert.ErrorIs(t, err, ErrDegraded)
		assert.ErrorIs(t, err, ErrRateLimited, "the cause stays visible")
		var de *DegradedError
		require.ErrorAs(t, err, &de)
		assert.Equal(t, "unavailable", de.Class)
		assert.Equal(t, "genome: degraded (unavailable): genome: rate limited", err.Error())

		// The caller's own cancellation is never masked.
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		err = static.Do(cctx, func(ctx context.Context) error { return ctx.Err() })
		assert.ErrorIs(t, err, context.Canceled)
	})
}

func TestObserverSeesAttemptsAndRetries(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		p := mustCompile(t, &Genome{Retry: &Retry{MaxAttempts: 3, BaseDelay: 10 * time.Millisecond, MaxDelay: time.Second, Multiplier: 3}}, WithObserver(rec))
		_ = p.Do(t.Context(), func(context.Context) error { return errDown })
		assert.Len(t, rec.kinds(EventAttempt), 3)
		retries := rec.kinds(EventRetry)
		require.Len(t, retries, 2)
		assert.Equal(t, 10*time.Millisecond, retries[0].Delay)
		assert.Equal(t, 30*time.Millisecond, retries[1].Delay)
		assert.Equal(t, "retry", retries[0].Kind.String())
		assert.ErrorIs(t, retries[1].Err, errDown)
	})
}

func TestProbePanicIsCountedAsFailure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := mustCompile(t, &Genome{CircuitBreaker: &CircuitBreaker{Threshold: 1, FailureRate: 1, Window: 1, OpenDuration: time.Second, HalfOpenProbes: 1}})
		_ = p.Do(t.Context(), func(context.Context) error { return errDown })
		time.Sleep(time.Second)
		assert.Panics(t, func() { _ = p.Do(t.Context(), func(context.Context) error { panic("boom") }) })
		assert.Equal(t, Open, p.BreakerState(), "a panicking probe re-opens rather than wedging half-open")
	})
}

func TestPolicySuccessPathAllocatesNothing(t *testing.T) {
	g := &Genome{
		RateLimit:      &RateLimit{Rate: 1e9, Burst: 1000},
		Bulkhead:       &Bulkhead{MaxConcurrent: 10},
		Retry:          &Retry{MaxAttempts: 3, BaseDelay: time.Millisecond, MaxDelay: time.Second, Multiplier: 2, Jitter: 0.5, Budget: 0.1},
		CircuitBreaker: &CircuitBreaker{Threshold: 5, FailureRate: 0.5, Window: 10, OpenDuration: time.Second, HalfOpenProbes: 1},
		Fallback:       &Fallback{Kind: FallbackCached},
	}
	p := mustCompile(t, g)
	ctx := context.Background()
	fn := func(context.Context) error { return nil }
	allocs := testing.AllocsPerRun(1000, func() {
		if err := p.Do(ctx, fn); err != nil {
			t.Fatal(err)
		}
	})
	assert.Zero(t, allocs)
}

// A failure marked with RetryAfter is retried no sooner than it asks, and
// not at all when it asks for more than the genome's MaxDelay.
func TestRetryAfterIsHonoured(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p, err := Compile(&Genome{Module: "m", Retry: &Retry{MaxAttempts: 3, BaseDelay: time.Millisecond, MaxDelay: 2 * time.Second, Multiplier: 2}})
		if err != nil {
			t.Fatal(err)
		}
		busy := errors.New("503")
		var at []time.Duration
		start := time.Now()
		err = p.Do(t.Context(), func(context.Context) error {
			at = append(at, time.Since(start))
			if len(at) < 3 {
				return RetryAfter(busy, time.Second)
			}
			return nil
		})
		if err != nil || len(at) != 3 || at[1] != time.Second || at[2] != 2*time.Second {
			t.Fatalf("attempts at %v, err %v: want 0s, 1s, 2s (the backoff of 1ms and 2ms is raised to the second asked for)", at, err)
		}

		calls := 0
		err = p.Do(t.Context(), func(context.Context) error { calls++; return RetryAfter(busy, time.Minute) })
		if calls != 1 || !errors.Is(err, ErrRetriesExhausted) || !errors.Is(err, busy) {
			t.Fatalf("a minute's wait, beyond MaxDelay 2s: %d calls, %v; want one call and retries exhausted", calls, err)
		}
		// A wait past the caller's deadline: not retried, at once.
		ctx, cancel := context.WithTimeout(t.Context(), time.Second) // MaxDelay is 2s
		defer cancel()
		calls, began := 0, time.Now()
		err = p.Do(ctx, func(context.Context) error { calls++; return RetryAfter(busy, 1500*time.Millisecond) })
		if calls != 1 || !errors.Is(err, ErrRetriesExhausted) || time.Since(began) != 0 {
			t.Fatalf("a wait beyond the caller's deadline: %d calls, %v after %v; want one call, at once", calls, err, time.Since(began))
		}
		if RetryAfter(nil, time.Second) != nil {
			t.Fatal("RetryAfter(nil) is not nil")
		}
	})
}

// A failure marked NoRetry is not repeated, and the breaker counts it.
func TestNoRetryStopsTheRetryNotTheBreaker(t *testing.T) {
	p, err := Compile(&Genome{Module: "m",
		Retry:          &Retry{MaxAttempts: 3, BaseDelay: time.Millisecond, MaxDelay: time.Millisecond, Multiplier: 1},
		CircuitBreaker: &CircuitBreaker{Mode: BreakerConsecutive, Threshold: 2, OpenDuration: time.Minute, HalfOpenProbes: 1, FailureRate: 0.5, Window: 10}})
	if err != nil {
		t.Fatal(err)
	}
	calls := 0
	for range 2 {
		err = p.Do(t.Context(), func(context.Context) error { calls++; return NoRetry(errDown) })
		if !errors.Is(err, errDown) {
			t.Fatalf("the cause is kept: %v", err)
		}
	}
	if calls != 2 {
		t.Fatalf("%d calls for two requests: a NoRetry failure was repeated", calls)
	}
	if p.BreakerState() != Open {
		t.Fatal("two NoRetry failures did not open the breaker: they must count against the dependency")
	}
	if NoRetry(nil) != nil {
		t.Fatal("NoRetry(nil) is not nil")
	}
}

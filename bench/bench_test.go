package bench

import (
	"context"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cenkalti/backoff/v4"
	"github.com/failsafe-go/failsafe-go"
	"github.com/failsafe-go/failsafe-go/bulkhead"
	"github.com/failsafe-go/failsafe-go/circuitbreaker"
	"github.com/failsafe-go/failsafe-go/ratelimiter"
	"github.com/failsafe-go/failsafe-go/retrypolicy"
	"github.com/failsafe-go/failsafe-go/timeout"
	"github.com/rafaelabs/rafael/genome"
	"github.com/sony/gobreaker/v2"
)

// The compositions, by sub-benchmark name.
const (
	retry          = "retry"
	retryBreaker   = "retry+breaker"
	retryBrRlBh    = "retry+breaker+ratelimit+bulkhead"
	retryBrTimeout = "retry+breaker+timeout"
)

// work is the call every library wraps: it succeeds at once. The adapters
// below fit it to each library's signature without capturing anything. It
// is not inlined, so that the direct floor is a real call.
//
//go:noinline
func work(context.Context) error { return nil }

// workNoCtx is work for libraries whose functions take no context.
func workNoCtx() error { return work(context.Background()) }

// workExec is work for failsafe-go's RunWithExecution: it passes on the
// execution's context, which carries failsafe-go's timeout.
func workExec(exec failsafe.Execution[any]) error { return work(exec.Context()) }

// workBreaker is work for gobreaker's Execute.
func workBreaker() (struct{}, error) { return struct{}{}, work(context.Background()) }

// Equivalent parameters for every library.
const (
	maxAttempts      = 3
	baseDelay        = time.Millisecond
	maxDelay         = time.Second
	multiplier       = 2
	jitter           = 0.2
	breakerThreshold = 5
	openDuration     = time.Second
	halfOpenProbes   = 1
	maxConcurrent    = 100
	perAttempt       = time.Second
)

func rafaelPolicy(b *testing.B, g *genome.Genome) *genome.Policy {
	b.Helper()
	p, err := genome.Compile(g)
	if err != nil {
		b.Fatal(err)
	}
	return p
}

func rafaelGenes() (*genome.Retry, *genome.CircuitBreaker) {
	return &genome.Retry{MaxAttempts: maxAttempts, BaseDelay: baseDelay, MaxDelay: maxDelay, Multiplier: multiplier, Jitter: jitter},
		&genome.CircuitBreaker{Mode: genome.BreakerConsecutive, Threshold: breakerThreshold, FailureRate: 0.5, Window: 20,
			OpenDuration: openDuration, HalfOpenProbes: halfOpenProbes}
}

func benchRafael(b *testing.B, g *genome.Genome) {
	p := rafaelPolicy(b, g)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if err := p.Do(ctx, work); err != nil {
			b.Fatal(err)
		}
	}
}

func failsafeRetry() retrypolicy.RetryPolicy[any] {
	return retrypolicy.NewBuilder[any]().
		WithMaxAttempts(maxAttempts).
		WithBackoffFactor(baseDelay, maxDelay, multiplier).
		WithJitterFactor(jitter).
		Build()
}

func failsafeBreaker() circuitbreaker.CircuitBreaker[any] {
	return circuitbreaker.NewBuilder[any]().
		WithFailureThreshold(breakerThreshold).
		WithDelay(openDuration).
		WithSuccessThreshold(halfOpenProbes).
		Build()
}

// failsafeRateLimiter admits 1e9 calls per one-second period: a bursty
// limiter that cannot run out within a benchmark (a smooth one with a 1ns
// interval and no wait would reject two calls that read the same clock).
func failsafeRateLimiter() ratelimiter.RateLimiter[any] {
	return ratelimiter.NewBursty[any](1e9, time.Second)
}

func benchFailsafe(b *testing.B, ex failsafe.Executor[any]) {
	b.ReportAllocs()
	for b.Loop() {
		if err := ex.Run(workNoCtx); err != nil {
			b.Fatal(err)
		}
	}
}

// benchFailsafeExec passes the execution to the function, as a timeout
// needs: failsafe-go's timeout cancels the execution's context and waits
// for the function to return.
func benchFailsafeExec(b *testing.B, ex failsafe.Executor[any]) {
	b.ReportAllocs()
	for b.Loop() {
		if err := ex.RunWithExecution(workExec); err != nil {
			b.Fatal(err)
		}
	}
}

func gobreakerBreaker() *gobreaker.CircuitBreaker[struct{}] {
	return gobreaker.NewCircuitBreaker[struct{}](gobreaker.Settings{
		Name:        "bench",
		MaxRequests: halfOpenProbes,
		Timeout:     openDuration,
		ReadyToTrip: func(c gobreaker.Counts) bool { return c.ConsecutiveFailures >= breakerThreshold },
	})
}

// gobreakerRetry is the retry loop gobreaker leaves to its callers:
// maxAttempts attempts through the breaker with exponential backoff.
func gobreakerRetry(cb *gobreaker.CircuitBreaker[struct{}]) error {
	var err error
	delay := baseDelay
	for attempt := 0; attempt < maxAttempts; attempt++ {
		if attempt > 0 {
			time.Sleep(delay)
			delay = min(delay*multiplier, maxDelay)
		}
		if _, err = cb.Execute(workBreaker); err == nil {
			return nil
		}
	}
	return err
}

// backoffPolicy builds the backoff for one call: a BackOff is stateful
// (Retry resets it), so concurrent callers cannot share one.
func backoffPolicy() backoff.BackOff {
	return backoff.WithMaxRetries(backoff.NewExponentialBackOff(
		backoff.WithInitialInterval(baseDelay),
		backoff.WithMaxInterval(maxDelay),
		backoff.WithMultiplier(multiplier),
		backoff.WithRandomizationFactor(jitter),
		backoff.WithMaxElapsedTime(0),
	), maxAttempts-1)
}

func benchDirect(b *testing.B) {
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if err := work(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSuccessPath measures one successful call through each library's
// composition of the same policies.
func BenchmarkSuccessPath(b *testing.B) {
	b.Run("rafael/"+retry, func(b *testing.B) {
		r, _ := rafaelGenes()
		benchRafael(b, &genome.Genome{Retry: r})
	})
	b.Run("rafael/"+retryBreaker, func(b *testing.B) {
		r, cb := rafaelGenes()
		benchRafael(b, &genome.Genome{Retry: r, CircuitBreaker: cb})
	})
	b.Run("rafael/"+retryBrRlBh, func(b *testing.B) {
		r, cb := rafaelGenes()
		benchRafael(b, &genome.Genome{Retry: r, CircuitBreaker: cb,
			RateLimit: &genome.RateLimit{Rate: 1e9, Burst: 1000},
			Bulkhead:  &genome.Bulkhead{MaxConcurrent: maxConcurrent}})
	})
	b.Run("rafael/"+retryBrTimeout, func(b *testing.B) {
		r, cb := rafaelGenes()
		benchRafael(b, &genome.Genome{Retry: r, CircuitBreaker: cb,
			Timeout: &genome.Timeout{PerAttempt: perAttempt}})
	})

	b.Run("failsafe/"+retry, func(b *testing.B) {
		benchFailsafe(b, failsafe.With(failsafeRetry()))
	})
	b.Run("failsafe/"+retryBreaker, func(b *testing.B) {
		benchFailsafe(b, failsafe.With(failsafeRetry(), failsafeBreaker()))
	})
	b.Run("failsafe/"+retryBrRlBh, func(b *testing.B) {
		// Outermost first, in rafael's order.
		benchFailsafe(b, failsafe.With(failsafeRateLimiter(), bulkhead.New[any](maxConcurrent),
			failsafeRetry(), failsafeBreaker()))
	})
	b.Run("failsafe/"+retryBrTimeout, func(b *testing.B) {
		benchFailsafeExec(b, failsafe.With(failsafeRetry(), failsafeBreaker(), timeout.New[any](perAttempt)))
	})

	b.Run("gobreaker/"+retryBreaker, func(b *testing.B) {
		cb := gobreakerBreaker()
		b.ReportAllocs()
		for b.Loop() {
			if err := gobreakerRetry(cb); err != nil {
				b.Fatal(err)
			}
		}
	})

	b.Run("backoff/"+retry, func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := backoff.Retry(workNoCtx, backoffPolicy()); err != nil {
				b.Fatal(err)
			}
		}
	})

	b.Run("rafael-live/"+retryBrRlBh, func(b *testing.B) {
		// The same genome through genome.Live, which reloads it from its
		// file: one atomic load more.
		r, cb := rafaelGenes()
		g := &genome.Genome{Module: "bench", Retry: r, CircuitBreaker: cb,
			RateLimit: &genome.RateLimit{Rate: 1e9, Burst: 1000},
			Bulkhead:  &genome.Bulkhead{MaxConcurrent: maxConcurrent}}
		data, err := g.MarshalJSON()
		if err != nil {
			b.Fatal(err)
		}
		path := filepath.Join(b.TempDir(), "bench.genome.json")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			b.Fatal(err)
		}
		l, err := genome.NewLive(path)
		if err != nil {
			b.Fatal(err)
		}
		ctx := context.Background()
		b.ReportAllocs()
		for b.Loop() {
			if err := l.Do(ctx, work); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("handwritten/"+retryBrRlBh, func(b *testing.B) {
		h := newHandwritten(1e9, 1000)
		ctx := context.Background()
		b.ReportAllocs()
		for b.Loop() {
			if err := h.do(ctx, work); err != nil {
				b.Fatal(err)
			}
		}
	})

	b.Run("direct/"+retry, benchDirect)
	b.Run("direct/"+retryBreaker, benchDirect)
	b.Run("direct/"+retryBrRlBh, benchDirect)
	b.Run("direct/"+retryBrTimeout, func(b *testing.B) {
		ctx := context.Background()
		b.ReportAllocs()
		for b.Loop() {
			ctx, cancel := context.WithTimeout(ctx, perAttempt)
			err := work(ctx)
			cancel()
			if err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkCapturingClosure repeats retry+breaker with a function that
// captures a local variable, as most real call sites do. rafael's Do lets
// its function escape (a hedge may run it on another goroutine), so such a
// closure is allocated once per call.
func BenchmarkCapturingClosure(b *testing.B) {
	b.Run("rafael/"+retryBreaker, func(b *testing.B) {
		r, cb := rafaelGenes()
		p := rafaelPolicy(b, &genome.Genome{Retry: r, CircuitBreaker: cb})
		ctx := context.Background()
		n := 0
		b.ReportAllocs()
		for b.Loop() {
			if err := p.Do(ctx, func(context.Context) error { n++; return nil }); err != nil {
				b.Fatal(err)
			}
		}
		if n == 0 {
			b.Fatal("the function never ran")
		}
	})
	b.Run("failsafe/"+retryBreaker, func(b *testing.B) {
		ex := failsafe.With(failsafeRetry(), failsafeBreaker())
		n := 0
		b.ReportAllocs()
		for b.Loop() {
			if err := ex.Run(func() error { n++; return nil }); err != nil {
				b.Fatal(err)
			}
		}
		if n == 0 {
			b.Fatal("the function never ran")
		}
	})
}

// BenchmarkBothTimeouts is the production path of a genome with both
// timeout genes (per attempt and overall) beside its floor, one
// context.WithTimeout and the call: the policy makes one context per
// attempt, its deadline the nearer of the two.
func BenchmarkBothTimeouts(b *testing.B) {
	b.Run("rafael/timeout(perAttempt+overall)", func(b *testing.B) {
		benchRafael(b, &genome.Genome{Timeout: &genome.Timeout{PerAttempt: perAttempt, Overall: 4 * perAttempt}})
	})
	b.Run("rafael/retry+timeout(perAttempt+overall)", func(b *testing.B) {
		r, _ := rafaelGenes()
		benchRafael(b, &genome.Genome{Retry: r, Timeout: &genome.Timeout{PerAttempt: perAttempt, Overall: 4 * perAttempt}})
	})
	b.Run("direct/WithTimeout+call", func(b *testing.B) {
		ctx := context.Background()
		b.ReportAllocs()
		for b.Loop() {
			ctx, cancel := context.WithTimeout(ctx, perAttempt)
			err := work(ctx)
			cancel()
			if err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkLiveSwap calls a genome.Live from every core while another
// goroutine rewrites its genome file and reloads it as fast as it can
// (changing only the retry, so the breaker, rate limiter and bulkhead carry
// over). A call that fails fails the benchmark; calls/s and swaps/s are the
// figures to read.
func BenchmarkLiveSwap(b *testing.B) {
	r, cb := rafaelGenes()
	g := &genome.Genome{Module: "bench", Retry: r, CircuitBreaker: cb,
		RateLimit: &genome.RateLimit{Rate: 1e9, Burst: 1000},
		Bulkhead:  &genome.Bulkhead{MaxConcurrent: maxConcurrent}}
	path := filepath.Join(b.TempDir(), "bench.genome.json")
	write := func(attempts int) {
		g.Retry.MaxAttempts = attempts
		data, err := g.MarshalJSON()
		if err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(path+".tmp", data, 0o644); err != nil {
			b.Fatal(err)
		}
		if err := os.Rename(path+".tmp", path); err != nil {
			b.Fatal(err)
		}
	}
	write(3)
	l, err := genome.NewLive(path)
	if err != nil {
		b.Fatal(err)
	}
	done := make(chan struct{})
	swapped := make(chan int)
	go func() {
		n := 0
		for i := 0; ; i++ {
			select {
			case <-done:
				swapped <- n
				return
			default:
			}
			write(3 + i%2)
			if ok, err := l.Reload(); err != nil {
				panic(err)
			} else if ok {
				n++
			}
		}
	}()
	var failed atomic.Int64
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := l.Do(ctx, work); err != nil {
				failed.Add(1)
			}
		}
	})
	close(done)
	swaps := <-swapped
	if failed.Load() > 0 {
		b.Fatalf("%d calls failed during %d swaps", failed.Load(), swaps)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "calls/s")
	b.ReportMetric(float64(swaps)/b.Elapsed().Seconds(), "swaps/s")
}

package genome

import (
	"context"
	"testing"
	"time"
)

func benchPolicy(b *testing.B, g *Genome) {
	p, err := Compile(g)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	n := 0
	fn := func(context.Context) error { n++; return nil }
	b.ReportAllocs()
	for b.Loop() {
		if err := p.Do(ctx, fn); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDo(b *testing.B) {
	retry := &Retry{MaxAttempts: 3, BaseDelay: time.Millisecond, MaxDelay: time.Second, Multiplier: 2, Jitter: 0.2}
	cb := &CircuitBreaker{Threshold: 5, FailureRate: 0.5, Window: 20, OpenDuration: time.Second, HalfOpenProbes: 1}
	b.Run("empty", func(b *testing.B) { benchPolicy(b, &Genome{}) })
	b.Run("retry", func(b *testing.B) { benchPolicy(b, &Genome{Retry: retry}) })
	b.Run("retry+breaker", func(b *testing.B) { benchPolicy(b, &Genome{Retry: retry, CircuitBreaker: cb}) })
	b.Run("retry+breaker+ratelimit+bulkhead", func(b *testing.B) {
		benchPolicy(b, &Genome{Retry: retry, CircuitBreaker: cb, RateLimit: &RateLimit{Rate: 1e9, Burst: 1000}, Bulkhead: &Bulkhead{MaxConcurrent: 100}})
	})
	b.Run("retry+breaker+timeout", func(b *testing.B) {
		benchPolicy(b, &Genome{Retry: retry, CircuitBreaker: cb, Timeout: &Timeout{PerAttempt: time.Second}})
	})
	b.Run("withTimeout", func(b *testing.B) {
		ctx := context.Background()
		fn := func(context.Context) error { return nil }
		b.ReportAllocs()
		for b.Loop() {
			c, cancel := context.WithTimeout(ctx, time.Second)
			_ = fn(c)
			cancel()
		}
	})
}

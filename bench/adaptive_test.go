package bench

import (
	"testing"

	"github.com/failsafe-go/failsafe-go"
	"github.com/failsafe-go/failsafe-go/adaptivelimiter"
	"github.com/failsafe-go/failsafe-go/budget"
	"github.com/failsafe-go/failsafe-go/retrypolicy"
	"github.com/rafaelabs/rafael/genome"
)

// retryBudget is the share of calls that may be retries in both libraries.
const retryBudget = 0.2

// BenchmarkAdaptive is the success path of the adaptive genes beside
// failsafe-go's equivalents, in one run: a retry with a budget shared
// across calls, and an adaptive concurrency limit (rafael's three
// algorithms; failsafe-go has one, its own blend of Vegas and a gradient).
func BenchmarkAdaptive(b *testing.B) {
	for _, alg := range []genome.LimitAlgorithm{genome.LimitAIMD, genome.LimitVegas, genome.LimitGradient2} {
		b.Run("rafael/limit-"+alg.String(), func(b *testing.B) {
			benchRafael(b, &genome.Genome{Bulkhead: &genome.Bulkhead{MaxConcurrent: maxConcurrent, Limit: alg, MinConcurrent: 1, Tolerance: 2}})
		})
	}
	b.Run("failsafe/limit-adaptive", func(b *testing.B) {
		benchFailsafe(b, failsafe.With(adaptivelimiter.NewBuilder[any]().WithLimits(1, maxConcurrent, maxConcurrent).Build()))
	})
	b.Run("rafael/retry+budget", func(b *testing.B) {
		r, _ := rafaelGenes()
		r.Budget = retryBudget
		benchRafael(b, &genome.Genome{Retry: r})
	})
	b.Run("failsafe/retry+budget", func(b *testing.B) {
		rp := retrypolicy.NewBuilder[any]().
			WithMaxAttempts(maxAttempts).
			WithBackoffFactor(baseDelay, maxDelay, multiplier).
			WithJitterFactor(jitter).
			WithBudget(budget.NewBuilder().WithMaxRate(retryBudget).Build()).
			Build()
		benchFailsafe(b, failsafe.With(rp))
	})
}

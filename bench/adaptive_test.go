package bench

import (
	"testing"

	"github.com/failsafe-go/failsafe-go"
	"github.com/failsafe-go/failsafe-go/budget"
	"github.com/failsafe-go/failsafe-go/retrypolicy"
	"github.com/rafaelabs/rafael/genome"
)

// retryBudget is the share of calls that may be retries in both libraries.
const retryBudget = 0.2

// BenchmarkAdaptive is the success path of the adaptive genes beside
// failsafe-go's equivalents, in one run: a retry with a budget shared
// across calls.
func BenchmarkAdaptive(b *testing.B) {
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

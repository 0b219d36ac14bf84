package genome

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"
)

func budgeted(budget float64) *Genome {
	return &Genome{Module: "m", Retry: &Retry{MaxAttempts: 5, BaseDelay: time.Millisecond, MaxDelay: time.Millisecond, Multiplier: 1, Budget: budget}}
}

// Under a sustained outage a budget of 10 % lets the first burst of
// failures retry in full, then holds the retries to a tenth of the calls;
// once calls succeed again it fills up and failures are retried in full.
func TestRetryBudgetAdaptsToOverloadAndRecovery(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := mustCompile(t, budgeted(0.1))
		var calls atomic.Int64
		down := func(context.Context) error { calls.Add(1); return errDown }
		var budgetErrs int
		for range 200 {
			err := p.Do(t.Context(), down)
			if errors.Is(err, ErrRetryBudget) {
				budgetErrs++
				var e *Error
				require.ErrorAs(t, err, &e)
				assert.Equal(t, GeneRetry, e.Gene)
				require.ErrorIs(t, err, errDown, "the last failure is the cause")
			}
			time.Sleep(10 * time.Millisecond)
		}
		// 200 first attempts, the 10 retries it started with, and one for
		// every ten calls: not the 4 × 200 a static retry would add.
		assert.InDelta(t, 200+RetryBudgetBurst+20, calls.Load(), 2)
		assert.Greater(t, budgetErrs, 150, "most calls stopped on the budget")

		// Recovery: 100 successes fill the budget again.
		for range 100 {
			require.NoError(t, p.Do(t.Context(), func(context.Context) error { return nil }))
		}
		calls.Store(0)
		err := p.Do(t.Context(), down)
		require.ErrorIs(t, err, ErrRetriesExhausted, "a full budget retries a failure to the end")
		assert.Equal(t, int64(5), calls.Load())
	})
}

func TestRetryBudgetOffIsAStaticRetry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := mustCompile(t, budgeted(0))
		var calls atomic.Int64
		for range 50 {
			_ = p.Do(t.Context(), func(context.Context) error { calls.Add(1); return errDown })
		}
		assert.Equal(t, int64(250), calls.Load())
	})
}

// Whatever the calls and their outcomes, the retries a budget lets through
// never exceed its burst plus its share of the calls, and it never refuses
// a retry while it holds one.
func TestPropRetryBudgetBounds(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		budget := rapid.Float64Range(0.01, 1).Draw(t, "budget")
		g := budgeted(budget)
		g.Normalize()
		p, err := Compile(g)
		if err != nil {
			t.Fatal(err)
		}
		outcomes := rapid.SliceOfN(rapid.IntRange(0, 4), 1, 300).Draw(t, "failures before success")
		var calls, retries int
		for _, fails := range outcomes {
			calls++
			n := 0
			before := p.rt.tokens.Load()
			err := p.Do(context.Background(), func(context.Context) error {
				n++
				if n <= fails {
					return errDown
				}
				return nil
			})
			retries += n - 1
			if v := p.rt.tokens.Load(); v < 0 || v > budgetFull {
				t.Fatalf("the budget holds %d thousandths, outside 0–%d", v, budgetFull)
			}
			if left := min(budgetFull, before+p.rt.per) - int64(n-1)*1000; errors.Is(err, ErrRetryBudget) && left >= 1000 {
				t.Fatalf("refused a retry with %d thousandths left", left)
			}
		}
		if limit := float64(RetryBudgetBurst) + budget*float64(calls) + 1e-9; float64(retries) > limit {
			t.Fatalf("%d retries in %d calls: more than the burst %d + %.2f × calls = %.1f", retries, calls, RetryBudgetBurst, budget, limit)
		}
	})
}

func TestRetryBudgetJSONKeepsOldDigests(t *testing.T) {
	g := budgeted(0)
	old := g.Digest()
	b, err := g.MarshalJSON()
	require.NoError(t, err)
	assert.NotContains(t, string(b), "budget", "a genome without a budget is written as before it existed")
	g.Retry.Budget = 0.2
	assert.NotEqual(t, old, g.Digest())
	b, err = g.MarshalJSON()
	require.NoError(t, err)
	var back Genome
	require.NoError(t, back.UnmarshalJSON(b))
	assert.Equal(t, 0.2, back.Retry.Budget)

	one := &Genome{Module: "m", Retry: &Retry{MaxAttempts: 1, BaseDelay: time.Millisecond, MaxDelay: time.Millisecond, Multiplier: 1, Budget: 0.5}}
	assert.Contains(t, one.Incoherent(), "retry.budget never acts: with retry.maxAttempts 1 there is no retry to budget")
	one.Normalize()
	assert.Zero(t, one.Retry.Budget)
}

package evolve

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/rafaelabs/rafael/faults"
	"github.com/rafaelabs/rafael/genome"
	"github.com/rafaelabs/rafael/scenarios"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A judge that needs a concurrency limit and rewards an adaptive one
// (when adaptive is set), and is indifferent to a retry budget: the
// champion keeps its adaptive limit, says what the static form would
// cost, and has its budget made static.
func TestEvolveSaysWhichFormWon(t *testing.T) {
	db := faults.NewHook("db", 1)
	judge := func(adaptive bool) Judge {
		return func(_ context.Context, g *genome.Genome, cases []Case) ([]Outcome, error) {
			out := make([]Outcome, len(cases))
			for i := range cases {
				ok := g.Bulkhead != nil && (!adaptive || g.Bulkhead.Limit != genome.LimitStatic)
				out[i] = Outcome{Passed: ok, Fitness: 0.3}
				if ok {
					out[i].Fitness = 0.9
				} else {
					out[i].Shortfall = 1
				}
			}
			return out, nil
		}
	}
	start := &genome.Genome{Module: "orders",
		Retry:    &genome.Retry{MaxAttempts: 3, BaseDelay: 10 * time.Millisecond, MaxDelay: 10 * time.Millisecond, Multiplier: 1, Budget: 0.2},
		Bulkhead: &genome.Bulkhead{MaxConcurrent: 16, Limit: genome.LimitVegas, MinConcurrent: 2, Tolerance: 2}}
	c := Campaign{Start: start, Threats: []scenarios.Threat{scenarios.DBOutage(db, 2*time.Second)}, Seed: 7, Judge: judge(true)}
	ev, err := Evolve(context.Background(), c, Options{Generations: 2, Population: 4, GeneRate: 0.0001})
	require.NoError(t, err)
	require.NotNil(t, ev.Champion.Bulkhead)
	assert.Equal(t, genome.LimitVegas, ev.Champion.Bulkhead.Limit, "the adaptive limit won")
	var said []string
	for _, c := range ev.Costs {
		said = append(said, c.String(ev.Faced))
	}
	assert.Contains(t, said, "static bulkhead instead of limit vegas (\"without\"): db-outage: meets the SLO in 2 of 2 trials (0 without), fitness 0.90 (0.30 without)")
	if ev.Champion.Retry != nil {
		assert.Zero(t, ev.Champion.Retry.Budget, "the budget gained nothing: %v, %v", ev.Static, ev.Rounded)
	}

	c.Judge = judge(false) // any bulkhead will do: the static one is simpler
	ev, err = Evolve(context.Background(), c, Options{Generations: 2, Population: 4, GeneRate: 0.0001})
	require.NoError(t, err)
	require.NotNil(t, ev.Champion.Bulkhead)
	assert.Equal(t, genome.LimitStatic, ev.Champion.Bulkhead.Limit)
	assert.Contains(t, strings.Join(ev.Static, ", "), "bulkhead (limit vegas)")
}

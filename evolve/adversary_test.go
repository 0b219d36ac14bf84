package evolve_test

import (
	"context"
	"testing"
	"time"

	"github.com/rafaelabs/rafael/evolve"
	"github.com/rafaelabs/rafael/faults"
	"github.com/rafaelabs/rafael/genome"
	"github.com/rafaelabs/rafael/internal/sim"
	"github.com/rafaelabs/rafael/internal/trial"
	"github.com/rafaelabs/rafael/scenarios"
	"github.com/rafaelabs/rafael/slo"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// quotes is a service whose calls take 2ms, held to a p99 of 100ms with
// nine in ten calls succeeding, judged on real simulated trials (as
// harness.Run judges them: the SLO with its margin).
type quotes struct {
	t   *testing.T
	db  *faults.Hook
	cfg trial.Config
	slo slo.SLO
}

func newQuotes(t *testing.T) *quotes {
	db := faults.NewHook("db", 1)
	return &quotes{t: t, db: db, cfg: trial.Config{Workload: sim.Through(sim.Store(db)), Requests: 1000},
		slo: slo.SLO{SuccessRate: 0.9, P99: 100 * time.Millisecond}}
}

func (q *quotes) judge(_ context.Context, g *genome.Genome, cases []evolve.Case) ([]evolve.Outcome, error) {
	out := make([]evolve.Outcome, len(cases))
	for i, c := range cases {
		res := trial.InBubble(q.t, q.cfg, c.Threat.Threat, g, c.Seed)
		_, short, met := res.Outcome(q.slo.WithMargin())
		out[i] = evolve.Outcome{Passed: met, Fitness: res.Metrics.Fitness, Shortfall: short}
	}
	return out, nil
}

// The declared threat is a 2s latency for 300ms: a 300ms timeout
// turns its calls into a few failures and keeps the p99 of the rest low,
// so the starting genome survives it. The adversary searches below it —
// slow is worse than down — and finds a latency under the timeout: the
// calls wait it out, and the p99 breaks. The next round lowers the
// timeout, and the final champion holds against what the adversary found.
func TestAdversarialRoundsFindWhatBreaksTheFirstChampion(t *testing.T) {
	q := newQuotes(t)
	declared := scenarios.Latency(q.db, 2*time.Second, scenarios.InjectFor(300*time.Millisecond), scenarios.RecoverFor(6500*time.Millisecond))
	start := &genome.Genome{Module: "quotes", Timeout: &genome.Timeout{PerAttempt: 300 * time.Millisecond}}
	c := evolve.Campaign{Start: start, Threats: []scenarios.Threat{declared}, Seed: 3, Judge: q.judge}
	o := evolve.Options{Generations: 12, Population: 12, Adversarial: 2, Workers: 1,
		Genes: []genome.GeneKind{genome.GeneTimeout, genome.GeneRetry}}
	ev, err := evolve.Evolve(context.Background(), c, o)
	require.NoError(t, err)

	require.NotEmpty(t, ev.Attacks, "the adversary found a threat that breaks the first champion: %s", ev.Settled)
	first := ev.Attacks[0]
	assert.Equal(t, start.Digest(), first.Broke.Digest(), "the champion of the first round: the starting genome, which already survives the declared threat")
	delay := first.Params()[0]
	assert.Equal(t, "delay", delay.Name)
	assert.Less(t, delay.Value, float64(300*time.Millisecond), "under the timeout: %s", first)
	assert.GreaterOrEqual(t, delay.Value, float64(90*time.Millisecond), "above the p99 the SLO allows: %s", first)

	assert.True(t, ev.Holds, "the final champion survives every threat the adversary can find: %s", ev.Settled)
	assert.Less(t, ev.Champion.Timeout.PerAttempt, 100*time.Millisecond, "the defence: a timeout under the p99 bound")
	for _, s := range first.Seeds {
		res := trial.InBubble(t, q.cfg, first.Threat, ev.Champion, s)
		assert.Empty(t, res.Violations(q.slo), "the final champion under %s (seed %d): %v", first, s, res.Metrics)
	}

	again, err := evolve.Evolve(context.Background(), c, o)
	require.NoError(t, err)
	assert.Equal(t, ev.Champion.Digest(), again.Champion.Digest(), "deterministic for a seed")
	require.Len(t, again.Attacks, len(ev.Attacks))
	for i := range ev.Attacks {
		assert.Equal(t, ev.Attacks[i].String(), again.Attacks[i].String())
	}
}

package examples

// The orders walkthrough: metastability. The orders service reserves stock
// in an inventory database that runs at 75 % of its capacity: 4 workers of
// 30ms against 100 orders a second. The database does not know when a
// caller gives up, so a call that timed out still takes its worker's time.
// The starting genome is the one a team writes first: a 300ms timeout and
// three quick attempts. A 2s slowdown of the database (a cold cache, a
// noisy neighbour) fills its queue; calls time out in it and are retried,
// three times the load joins the queue behind work nobody waits for, and
// the service stays down for the 8s after the slowdown is gone — a
// metastable failure, which the report shows in its timeline (the load
// stays at three times the steady one). Evolution finds a genome that keeps
// the queue short and recovers; adversarial rounds then search, within the
// declared threats, for the worst trigger for that champion.

import (
	"context"
	"testing"
	"time"

	"github.com/rafaelabs/rafael/evolve"
	"github.com/rafaelabs/rafael/faults"
	"github.com/rafaelabs/rafael/genome"
	"github.com/rafaelabs/rafael/harness"
	"github.com/rafaelabs/rafael/report"
	"github.com/rafaelabs/rafael/scenarios"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Inventory is the orders service's client of its inventory database.
type Inventory struct{ db *faults.Server }

// Reserve reserves stock for an order.
func (i *Inventory) Reserve(ctx context.Context) error { return i.db.Call(ctx) }

// ordersSpec is the orders service under a 2s slowdown of its database and
// a 2s burst of errors from it, starting from the naive genome.
func ordersSpec(evolved *evolve.Options) harness.Spec {
	db := faults.NewServer("inventory", 4, 200, 30*time.Millisecond)
	inv := &Inventory{db: db}
	phases := []scenarios.Option{scenarios.Steady(2 * time.Second), scenarios.InjectFor(2 * time.Second), scenarios.RecoverFor(8 * time.Second)}
	errs := scenarios.Compose("errors", scenarios.High, 2*time.Second, scenarios.Step{Target: db, Fault: faults.Error{Rate: 0.5}})
	errs.Steady, errs.Recover = 2*time.Second, 8*time.Second
	return harness.Spec{
		Module: "orders",
		Genome: &genome.Genome{
			Timeout: &genome.Timeout{PerAttempt: 300 * time.Millisecond},
			Retry:   &genome.Retry{MaxAttempts: 3, BaseDelay: 10 * time.Millisecond, MaxDelay: 10 * time.Millisecond, Multiplier: 1, Jitter: 0.1}},
		Threats:  []scenarios.Threat{scenarios.Latency(db, 30*time.Millisecond, phases...), errs},
		Workload: func(ctx context.Context, p *genome.Policy) error { return p.Do(ctx, inv.Reserve) },
		Requests: 1200,
		SLO:      harness.SLO{SuccessRate: 0.85, P99: 500 * time.Millisecond, RecoverWithin: time.Second},
		Trials:   2,
		Evolve:   evolved,
	}
}

// TestOrdersEvolveOutOfMetastability: the naive genome is metastable under
// the slowdown — still down at the trial's end, at three times the steady
// load — and the champion is not; the adversary finds a worse trigger
// within the declared threats (the slowdown and the errors at once, timed
// against the champion), the next round evolves against it, and the final
// champion holds.
func TestOrdersEvolveOutOfMetastability(t *testing.T) {
	spec := ordersSpec(&evolve.Options{Generations: 30, Population: 16, Adversarial: 2, Combine: true})
	spec.Seed = 1
	rep := harness.Run(t, spec)
	require.NotNil(t, rep.Evolved)

	slowdown := rep.Threats[0]
	for _, tr := range slowdown.Trials {
		assert.True(t, tr.Metrics.Metastable, "the naive genome under the slowdown: %v", tr.Metrics)
		assert.GreaterOrEqual(t, tr.Metrics.LoadAfter, 2.5, "its retries keep the load up")
		last := tr.Timeline.Points[len(tr.Timeline.Points)-1]
		assert.Zero(t, last.Succeeded, "still down 8s after a 2s slowdown")
	}
	for _, th := range rep.Threats {
		for _, tr := range th.EvolvedTrials {
			assert.False(t, tr.Metrics.Metastable, "the champion under %s: %v", th.Threat, tr.Metrics)
			assert.Empty(t, tr.Violations, "the champion under %s", th.Threat)
		}
	}
	assert.Equal(t, report.Mitigated, slowdown.Verdict)

	require.NotEmpty(t, rep.Attacks, "the adversary found a worse trigger: %s", rep.Settled)
	for _, a := range rep.Attacks {
		require.NotEmpty(t, a.Trials)
		for _, tr := range a.Trials {
			assert.Empty(t, tr.Violations, "the final champion holds under %s", a.Threat)
		}
	}
	assert.Contains(t, rep.Settled, "no threat within the envelope that breaks the champion")

	md := string(rep.Markdown())
	assert.Contains(t, md, "metastable: it stayed down after the fault was removed")
	assert.Contains(t, md, "Threats the adversary found")
	html, err := rep.HTML()
	require.NoError(t, err)
	assert.Contains(t, string(html), "Load on the dependency over time")
}

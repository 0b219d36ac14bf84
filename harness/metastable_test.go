package harness

import (
	"testing"
	"time"

	"github.com/rafaelabs/rafael/evolve"
	"github.com/rafaelabs/rafael/faults"
	"github.com/rafaelabs/rafael/genome"
	"github.com/rafaelabs/rafael/scenarios"
	"github.com/rafaelabs/rafael/slo"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// blipSpec is a service calling a dependency that runs at 75 % of its
// capacity (faults.Server: 4 workers of 30ms, 100 calls a second), with a
// naive genome: a 300ms timeout and three quick attempts. A 2s slowdown
// of the server turns it into a metastable failure: the queue fills,
// attempts time out while the server still serves them, their retries
// triple the load, and it stays down for the 8s after the trigger.
func blipSpec(s uint64) Spec {
	srv := faults.NewServer("db", 4, 200, 30*time.Millisecond)
	phases := []scenarios.Option{scenarios.Steady(2 * time.Second), scenarios.InjectFor(2 * time.Second), scenarios.RecoverFor(8 * time.Second)}
	return Spec{
		Module: "orders",
		Genome: &genome.Genome{
			Timeout: &genome.Timeout{PerAttempt: 300 * time.Millisecond},
			Retry:   &genome.Retry{MaxAttempts: 3, BaseDelay: 10 * time.Millisecond, MaxDelay: 10 * time.Millisecond, Multiplier: 1, Jitter: 0.1}},
		Threats:  []scenarios.Threat{scenarios.Latency(srv, 30*time.Millisecond, phases...), flaky(srv)},
		Workload: through(srv.Call),
		Requests: 1200,
		SLO:      SLO{SuccessRate: 0.85, P99: 500 * time.Millisecond, RecoverWithin: time.Second},
		Seed:     s,
		Trials:   2,
		Evolve:   &evolve.Options{Generations: 30, Population: 16},
	}
}

func TestTheNaiveGenomeIsMetastableAndTheChampionIsNot(t *testing.T) {
	rep := Run(t, blipSpec(1))
	require.NotNil(t, rep.Evolved)
	blip := rep.Threats[0]
	for _, tr := range blip.Trials {
		assert.True(t, tr.Metrics.Metastable, "the naive genome: %v", tr.Metrics)
		assert.GreaterOrEqual(t, tr.Metrics.LoadAfter, 2.5)
		kinds := []slo.Kind{}
		for _, v := range tr.Violations {
			kinds = append(kinds, v.Kind)
		}
		assert.Contains(t, kinds, slo.Metastable)
		require.NotNil(t, tr.Timeline)
		last := tr.Timeline.Points[len(tr.Timeline.Points)-1]
		assert.Zero(t, last.Succeeded, "still down at the trial's end")
		assert.Greater(t, last.Attempts, 2*tr.Timeline.Points[0].Attempts, "at more than twice the steady load")
	}
	for _, th := range rep.Threats {
		require.NotEmpty(t, th.EvolvedTrials)
		for _, tr := range th.EvolvedTrials {
			assert.False(t, tr.Metrics.Metastable, "the champion under %s: %v", th.Threat, tr.Metrics)
			assert.Empty(t, tr.Violations, "the champion under %s", th.Threat)
		}
	}
	champion, err := genome.Parse(rep.ChampionGenome)
	require.NoError(t, err)
	assert.True(t, champion.Has(genome.GeneBulkhead), "a concurrency limit keeps the server's queue short:\n%s", rep.ChampionGenome)
}

func flaky(srv *faults.Server) scenarios.Threat {
	th := scenarios.Compose("flaky", scenarios.High, 2*time.Second, scenarios.Step{Target: srv, Fault: faults.Error{Rate: 0.5}})
	th.Steady, th.Recover = 2*time.Second, 8*time.Second
	return th
}

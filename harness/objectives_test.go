package harness

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rafaelabs/rafael/evolve"
	"github.com/rafaelabs/rafael/faults"
	"github.com/rafaelabs/rafael/genome"
	"github.com/rafaelabs/rafael/internal/sim"
	"github.com/rafaelabs/rafael/scenarios"
	"github.com/rafaelabs/rafael/slo"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// catalogue is a cache-aside read: the cache answers in 1ms for the
// smallest of ten entry sizes, up to 28ms for the largest; a cache call
// that fails or times out falls back to the database, 10ms. A short
// timeout on the cache call keeps the latency low but gives up the larger
// entries' hits.
type catalogue struct {
	cache *faults.Hook
	n     atomic.Int64
}

func (c *catalogue) read(ctx context.Context, p *genome.Policy) error {
	size := c.n.Add(1) % 10
	err := p.Do(ctx, func(ctx context.Context) error {
		if err := c.cache.Before(ctx); err != nil {
			return err
		}
		return sim.Work(ctx, time.Millisecond+time.Duration(size)*3*time.Millisecond)
	})
	if err == nil {
		Count(ctx, "cache.hit", 1)
		return nil
	}
	return sim.Work(ctx, 10*time.Millisecond) // the database
}

// hitRatio is the cache-hit ratio of a trial.
func hitRatio(m slo.Metrics) float64 { return m.Counts["cache.hit"] / float64(m.Requests) }

// evolveCatalogue evolves the catalogue's genome under 300ms of cache
// latency, with its fitness counting latency, and the team's terms.
func evolveCatalogue(t *testing.T, terms []slo.Term) (champion *genome.Genome, hits, p99 float64) {
	t.Helper()
	cache := faults.NewHook("cache", 1)
	c := &catalogue{cache: cache}
	rep := Run(t, Spec{
		Module:   "catalogue",
		Genome:   &genome.Genome{Timeout: &genome.Timeout{Overall: 250 * time.Millisecond}}, // too long for the SLO
		Threats:  []scenarios.Threat{scenarios.Latency(cache, 300*time.Millisecond, scenarios.InjectFor(2*time.Second))},
		Workload: c.read,
		SLO:      SLO{SuccessRate: 0.99, P99: 150 * time.Millisecond},
		Weights:  slo.Weights{Success: 0.6, Recovery: 0.2, Efficiency: 0.2, Latency: 1},
		Terms:    terms,
		Evolve:   &evolve.Options{Generations: 12, Population: 10},
		Seed:     7, // the same on seeds 1 to 8
		Dir:      t.TempDir(),
	})
	require.NotNil(t, rep.Evolved, "the run evolved")
	g, err := genome.Parse(rep.ChampionGenome)
	require.NoError(t, err)
	row := rep.Threats[0]
	require.NotEmpty(t, row.EvolvedTrials)
	for _, tr := range row.EvolvedTrials {
		require.Contains(t, tr.Metrics.Counts, "cache.hit", "the workload's counts reach the trial's metrics")
		hits += hitRatio(tr.Metrics) / float64(len(row.EvolvedTrials))
		p99 += float64(tr.Metrics.P99) / float64(len(row.EvolvedTrials))
		if len(terms) > 0 {
			assert.InDelta(t, hitRatio(tr.Metrics), tr.Metrics.Terms["cache hits"], 1e-9, "the term's value is in the metrics")
		}
	}
	return g, hits, p99
}

// A team's own term changes which champion wins: with latency alone, the
// search cuts the cache call short and gives up the large entries' hits;
// with a cache-hit term beside it, the champion waits for them, trading
// some latency, still within the SLO.
func TestATeamsTermChangesTheChampion(t *testing.T) {
	fast, fastHits, fastP99 := evolveCatalogue(t, nil)
	term := slo.Term{Name: "cache hits", Weight: 2, Of: hitRatio}
	hitting, hittingHits, hittingP99 := evolveCatalogue(t, []slo.Term{term})
	t.Logf("latency only: %v, hits %.2f, p99 %v", fast.Timeout, fastHits, time.Duration(fastP99))
	t.Logf("with the term: %v, hits %.2f, p99 %v", hitting.Timeout, hittingHits, time.Duration(hittingP99))

	require.NotNil(t, fast.Timeout, "latency alone wants the cache call cut short")
	require.NotNil(t, hitting.Timeout, "the SLO wants the 300ms cut short")
	assert.Less(t, limit(fast.Timeout), 10*time.Millisecond, "latency alone gives up most entries")
	assert.Greater(t, limit(hitting.Timeout), 10*time.Millisecond, "the term waits for the larger ones")
	assert.Greater(t, hittingHits, fastHits+0.05, "the champion with the term hits the cache more")
	assert.Greater(t, hittingP99, fastP99, "and pays for it in latency")
}

// A term is validated with the spec, named in the error.
func TestTermsAreValidated(t *testing.T) {
	base := Spec{Module: "m", Threats: []scenarios.Threat{scenarios.DBOutage(faults.NewHook("db", 1), time.Second)},
		Workload: func(context.Context, *genome.Policy) error { return nil }}
	for _, tc := range []struct {
		terms []slo.Term
		want  string
	}{
		{[]slo.Term{{Weight: 1, Of: hitRatio}}, "Terms[0] has no Name"},
		{[]slo.Term{{Name: "hits", Weight: 1}}, `term "hits" has no Of`},
		{[]slo.Term{{Name: "hits", Weight: 0, Of: hitRatio}}, `term "hits" has Weight 0`},
		{[]slo.Term{{Name: "hits", Weight: 1, Of: hitRatio}, {Name: "hits", Weight: 1, Of: hitRatio}}, `"hits" is given twice`},
	} {
		s := base
		s.Terms = tc.terms
		err := s.Validate()
		require.Error(t, err)
		assert.True(t, errors.Is(err, ErrSpec))
		assert.Contains(t, err.Error(), tc.want)
	}
}

// limit is the time a single attempt may take under t.
func limit(t *genome.Timeout) time.Duration {
	if t.PerAttempt > 0 && (t.Overall == 0 || t.PerAttempt < t.Overall) {
		return t.PerAttempt
	}
	return t.Overall
}

package examples

import (
	"slices"
	"sync"
	"testing"

	"github.com/rafaelabs/rafael/genome"
	"github.com/rafaelabs/rafael/report"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Each walkthrough evolves its champion on the simulated tier, then proves
// it on the wire tier. The champions are kept here, so the proof reuses the
// evolution that ran before it, or runs it when the proof runs alone.
var champions = struct {
	mu sync.Mutex
	m  map[string]*genome.Genome
}{m: map[string]*genome.Genome{}}

// keepChampion keeps a walkthrough's champion for its wire-tier proof.
func keepChampion(t *testing.T, module string, g *genome.Genome) *genome.Genome {
	data, err := g.MarshalJSON()
	require.NoError(t, err)
	t.Logf("champion of %s: %s", module, data)
	champions.mu.Lock()
	defer champions.mu.Unlock()
	champions.m[module] = g
	return g
}

// champion returns the module's champion, evolving it (as a subtest) when
// no test has yet.
func champion(t *testing.T, module string, evolve func(*testing.T) *genome.Genome) *genome.Genome {
	champions.mu.Lock()
	g := champions.m[module]
	champions.mu.Unlock()
	if g == nil {
		t.Run("evolve", func(t *testing.T) { g = evolve(t) })
	}
	require.NotNil(t, g, "the simulated evolution of %s failed", module)
	return g
}

// noDeadGene checks that every gene of rep's champion earns its place:
// without it (the report's ablation, on the search's last trials), fewer
// trials meet the SLO or the fitness falls.
func noDeadGene(t *testing.T, rep *report.Report) {
	t.Helper()
	g, err := genome.Parse(rep.ChampionGenome)
	require.NoError(t, err)
	require.NotEmpty(t, g.Genes(), "the champion has genes")
	for _, k := range g.Genes() {
		i := slices.IndexFunc(rep.GeneCosts, func(c report.GeneCost) bool { return c.Gene == k.String() })
		if !assert.GreaterOrEqual(t, i, 0, "the report explains the champion's %s", k) {
			continue
		}
		cost := rep.GeneCosts[i]
		drops := slices.ContainsFunc(cost.Threats, func(c report.GeneThreatCost) bool {
			return c.PassedWithout < c.Passed || c.FitnessWithout < c.Fitness
		})
		assert.True(t, drops, "%s is dead: %s", k, cost)
	}
}

package examples

import (
	"sync"
	"testing"

	"github.com/rafaelabs/rafael/genome"
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

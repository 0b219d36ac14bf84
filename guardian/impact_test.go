package guardian

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rafaelabs/rafael/genome"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestImpactInRelativeTerms rates the changes an attacker once had
// adopted as low (each a few percent of its parameter's whole range), and
// the small steps that are low indeed.
func TestImpactInRelativeTerms(t *testing.T) {
	change := func(edit func(g *genome.Genome)) *genome.Genome {
		g := baseGenome()
		edit(g)
		return g
	}
	for _, c := range []struct {
		name   string
		new    *genome.Genome
		want   Level
		reason string
	}{
		{"overall timeout 75×", change(func(g *genome.Genome) { g.Timeout.Overall = 150 * time.Second }), High, "timeout.overall 2s → 2m30s is 75× the old value: high"},
		{"base delay 14×", change(func(g *genome.Genome) {
			g.Retry.BaseDelay = 1400 * time.Millisecond
			g.Retry.MaxDelay = 1400 * time.Millisecond
		}), High, "retry.baseDelay 100ms → 1.4s is 14× the old value: high"},
		{"max delay 5×", change(func(g *genome.Genome) { g.Retry.MaxDelay = 5 * time.Second }), High, "retry.maxDelay 1s → 5s is 5.0× the old value: high"},
		{"the three at once", change(func(g *genome.Genome) {
			g.Timeout.Overall, g.Retry.BaseDelay, g.Retry.MaxDelay = 150*time.Second, 1400*time.Millisecond, 5*time.Second
		}), High, "worst-case call time 2s → 2m30s (75×): high"},
		{"overall timeout 1.1×", change(func(g *genome.Genome) { g.Timeout.Overall = 2200 * time.Millisecond }), Low, "moves 0.0% of its range"},
		{"base delay +1ms", lowChange(baseGenome(), 0), Low, "retry.baseDelay 100ms → 101ms moves 0.0% of its range"},
		{"half the attempts' time", change(func(g *genome.Genome) { g.Timeout.PerAttempt = 250 * time.Millisecond }), Medium, "is 2.0× the old value: medium"},
		{"timeout removed", change(func(g *genome.Genome) { g.Timeout = nil }), High, "a call's time is no longer bounded (it was at most 2s)"},
		{"hedges added", change(func(g *genome.Genome) { g.Hedge = &genome.Hedge{Delay: 100 * time.Millisecond, MaxHedges: 3} }), Medium, "worst-case attempts a call makes 3 → 12 (4.0×): high"},
	} {
		t.Run(c.name, func(t *testing.T) {
			imp := Assess(baseGenome(), c.new, Config{})
			assert.GreaterOrEqual(t, imp.Level, c.want, imp.Reasons)
			assert.Contains(t, strings.Join(imp.Reasons, "\n"), c.reason)
			if c.want == Low {
				assert.Equal(t, Low, imp.Level, imp.Reasons)
			}
		})
	}
}

func TestImpactThresholdsFromGuardianJSON(t *testing.T) {
	c, err := parseConfig("guardian.json", []byte(`{"impact": {"mediumRatio": 1.05, "highRatio": 1.08}}`))
	require.NoError(t, err)
	imp := Assess(baseGenome(), change1_1(), c)
	assert.Equal(t, High, imp.Level, "1.1× is high when the team says 1.08× is")

	for field, json := range map[string]string{
		"impact.medium":      `{"impact": {"medium": NaN}}`,
		"impact.mediumRatio": `{"impact": {"mediumRatio": 0.5}}`,
		"impact.highRatio":   `{"impact": {"mediumRatio": 2, "highRatio": 1.5}}`,
	} {
		_, err := parseConfig("guardian.json", []byte(json))
		assert.ErrorContains(t, err, "guardian.json", field)
		if err != nil && !strings.Contains(err.Error(), "invalid character") {
			assert.Contains(t, err.Error(), field)
		}
	}
	// A huge number decodes to +Inf in no JSON decoder; one beyond float64
	// is refused by the decoder itself, naming the file.
	_, err = parseConfig("guardian.json", []byte(`{"impact": {"highRatio": 1e400}}`))
	assert.ErrorContains(t, err, "guardian.json")
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, configFile), []byte(`{"impact": {"mediumRatio": 0.5}}`), 0o644))
	_, err = open(t, dir).Propose(t.Context(), Proposal{New: lowChange(baseGenome(), 0), Old: baseGenome(), Actor: "evolve"})
	assert.ErrorContains(t, err, "impact.mediumRatio 0.5")
}

func change1_1() *genome.Genome {
	g := baseGenome()
	g.Timeout.Overall = 2200 * time.Millisecond
	return g
}

// TestABulkheadWaitCountsInTheWorstCase: a bulkhead's wait comes before any
// timeout, so a long one is a long call (helper's review: 0 → 2.9s was low).
func TestABulkheadWaitCountsInTheWorstCase(t *testing.T) {
	old := baseGenome()
	old.Bulkhead = &genome.Bulkhead{MaxConcurrent: 10}
	waits := old.Clone()
	waits.Bulkhead.MaxWait = 10 * time.Second
	imp := Assess(old, waits, Config{})
	assert.Equal(t, High, imp.Level, imp.Reasons)
	assert.Contains(t, strings.Join(imp.Reasons, "\n"), "worst-case call time 2s → 12s (6.0×): high")
}

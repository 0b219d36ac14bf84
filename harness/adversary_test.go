package harness

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rafaelabs/rafael/evolve"
	"github.com/rafaelabs/rafael/faults"
	"github.com/rafaelabs/rafael/genome"
	"github.com/rafaelabs/rafael/report"
	"github.com/rafaelabs/rafael/scenarios"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// quotesSpec is a service whose calls take 2ms, held to a p99 of 100ms,
// that declares it must survive a 2s latency for 300ms: its 300ms timeout
// does. Slow is worse than down: below its timeout a latency is waited
// out, and the adversary finds one that breaks the p99.
func quotesSpec(s uint64) Spec {
	db := faults.NewHook("db", 1)
	return Spec{
		Module:   "quotes",
		Genome:   &genome.Genome{Timeout: &genome.Timeout{PerAttempt: 300 * time.Millisecond}},
		Threats:  []scenarios.Threat{scenarios.Latency(db, 2*time.Second, scenarios.InjectFor(300*time.Millisecond), scenarios.RecoverFor(6500*time.Millisecond))},
		Workload: through(store(db)),
		Requests: 1000,
		SLO:      SLO{SuccessRate: 0.9, P99: 100 * time.Millisecond},
		Seed:     s,
		Trials:   2,
		Evolve: &evolve.Options{Generations: 12, Population: 12, Adversarial: 2,
			Genes: []genome.GeneKind{genome.GeneTimeout, genome.GeneRetry}},
	}
}

func TestAdversarialRoundsInARun(t *testing.T) {
	t.Chdir(t.TempDir())
	rep := Run(t, quotesSpec(3))
	require.NotEmpty(t, rep.Attacks, "settled: %s", rep.Settled)
	first := rep.Attacks[0]
	assert.Equal(t, rep.Genome, first.Broke, "it broke the first round's champion: the starting genome, which survives the declared threat")
	assert.Equal(t, "latency", first.From)
	assert.Contains(t, first.Threat, "latency(delay=")
	for _, tr := range first.Trials {
		assert.Empty(t, tr.Violations, "the final champion holds under %s", first.Threat)
	}
	assert.Contains(t, rep.Settled, "no threat within the envelope that breaks the champion")

	dir := filepath.Join("testdata", "rapid", rapidName(t.Name()+"/evolved/adversary-1/property"))
	files, err := filepath.Glob(filepath.Join(dir, "*.fail"))
	require.NoError(t, err)
	require.Len(t, files, 1, "the adversary's threat kept as a rapid fail file")
	b, err := os.ReadFile(files[0])
	require.NoError(t, err)
	assert.Contains(t, string(b), rapidVersion+"#0")

	again := Run(t, quotesSpec(3)) // another run of the same test keeps no second copy
	assert.Equal(t, first.Threat, again.Attacks[0].Threat)
	files, err = filepath.Glob(filepath.Join(dir, "*.fail"))
	require.NoError(t, err)
	assert.Len(t, files, 1)

	md := string(rep.Markdown())
	assert.Contains(t, md, "Threats the adversary found")
	assert.Contains(t, md, "holds (2 of 2 trials met the SLO)")
}

// The adversarial rounds are part of the run's determinism: the same seed
// finds the same threats and the same champion, one worker or several.
func TestAdversarialRoundsAreDeterministic(t *testing.T) {
	t.Chdir(t.TempDir())
	var reps [3]*report.Report
	for i := range reps {
		t.Run("run", func(t *testing.T) {
			spec := quotesSpec(3)
			if i == 2 {
				spec.Evolve.Workers = 1
			}
			reps[i] = Run(t, spec)
		})
	}
	require.NotEmpty(t, reps[0].Attacks)
	for _, r := range reps[1:] {
		assert.Equal(t, reps[0].History, r.History)
		assert.Equal(t, reps[0].Champion, r.Champion)
		require.Len(t, r.Attacks, len(reps[0].Attacks))
		for k := range r.Attacks {
			assert.Equal(t, reps[0].Attacks[k].Threat, r.Attacks[k].Threat)
			assert.Equal(t, reps[0].Attacks[k].Broke, r.Attacks[k].Broke)
		}
		assert.Equal(t, reps[0].Settled, r.Settled)
	}
}

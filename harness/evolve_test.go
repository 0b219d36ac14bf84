package harness

import (
	"context"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/rafaelabs/rafael/evolve"
	"github.com/rafaelabs/rafael/faults"
	"github.com/rafaelabs/rafael/genome"
	"github.com/rafaelabs/rafael/guardian"
	"github.com/rafaelabs/rafael/report"
	"github.com/rafaelabs/rafael/scenarios"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// evolving is a spec whose starting genome has no resilience at all: it
// breaks the SLO under a 2s database outage, and evolution must find one
// that does not.
func evolving(db *faults.Hook, s uint64) Spec {
	return Spec{
		Module: "checkout",
		Genome: &genome.Genome{},
		Threats: []scenarios.Threat{
			scenarios.DBOutage(db, 2*time.Second),
			scenarios.Latency(db, 500*time.Millisecond, scenarios.InjectFor(2*time.Second)),
		},
		Workload: through(store(db)),
		SLO:      SLO{SuccessRate: 0.99, P99: 3 * time.Second, RecoverWithin: 500 * time.Millisecond},
		Seed:     s,
		Trials:   2,
		Evolve:   &evolve.Options{Generations: 12, Population: 12},
	}
}

func TestEvolutionFindsAGenomeThatSurvives(t *testing.T) {
	db := faults.NewHook("db", 1)
	rep := Run(t, evolving(db, 11))
	require.NotNil(t, rep.Evolved)
	out := rep.Threats[0]
	assert.Equal(t, report.Broken, out.Status, "the starting genome breaks the SLO under the outage")
	assert.Equal(t, report.Met, out.EvolvedStatus, "the champion survives it")
	assert.Equal(t, report.Mitigated, out.Verdict)
	for _, row := range rep.Threats {
		assert.Equal(t, report.Met, row.EvolvedStatus, row.Threat)
		require.Len(t, row.EvolvedTrials, 2, "the champion runs with the baseline's seeds")
		for i, tr := range row.EvolvedTrials {
			assert.Equal(t, row.Trials[i].Seed, tr.Seed)
			assert.Equal(t, rep.Champion, tr.Genome)
		}
	}
	assert.Greater(t, rep.Evolved.Score, rep.Baseline.Score)
	assert.InDelta(t, rep.Evolved.Score-rep.Baseline.Score, rep.Improvement, 1e-9)
	assert.NotEmpty(t, rep.History)
	assert.Empty(t, rep.Counterexamples)
	champion, err := genome.Parse(rep.ChampionGenome)
	require.NoError(t, err)
	assert.True(t, champion.Has(genome.GeneRetry), "a retry bridges the outage:\n%s", champion)
	assert.Equal(t, rep.Champion, champion.Digest())
	assert.Equal(t, rep.Genome, champion.Parent)
	require.NotEmpty(t, rep.GenomeDiff, "the diff lists the changes")
	diff := strings.Join(rep.GenomeDiff, "\n")
	assert.Contains(t, diff, "+ retry", "the diff names the gene evolution added")
	t.Logf("champion after %d generations: %s", len(rep.History), rep.ChampionGenome)
}

func TestEvolutionIsDeterministic(t *testing.T) {
	var reps [2]*report.Report
	for i := range reps {
		t.Run("run", func(t *testing.T) {
			reps[i] = Run(t, evolving(faults.NewHook("db", 1), 5))
		})
	}
	require.NotNil(t, reps[0].Evolved)
	assert.Equal(t, reps[0].History, reps[1].History, "the same seed gives the same history")
	assert.Equal(t, reps[0].Champion, reps[1].Champion, "and the same champion")
}

func TestUpdateProposesTheChampionToTheGuardian(t *testing.T) {
	old := flagUpdate.value
	t.Cleanup(func() { flagUpdate.value = old })
	flagUpdate.value = "true"
	_, key, err := ed25519.GenerateKey(nil)
	require.NoError(t, err)
	der, err := x509.MarshalPKCS8PrivateKey(key)
	require.NoError(t, err)
	t.Setenv(guardian.SigningKeyEnv, string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})))

	dir := t.TempDir()
	// The team's policy allows up to 20 attempts (the default rule allows 5).
	require.NoError(t, os.WriteFile(filepath.Join(dir, "guardian.json"), []byte(`{"rules": {"maxAttempts": 20}}`), 0o644))
	spec := evolving(faults.NewHook("db", 1), 11)
	spec.Dir = dir
	rep := Run(t, spec)
	require.NotNil(t, rep.Audit, "the guardian recorded the proposal")
	// Adding a retry to a genome without one multiplies the attempts a call
	// can make: a high-impact change, which without approvers waits.
	assert.Equal(t, "pending", rep.Audit.Status)
	assert.Equal(t, "high", rep.Audit.Impact)
	assert.True(t, rep.Audit.Trusted, "signed with the key from RAFAEL_SIGNING_KEY")
	assert.NoFileExists(t, filepath.Join(dir, "checkout.genome.json"), "a pending change leaves the genome file alone")

	log, err := os.ReadFile(filepath.Join(dir, "audit.jsonl"))
	require.NoError(t, err)
	cp, err := os.ReadFile(filepath.Join(dir, "audit.checkpoint"))
	require.NoError(t, err)
	assert.NoError(t, guardian.Verify(log, cp, guardian.Trust{Keys: []ed25519.PublicKey{key.Public().(ed25519.PublicKey)}}))
	assert.GreaterOrEqual(t, rep.Audit.Seq, 2, "proposed, then evaluated")
	assert.Contains(t, string(log), `"event":"evaluated"`)
}

// A search's candidates evaluated by two workers, each trial in its own
// bubble and fault scope, give the same evolution as one worker: over the
// five named threats, a flood, a ballast and a dependency with a capacity
// included.
func TestParallelEvaluationEvolvesTheSame(t *testing.T) {
	run := func(workers int) *report.Report {
		var rep *report.Report
		t.Run(fmt.Sprintf("workers=%d", workers), func(t *testing.T) {
			rep = Run(t, fiveThreats(&evolve.Options{Generations: 6, Population: 10, Patience: 100, Workers: workers}))
		})
		return rep
	}
	one, two := run(1), run(2)
	require.Len(t, one.History, 6)
	assert.Equal(t, one.History, two.History)
	assert.Equal(t, one.Champion, two.Champion)
	assert.Equal(t, string(one.ChampionGenome), string(two.ChampionGenome))
}

// A workload that drops the trial's context cannot be kept apart from the
// trials running beside it: the run says so.
func TestAWorkloadThatDropsItsContextIsWarnedAbout(t *testing.T) {
	out := child(t, "astray", "^TestHelperDropsItsContext$")
	assert.Contains(t, out, `calls reached target "db" without the trial's context while trials ran at once`)
}

func TestHelperDropsItsContext(t *testing.T) {
	helper(t, "astray")
	db := faults.NewHook("db", 1)
	call := faults.FuncErr(db, func(context.Context) error { return nil })
	Run(t, Spec{
		Module:  "careless",
		Threats: []scenarios.Threat{scenarios.DBOutage(db, time.Second)},
		Workload: func(ctx context.Context, p *genome.Policy) error {
			return p.Do(ctx, func(context.Context) error { return call(context.Background()) })
		},
		SLO:    SLO{SuccessRate: 0.5},
		Evolve: &evolve.Options{Generations: 2, Population: 6, Workers: 2},
	})
}

// The champion's property checks run side by side, ahead of their
// subtests, find what they find one at a time: the same counterexamples,
// shrunk the same way, with the same replay commands (but rapid's own
// seed, which rapid draws per process unless -rapid.seed sets it).
func TestPropertyChecksAheadFindTheSame(t *testing.T) {
	found := regexp.MustCompile(`(?m)^.*(breaks the evolved genome|replay: ).*$`)
	one := child(t, "ahead-1", "^TestHelperPropertyChecksAhead$")
	two := child(t, "ahead-2", "^TestHelperPropertyChecksAhead$")
	assert.NotContains(t, one, "property checks run side by side")
	assert.Contains(t, two, "property checks run side by side, 2 at a time")
	rapidSeed := regexp.MustCompile(`-rapid\.seed=\d+`)
	a := found.FindAllString(rapidSeed.ReplaceAllString(one, "-rapid.seed=N"), -1)
	b := found.FindAllString(rapidSeed.ReplaceAllString(two, "-rapid.seed=N"), -1)
	require.NotEmpty(t, a, "the checks find a counterexample:\n%s", one)
	assert.Equal(t, a, b)
}

func TestHelperPropertyChecksAhead(t *testing.T) {
	mode := os.Getenv(helperEnv)
	if mode != "ahead-1" && mode != "ahead-2" {
		t.Skip("a helper: run by TestPropertyChecksAheadFindTheSame in a child process")
	}
	db := faults.NewHook("db", 1)
	Run(t, Spec{
		Module:   "ahead",
		Threats:  []scenarios.Threat{scenarios.DBOutage(db, 2*time.Second), scenarios.Latency(db, 300*time.Millisecond)},
		Workload: through(store(db)),
		SLO:      SLO{SuccessRate: 0.999, P99: 50 * time.Millisecond},
		Trials:   1,
		Evolve:   &evolve.Options{Generations: 1, Population: 4, Workers: int(mode[len(mode)-1] - '0')},
	})
}

// A run that proposes keeps its search within the guardian's rules: with
// guardian.json allowing 3 attempts, the champion makes at most 3, and the
// guardian's rules pass on it; without the rule, the same search's
// champion makes more.
func TestTheSearchKeepsWithinTheGuardiansRules(t *testing.T) {
	_, key, err := ed25519.GenerateKey(nil)
	require.NoError(t, err)
	der, err := x509.MarshalPKCS8PrivateKey(key)
	require.NoError(t, err)
	t.Setenv(guardian.SigningKeyEnv, string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})))
	old := flagUpdate.value
	t.Cleanup(func() { flagUpdate.value = old })

	attempts := func(rep *report.Report) int {
		var g genome.Genome
		require.NoError(t, g.UnmarshalJSON(rep.ChampionGenome))
		require.NotNil(t, g.Retry, "the champion retries")
		return g.Retry.MaxAttempts
	}
	free := Run(t, evolving(faults.NewHook("db", 1), 11))
	require.Greater(t, attempts(free), 3, "unconstrained, the champion makes more than 3 attempts")

	flagUpdate.value = "true"
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "guardian.json"), []byte(`{"rules": {"maxAttempts": 3}}`), 0o644))
	spec := evolving(faults.NewHook("db", 1), 11)
	spec.Dir = dir
	rep := Run(t, spec)
	assert.LessOrEqual(t, attempts(rep), 3, "the search kept within the rule")
	require.NotNil(t, rep.Audit)
	assert.NotEqual(t, "rejected", rep.Audit.Status)
	// The guardian's own evaluation, from the signed log's payloads.
	raw, err := os.ReadFile(filepath.Join(dir, "audit.jsonl"))
	require.NoError(t, err)
	var evaluated string
	for _, line := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
		var entry struct {
			Event    string `json:"event"`
			Envelope struct {
				Payload []byte `json:"payload"`
			} `json:"envelope"`
		}
		require.NoError(t, json.Unmarshal([]byte(line), &entry))
		if entry.Event == "evaluated" {
			evaluated = string(entry.Envelope.Payload)
		}
	}
	assert.Contains(t, evaluated, `"id":"max-attempts"`)
	assert.NotContains(t, evaluated, `"passed":false`, "every rule passed on the champion")
}

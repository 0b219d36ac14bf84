package harness

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rafaelabs/rafael/faults"
	"github.com/rafaelabs/rafael/genome"
	"github.com/rafaelabs/rafael/report"
	"github.com/rafaelabs/rafael/scenarios"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// measuring is a spec that only measures, with no genome named: it starts
// from the adopted genome in dir, if there is one.
func measuring(dir string) Spec {
	db := faults.NewHook("db", 1)
	return Spec{
		Module:   "checkout",
		Threats:  []scenarios.Threat{scenarios.Latency(db, 10*time.Millisecond)},
		Workload: through(store(db)),
		SLO:      SLO{SuccessRate: 0.9, P99: 3 * time.Second},
		Trials:   1,
		Dir:      dir,
	}
}

func writeGenome(t *testing.T, dir string, g *genome.Genome) {
	t.Helper()
	data, err := g.MarshalJSON()
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, g.Module+".genome.json"), data, 0o644))
}

func TestRunStartsFromTheAdoptedGenome(t *testing.T) {
	dir := t.TempDir()
	assert.Equal(t, (&genome.Genome{Module: "checkout"}).Digest(), Run(t, measuring(dir)).Genome, "no file: the empty genome")

	adopted := &genome.Genome{Module: "checkout", Retry: &genome.Retry{MaxAttempts: 3, BaseDelay: 50 * time.Millisecond, MaxDelay: time.Second, Multiplier: 2}}
	writeGenome(t, dir, adopted)
	assert.Equal(t, adopted.Digest(), Run(t, measuring(dir)).Genome, "the adopted genome is the one in force")

	named := measuring(dir)
	named.Genome = &genome.Genome{}
	assert.Equal(t, (&genome.Genome{Module: "checkout"}).Digest(), Run(t, named).Genome, "a genome the spec names wins")
}

// TestHelperBadAdoptedGenome runs with an adopted genome file that is not
// one.
func TestHelperBadAdoptedGenome(t *testing.T) {
	helper(t, "bad-adopted")
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "checkout.genome.json"), []byte(`{"module": "checkout", "retry": {"maxAttempts": 99}}`), 0o644))
	Run(t, measuring(dir))
}

func TestABadAdoptedGenomeFailsWithTheFix(t *testing.T) {
	out := child(t, "bad-adopted", "^TestHelperBadAdoptedGenome$")
	assert.Contains(t, out, "rafael: the adopted genome ")
	assert.Contains(t, out, "checkout.genome.json: ")
	assert.Contains(t, out, "restore it (git checkout), remove it, or name a starting genome in Spec.Genome")
	assert.Contains(t, out, "--- FAIL: TestHelperBadAdoptedGenome")
}

func TestProposalEvidenceMeansTheClaimNotTheMoment(t *testing.T) {
	champion := &genome.Genome{Module: "checkout", Timeout: &genome.Timeout{Overall: time.Second}}
	rep := func() *report.Report {
		return &report.Report{Module: "checkout", Seed: 7, Tier: "simulated", Genome: "sha256:start",
			Threats: []report.Threat{
				{Name: "latency", Status: report.Broken, EvolvedStatus: report.Met, Verdict: "mitigated"},
				{Name: "db-outage", Status: report.Met, EvolvedStatus: report.Met, Verdict: "held"},
			}}
	}
	a, b := rep(), rep()
	b.Start, b.End = time.Now(), time.Now().Add(time.Minute)
	b.Threats[0].Score.Score, b.Threats[0].Trials = 42, []report.Trial{{Seed: 3}}
	b.Threats[0], b.Threats[1] = b.Threats[1], b.Threats[0]
	ea, err := proposalEvidence(a, champion)
	require.NoError(t, err)
	eb, err := proposalEvidence(b, champion)
	require.NoError(t, err)
	assert.Equal(t, string(ea), string(eb), "times, measurements and order do not change the claim")
	assert.Equal(t, []string{"db-outage", "latency"}, proposalThreats(b))

	c := rep()
	c.Threats[0].EvolvedStatus = report.Unstable
	ec, _ := proposalEvidence(c, champion)
	assert.NotEqual(t, string(ea), string(ec), "another outcome is another claim")
	d := rep()
	d.Seed = 8
	ed, _ := proposalEvidence(d, champion)
	assert.NotEqual(t, string(ea), string(ed))
}

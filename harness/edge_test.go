package harness

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/rafaelabs/rafael/faults"
	"github.com/rafaelabs/rafael/genome"
	"github.com/rafaelabs/rafael/report"
	"github.com/rafaelabs/rafael/scenarios"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// goTest runs the go command as a user does, from the module's root, with
// the helper mode set, and returns its combined output.
func goTest(t *testing.T, mode, command string) string {
	t.Helper()
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("rafael: no go command on PATH: the replay command cannot be run as printed")
	}
	wd, _ := os.Getwd()
	cmd := exec.Command("bash", "-c", command)
	cmd.Dir = moduleRoot(wd)
	cmd.Env = append(os.Environ(), helperEnv+"="+mode, "PATH="+filepath.Dir(gobin)+":"+os.Getenv("PATH"))
	out, _ := cmd.CombinedOutput()
	return string(out)
}

var printedReplay = regexp.MustCompile(`(?m)replay: (go test \./harness -run '\S+' -rafael\.seed=\d+)$`)

// The command a failure prints is pasted at the module's root, as printed,
// and runs that trial again through go test, measuring the same. (Before
// this test the command put the package after -rafael.seed, where go test
// hands it to the test binary: "no Go files … [setup failed]".)
func TestThePrintedReplayCommandRunsThroughGoTest(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the package's tests with the go command")
	}
	out := goTest(t, "fragile", "go test ./harness -count=1 -run '^TestHelperFragile$' -v")
	m := printedReplay.FindStringSubmatch(out)
	require.NotNil(t, m, "no replay command in:\n%s", out)
	first := measuredLine.FindString(out)
	require.NotEmpty(t, first)
	replayed := goTest(t, "fragile", m[1]+" -count=1 -v")
	assert.NotContains(t, replayed, "setup failed")
	assert.Equal(t, 1, strings.Count(replayed, "broke the SLO"), "only the replayed trial runs:\n%s", replayed)
	assert.Equal(t, first, measuredLine.FindString(replayed), "the replay measures the same")
}

// TestHelperDeadline runs with a -timeout too short for any trial.
func TestHelperDeadline(t *testing.T) {
	helper(t, "deadline")
	db := faults.NewHook("db", 1)
	Run(t, Spec{
		Module:   "late",
		Threats:  []scenarios.Threat{scenarios.DBOutage(db, 2*time.Second)},
		Workload: through(store(db)),
		SLO:      SLO{SuccessRate: 0.99},
	})
	t.Log("after Run")
}

// A run whose deadline leaves no room for a trial is skipped, and its
// threats are not run, never met and never passed. (Before: every subtest
// passed and the report said "0 trials, SLO met".)
func TestNoTrialIsNotAPass(t *testing.T) {
	dir := t.TempDir()
	out := childIn(t, dir, "deadline", "^TestHelperDeadline$", "-test.timeout=900ms", "-rafael.out="+dir)
	assert.Contains(t, out, "--- SKIP: TestHelperDeadline/db-outage")
	assert.Contains(t, out, "--- SKIP: TestHelperDeadline ")
	assert.NotContains(t, out, "--- PASS")
	assert.NotContains(t, out, "after Run")
	rep, err := report.ReadFile(filepath.Join(dir, "TestHelperDeadline.late.partial.json"))
	require.NoError(t, err)
	assert.Equal(t, report.NotRun, rep.Threats[0].Status)
	assert.Contains(t, rep.Threats[0].NotRun, "raise -timeout")
	assert.Equal(t, string(report.NotRun), rep.Threats[0].Verdict)
}

// Two Runs in one test keep both reports, and the printed path exists
// after the test. (Before: the second overwrote the first.)
func TestTwoRunsInOneTestKeepBothReports(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("RAFAEL_OUT", dir)
	db := faults.NewHook("db", 1)
	spec := Spec{Module: "twice", Threats: []scenarios.Threat{scenarios.DBOutage(db, time.Second)}, Workload: through(store(db)), Trials: 1}
	a := Run(t, spec)
	spec.Genome = resilient()
	b := Run(t, spec)
	require.NotEmpty(t, a.Files)
	require.NotEmpty(t, b.Files)
	assert.NotEqual(t, a.Files[0], b.Files[0])
	for _, f := range append(a.Files, b.Files...) {
		assert.FileExists(t, f)
	}
	first, err := report.ReadFile(a.Files[0])
	require.NoError(t, err)
	assert.Equal(t, a.Genome, first.Genome, "the first run's report is the first run's")
}

// A request that never returns on its own is a failure, timed at the drain
// deadline, and scores the same on both tiers. (Before: the wire tier left
// such requests out and scored a permanent hang 94.0, the simulated tier
// 0.0.)
func TestAHangIsAFailureOnBothTiers(t *testing.T) {
	t.Setenv("RAFAEL_OUT", t.TempDir())
	scores := map[Tier]float64{}
	for _, tier := range []Tier{Simulated, Wire} {
		db := faults.NewHook("db", 1)
		rep := Run(t, Spec{
			Module:    "hangs-" + tier.String(),
			Threats:   []scenarios.Threat{scenarios.DBOutage(db, time.Second)},
			Workload:  func(ctx context.Context, _ *genome.Policy) error { <-ctx.Done(); return ctx.Err() },
			Tier:      tier,
			Trials:    1,
			Requests:  10,
			TimeScale: 0.1,
			Drain:     100 * time.Millisecond,
		})
		row := rep.Threats[0]
		require.Len(t, row.Trials, 1, tier)
		m := row.Trials[0].Metrics
		assert.Zero(t, m.Succeeded, tier)
		assert.Equal(t, 10, m.Requests-m.Succeeded, "%v: every request failed", tier)
		assert.Greater(t, m.FailedP50, time.Duration(0), "%v: failures are timed at the drain deadline", tier)
		assert.Zero(t, m.P99, "%v: no success, no success latency", tier)
		scores[tier] = rep.Baseline.Score
	}
	assert.Equal(t, scores[Simulated], scores[Wire], "one meaning for a score on both tiers")
}

// TestHelperSlowP99 breaks only its p99: 300ms of latency against a 50ms
// bound, every request succeeding.
func TestHelperSlowP99(t *testing.T) {
	helper(t, "p99")
	db := faults.NewHook("db", 1)
	Run(t, Spec{
		Module:   "slow",
		Threats:  []scenarios.Threat{scenarios.Latency(db, 300*time.Millisecond)},
		Workload: through(store(db)),
		SLO:      SLO{SuccessRate: 0.5, P99: 50 * time.Millisecond},
		Trials:   1,
	})
}

// A trial that breaks only its p99 is broken, and its score says so.
// (Before: such a trial scored 100.)
func TestBreakingP99AloneScoresBelowMet(t *testing.T) {
	dir := t.TempDir()
	out := childIn(t, dir, "p99", "^TestHelperSlowP99$", "-rafael.out="+dir)
	assert.Contains(t, out, "p99 latency")
	assert.Contains(t, out, "--- FAIL: TestHelperSlowP99/latency/seed=")
	rep, err := report.ReadFile(filepath.Join(dir, "TestHelperSlowP99.slow.json"))
	require.NoError(t, err)
	row := rep.Threats[0]
	require.Len(t, row.Trials, 1)
	require.NotEmpty(t, row.Trials[0].Violations)
	for _, v := range row.Trials[0].Violations {
		assert.Equal(t, "p99", v.Kind.String(), "only the p99 broke: %v", v)
	}
	assert.Equal(t, 1.0, row.Trials[0].Metrics.SuccessRate)
	assert.Equal(t, report.Broken, row.Status)
	assert.Less(t, row.Trials[0].Score, 50.0)
	assert.Less(t, rep.Baseline.Score, 50.0)
}

func TestPickSubtests(t *testing.T) {
	for run, picks := range map[string]bool{
		"":                               false,
		"TestCheckout":                   false,
		"^TestCheckout$/evolved":         false,
		"Test[/]x/(a/b)":                 false,
		`Test\/x/evolved`:                false,
		"TestCheckout/evolved/db-outage": true,
		"^TestCheckout$/^evolved$/^db-outage$/^property$": true,
		"TestA|TestB/evolved/latency/seed=9":              true,
	} {
		assert.Equal(t, picks, pickSubtests(run), "-run %q", run)
	}
}

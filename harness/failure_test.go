package harness

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/rafaelabs/rafael/evolve"
	"github.com/rafaelabs/rafael/faults"
	"github.com/rafaelabs/rafael/faults/toxiproxy"
	"github.com/rafaelabs/rafael/genome"
	"github.com/rafaelabs/rafael/scenarios"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The failure tests run the test binary again on a helper test that fails
// on purpose, and read what it printed: the harness's failure output is a
// user interface, so it is tested as one.

const helperEnv = "RAFAEL_HARNESS_HELPER"

// child runs the helper tests matching run with the helper mode set, and
// returns their output (and the exit error, expected when they fail).
func child(t *testing.T, mode, run string, args ...string) string {
	t.Helper()
	return childIn(t, t.TempDir(), mode, run, args...)
}

// childIn is child with the child's working directory dir: rapid's fail
// files land there, not in the package.
func childIn(t *testing.T, dir, mode, run string, args ...string) string {
	t.Helper()
	cmd := exec.Command(os.Args[0], append([]string{"-test.run=" + run, "-test.v", "-test.timeout=2m"}, args...)...)
	cmd.Env = append(os.Environ(), helperEnv+"="+mode)
	cmd.Dir = dir
	out, _ := cmd.CombinedOutput()
	return string(out)
}

func helper(t *testing.T, mode string) {
	if os.Getenv(helperEnv) != mode {
		t.Skip("a helper: run by the failure tests in a child process")
	}
}

// fragile is a workload with no retry and no timeout: every call that the
// outage refuses is a failed request.
func fragile(t *testing.T) Spec {
	db := faults.NewHook("db", 1)
	return Spec{
		Module:   "checkout",
		Threats:  []scenarios.Threat{scenarios.DBOutage(db, 2*time.Second)},
		Workload: through(store(db)),
		SLO:      SLO{SuccessRate: 0.99},
		Trials:   2,
	}
}

func TestHelperFragile(t *testing.T) {
	helper(t, "fragile")
	Run(t, fragile(t))
}

var (
	measuredLine = regexp.MustCompile(`(?m)^\s*measured: .*$`)
	replayLine   = regexp.MustCompile(`replay: go test \S+ -run '(\S+)' -rafael\.seed=(\d+)`)
)

func TestFragileWorkloadFailsWithTheReplayCommand(t *testing.T) {
	out := child(t, "fragile", "^TestHelperFragile$")
	require.Contains(t, out, "--- FAIL: TestHelperFragile", out)
	for _, want := range []string{
		"rafael: db-outage(outage=2s) [high] broke the SLO of checkout on the simulated tier (seed ",
		"is below the required 0.990",
		"error: ", "connection refused (injected down)",
		"--- FAIL: TestHelperFragile/db-outage/seed=",
	} {
		assert.Contains(t, out, want)
	}
	assert.Regexp(t, `success rate 0\.[0-9]{3} \(\d+ of 100\) is below the required 0\.990`, out)
	assert.Equal(t, 2, strings.Count(out, "broke the SLO"), "both trials fail")
	for _, attr := range []string{"module checkout", "tier simulated", "seed ", "score ", "report "} {
		assert.Contains(t, out, "=== ATTR  TestHelperFragile rafael."+attr, "go test -json and JUnit show the run's metadata")
	}

	// The replay command runs that one trial again and measures exactly the same.
	m := replayLine.FindStringSubmatch(out)
	require.NotNil(t, m, out)
	first := measuredLine.FindString(out)
	replayed := child(t, "fragile", m[1], "-rafael.seed="+m[2])
	assert.Equal(t, 1, strings.Count(replayed, "broke the SLO"), "only the replayed trial runs:\n%s", replayed)
	assert.Equal(t, first, measuredLine.FindString(replayed), "the replay measures the same")
	assert.Contains(t, replayed, m[1][strings.LastIndex(m[1], "seed="):len(m[1])-1])
}

// The hang helpers: a workload that ignores its context. "durable" blocks
// forever on a channel of its own (synctest sees the deadlock); "real"
// blocks on a channel made outside the bubble, which synctest cannot see
// through, so only the watchdog can end the trial.
func TestHelperHangDurable(t *testing.T) {
	helper(t, "hang")
	db := faults.NewHook("db", 1)
	Run(t, Spec{
		Module:  "stuck",
		Threats: []scenarios.Threat{scenarios.DBOutage(db, time.Second)},
		Workload: func(ctx context.Context, p *genome.Policy) error {
			if db.Before(ctx) != nil {
				select {} // ignores ctx
			}
			return nil
		},
		Trials: 1,
	})
}

var outside = make(chan struct{})

func TestHelperHangWatchdog(t *testing.T) {
	helper(t, "hang")
	db := faults.NewHook("db", 1)
	Run(t, Spec{
		Module:  "stuck",
		Threats: []scenarios.Threat{scenarios.DBOutage(db, time.Second)},
		Workload: func(ctx context.Context, p *genome.Policy) error {
			if db.Before(ctx) != nil {
				<-outside // made outside the bubble: not durably blocking
			}
			return nil
		},
		Trials:   3,
		Watchdog: time.Second,
	})
}

func TestHelperZAfterTheHangs(t *testing.T) {
	helper(t, "hang")
	db := faults.NewHook("db", 1)
	Run(t, Spec{Module: "fine", Threats: []scenarios.Threat{scenarios.DBOutage(db, time.Second)}, Workload: through(store(db)), Trials: 1})
}

func TestAHangingWorkloadIsAFailedTrialAndTheTestsGoOn(t *testing.T) {
	out := child(t, "hang", "^TestHelper(HangDurable|HangWatchdog|ZAfterTheHangs)$")
	durable := section(out, "=== RUN   TestHelperHangDurable", "=== RUN   TestHelperHangWatchdog")
	assert.Contains(t, durable, "--- FAIL: TestHelperHangDurable/db-outage/seed=")
	assert.Contains(t, durable, "request(s) never returned, even after their context was cancelled")
	assert.Contains(t, durable, "deadlock: main bubble goroutine has exited but blocked goroutines remain")
	assert.Contains(t, durable, "goroutines of the trial:")
	assert.Regexp(t, `goroutine \d+ \[select \(no cases\) \(durable\), synctest bubble \d+\]`, durable, "the dump shows the stuck request")

	watchdog := section(out, "=== RUN   TestHelperHangWatchdog", "=== RUN   TestHelperZAfterTheHangs")
	assert.Contains(t, watchdog, "--- FAIL: TestHelperHangWatchdog/db-outage/seed=")
	assert.Contains(t, watchdog, "the trial hung: it was still running after 1s of real time")
	assert.Regexp(t, `goroutine \d+ \[chan receive, synctest bubble \d+\]`, watchdog, "the dump shows the non-durable wait")
	assert.Contains(t, watchdog, "harness.TestHelperHangWatchdog.func1", "…in the workload")
	assert.Contains(t, watchdog, "left goroutines behind", "the abandoned goroutines are reported as leaks")
	assert.Contains(t, watchdog, "1 of 3 trials ran: an earlier trial hung in its synctest bubble", "no trial runs after a hang")
	assert.Equal(t, 1, strings.Count(watchdog, "--- FAIL: TestHelperHangWatchdog/db-outage/seed="))
	assert.Contains(t, watchdog, "faults.NewHook(…).Remote()", "the hang names the fix for a real client behind a func hook")

	assert.Contains(t, out, "--- PASS: TestHelperZAfterTheHangs", "the tests after a hang still run and pass:\n%s", out)
}

// section returns the part of s from the line starting with from up to to.
func section(s, from, to string) string {
	i := strings.Index(s, from)
	if i < 0 {
		return ""
	}
	s = s[i:]
	if j := strings.Index(s, to); j >= 0 {
		s = s[:j]
	}
	return s
}

// crashing is a spec whose workload kills its process for every genome but
// the starting one, either by os.Exit or by a panic on a goroutine of its
// own, and only in the child processes of Subprocess isolation.
func crashing(how string) Spec {
	db := faults.NewHook("db", 1)
	spec := Spec{
		Module:  "crashy",
		Genome:  &genome.Genome{},
		Threats: []scenarios.Threat{scenarios.DBOutage(db, time.Second)},
		SLO:     SLO{SuccessRate: 0.99},
		Trials:  1,
		Evolve:  &evolve.Options{Isolation: evolve.Subprocess, Population: 4, Generations: 2, Patience: 10},
	}
	start := spec.startGenome().Digest()
	call := store(db)
	spec.Workload = func(ctx context.Context, p *genome.Policy) error {
		if os.Getenv(envEvaluate) != "" && p.Digest() != start {
			switch how {
			case "exit":
				os.Exit(3)
			case "panic":
				done := make(chan struct{})
				go func() { defer close(done); panic("the workload's own goroutine panicked") }()
				<-done
			}
		}
		return p.Do(ctx, call)
	}
	return spec
}

func TestHelperCrashExit(t *testing.T) {
	helper(t, "crash")
	rep := Run(t, crashing("exit"))
	t.Logf("search went on: %d generations, champion %s", len(rep.History), rep.Champion)
}

func TestHelperCrashPanic(t *testing.T) {
	helper(t, "crash")
	rep := Run(t, crashing("panic"))
	t.Logf("search went on: %d generations, champion %s", len(rep.History), rep.Champion)
}

func TestSubprocessIsolationSurvivesACrashingWorkload(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a process per candidate")
	}
	out := child(t, "crash", "^TestHelperCrash(Exit|Panic)$")
	for _, name := range []string{"TestHelperCrashExit", "TestHelperCrashPanic"} {
		part := section(out, "=== RUN   "+name, "--- FAIL: "+name+" ")
		has(t, part, "crashed its process")
		has(t, part, "generation 1: best") // the search went on after the crashes
		has(t, part, "search went on: ")
		has(t, part, "kept: the incumbent is still the best")
	}
	has(t, out, "crashed its process (exit status 3)")
	has(t, out, "panic: the workload's own goroutine panicked")
}

// has checks that out contains want, and on failure shows want, not out.
func has(t *testing.T, out, want string) {
	t.Helper()
	if !strings.Contains(out, want) {
		t.Errorf("the output lacks %q (%d bytes of output)", want, len(out))
	}
}

// TestHelperUnfixable evolves a workload that no genome can save: it marks
// every refusal permanent, so nothing retries it.
func TestHelperUnfixable(t *testing.T) {
	helper(t, "unfixable")
	db := faults.NewHook("db", 1)
	call := store(db)
	rep := Run(t, Spec{
		Module:  "unfixable",
		Threats: []scenarios.Threat{scenarios.DBOutage(db, 2*time.Second)},
		Workload: func(ctx context.Context, p *genome.Policy) error {
			return p.Do(ctx, func(ctx context.Context) error { return genome.Permanent(call(ctx)) })
		},
		SLO:    SLO{SuccessRate: 0.99},
		Trials: 1,
		Evolve: &evolve.Options{Population: 4, Generations: 2},
	})
	for _, cx := range rep.Counterexamples {
		t.Logf("counterexample: %s seed=%d replay=%s", cx.Threat, cx.Seed, cx.Replay)
	}
}

var breaksLine = regexp.MustCompile(`(?m)^\s*evolution\.go:\d+: rafael: (.* breaks the evolved genome \(trial seed \d+\).*)$`)

func TestACounterexampleIsShrunkAndReplays(t *testing.T) {
	dir := t.TempDir()
	out := childIn(t, dir, "unfixable", "^TestHelperUnfixable$")
	has(t, out, "--- FAIL: TestHelperUnfixable/evolved/db-outage/property")
	// rapid shrank the outage to the smallest the generator allows.
	has(t, out, "counterexample: db-outage(outage=500ms) [high]")
	has(t, out, "[rapid] failed after")
	files, _ := filepath.Glob(filepath.Join(dir, "testdata", "rapid", "TestHelperUnfixable_evolved_db-outage_property", "*.fail"))
	assert.Len(t, files, 1, "the shrunk failure is kept as a rapid fail file")

	m := regexp.MustCompile(`counterexample: .* replay=go test \S+ -run '(\S+)' -rafael\.seed=(\d+)`).FindStringSubmatch(out)
	require.NotNil(t, m, "the report carries the replay command")
	first := breaksLine.FindStringSubmatch(out)
	require.NotNil(t, first)
	replayed := childIn(t, dir, "unfixable", m[1], "-rafael.seed="+m[2])
	again := breaksLine.FindStringSubmatch(replayed)
	require.NotNil(t, again, "the replay fails again")
	assert.Equal(t, first[1], again[1], "with the same threat, seed and measurements")
	has(t, replayed, "[rapid] failed after 0 tests") // the fail file, replayed first
}

// TestHelperUpstreamDown runs a wire trial through a proxy whose upstream
// is not running.
func TestHelperUpstreamDown(t *testing.T) {
	helper(t, "upstream-down")
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	closed := l.Addr().String()
	require.NoError(t, l.Close())
	p := toxiproxy.Start(t, "postgres", closed)
	Run(t, Spec{
		Module:  "checkout",
		Threats: []scenarios.Threat{scenarios.Latency(p, 10*time.Millisecond, scenarios.InjectFor(200*time.Millisecond))},
		Workload: func(ctx context.Context, _ *genome.Policy) error {
			c, err := (&net.Dialer{}).DialContext(ctx, "tcp", p.Addr())
			if err == nil {
				c.Close()
			}
			return err
		},
		SLO:      SLO{SuccessRate: 0.9},
		Requests: 5,
	})
}

// An upstream down before any fault is the setup's failure: the trial fails
// saying so, once — not measured again, not "broke the SLO".
func TestAnUpstreamDownFailsAsSetupNotAsTheThreat(t *testing.T) {
	out := child(t, "upstream-down", "^TestHelperUpstreamDown$")
	require.Contains(t, out, "--- FAIL: TestHelperUpstreamDown", out)
	assert.Contains(t, out, "could not run as declared on the wire tier")
	assert.Contains(t, out, `is not reachable before any fault was injected`)
	assert.NotContains(t, out, "broke the SLO")
	assert.NotContains(t, out, "measured again")
}

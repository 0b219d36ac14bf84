package harness

import (
	"context"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/rafaelabs/rafael/faults"
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
	cmd := exec.Command(os.Args[0], append([]string{"-test.run=" + run, "-test.v", "-test.timeout=2m"}, args...)...)
	cmd.Env = append(os.Environ(), helperEnv+"="+mode)
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
	replayLine   = regexp.MustCompile(`replay: go test -run '(\S+)' -rafael\.seed=(\d+) \./harness`)
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
		Trials:   1,
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

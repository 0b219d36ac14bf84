package harness

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
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

// recorder is a fake test that records what a check reports.
type recorder struct{ errors []string }

func (r *recorder) Helper() {}
func (r *recorder) Errorf(format string, args ...any) {
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}

// parked is what parkForever waits on; the tests close it to end their
// goroutines.
var parked = make(chan struct{})

// parkForever is a goroutine that ignores every context: a leak.
func parkForever() { <-parked }

// keepAlive starts an HTTP server on loopback and a client with a keep-alive
// pool; the test's cleanups close both, as a user's test would.
func keepAlive(t *testing.T) (*http.Client, string) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	t.Cleanup(srv.Close)
	transport := &http.Transport{MaxIdleConnsPerHost: 8}
	t.Cleanup(transport.CloseIdleConnections)
	return &http.Client{Transport: transport}, srv.URL
}

func get(ctx context.Context, c *http.Client, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, err = io.Copy(io.Discard, resp.Body)
	return err
}

// asRun runs fn on the calling goroutine labelled as run id's, as Run does:
// the goroutines fn starts carry the label.
func asRun(id string, fn func()) {
	pprof.Do(context.Background(), pprof.Labels(runLabel, id), func(context.Context) { fn() })
}

// The check passes over a keep-alive connection left idle in its pool (two
// goroutines on the client's side, one on the server's), and reports a
// goroutine that ignores its context, with its stack.
func TestLeakCheckTellsPooledClientsFromLeaks(t *testing.T) {
	client, url := keepAlive(t)
	lc := newLeakCheck("api", "pooled", nil)
	lc.end()
	asRun("pooled", func() { require.NoError(t, get(t.Context(), client, url)) })

	var rec recorder
	lc.report(&rec)
	assert.Empty(t, rec.errors, "an idle keep-alive connection is the client's, closed by the test's cleanups")

	done := make(chan struct{})
	asRun("pooled", func() { go func() { defer close(done); parkForever() }() })
	lc.report(&rec)
	parked <- struct{}{}
	<-done
	require.Len(t, rec.errors, 1)
	assert.Contains(t, rec.errors[0], "rafael: api left goroutines behind")
	assert.Contains(t, rec.errors[0], "harness.parkForever", "the leaked goroutine's stack")
	assert.NotContains(t, rec.errors[0], "persistConn", "the pooled connection is not reported")
}

// A goroutine another test started — another run's, or no run's — is not
// this run's leak, though goleak sees it: tests may run in parallel.
func TestLeakCheckBlamesARunOnlyForItsOwnGoroutines(t *testing.T) {
	lc := newLeakCheck("api", "mine", nil)
	lc.end()
	done := make(chan struct{}, 2)
	asRun("someone else's", func() { go func() { defer func() { done <- struct{}{} }(); parkForever() }() })
	go func() { defer func() { done <- struct{}{} }(); parkForever() }()
	var rec recorder
	lc.report(&rec)
	parked <- struct{}{}
	parked <- struct{}{}
	<-done
	<-done
	assert.Empty(t, rec.errors)
}

// A check of a run that ended early (a fatal error) reports nothing: the
// error already says what went wrong.
func TestLeakCheckOfARunThatEndedEarlyIsQuiet(t *testing.T) {
	lc := newLeakCheck("api", "early", nil)
	done := make(chan struct{})
	asRun("early", func() { go func() { defer close(done); parkForever() }() })
	var rec recorder
	lc.report(&rec)
	parked <- struct{}{}
	<-done
	assert.Empty(t, rec.errors)
}

// A hook in front of a real HTTP transport is networked, so Run picks the
// wire tier; the client's keep-alive connections, still pooled when the run
// ends and closed by the test's cleanups, pass the leak check without
// LeakOptions. (On the code before, the run went to the simulated tier, where
// real TCP hangs the synctest bubble, and the pooled connections failed the
// leak check.)
func TestRunWithAKeepAliveClientClosedInCleanup(t *testing.T) {
	client, url := keepAlive(t)
	api := faults.NewHook("api", 1)
	client.Transport = faults.RoundTripper(api, client.Transport)
	var calls atomic.Int64
	rep := Run(t, Spec{
		Module:  "api-client",
		Genome:  &genome.Genome{Retry: &genome.Retry{MaxAttempts: 20, BaseDelay: 10 * time.Millisecond, MaxDelay: 50 * time.Millisecond, Multiplier: 2}},
		Threats: []scenarios.Threat{scenarios.DBOutage(api, 2*time.Second)},
		Workload: func(ctx context.Context, p *genome.Policy) error {
			calls.Add(1)
			return p.Do(ctx, func(ctx context.Context) error { return get(ctx, client, url) })
		},
		SLO:       SLO{SuccessRate: 0.95},
		TimeScale: 0.1,
		Requests:  20,
	})
	assert.Equal(t, "wire", rep.Tier)
	require.Len(t, rep.Threats, 1)
	require.Len(t, rep.Threats[0].Trials, 1)
	m := rep.Threats[0].Trials[0].Metrics
	assert.NotEqual(t, report.Broken, rep.Threats[0].Status, "%+v", rep.Threats[0].Trials)
	assert.Equal(t, 20, m.Requests)
	assert.GreaterOrEqual(t, m.SuccessRate, 0.95)
	assert.Greater(t, m.AttemptsPerRequest, 1.0, "the hook refused requests during the outage")
	assert.EqualValues(t, 20, calls.Load())
}

func TestHelperLeakingWorkload(t *testing.T) {
	helper(t, "leak")
	db := faults.NewHook("db", 1)
	var once sync.Once
	Run(t, Spec{
		Module:  "leaky",
		Threats: []scenarios.Threat{scenarios.DBOutage(db, time.Second)},
		Workload: func(ctx context.Context, p *genome.Policy) error {
			once.Do(func() { go parkForever() })
			return p.Do(ctx, faults.FuncErr(db, func(context.Context) error { return nil }))
		},
		Tier:      Wire,
		TimeScale: 0.1,
		Requests:  10,
	})
}

// A workload that starts a goroutine and never stops it fails its test, with
// the goroutine's stack, though every trial passed.
func TestALeakingWorkloadFailsWithItsStack(t *testing.T) {
	out := child(t, "leak", "^TestHelperLeakingWorkload$")
	assert.Contains(t, out, "--- PASS: TestHelperLeakingWorkload/db-outage/seed=", "the trial itself passed:\n%s", out)
	assert.Contains(t, out, "--- FAIL: TestHelperLeakingWorkload ")
	assert.Contains(t, out, "rafael: leaky left goroutines behind after its trials")
	assert.Contains(t, out, "harness.parkForever", "the leaked goroutine's stack")
	assert.Contains(t, out, "harness.TestHelperLeakingWorkload.func1.1", "…and where it was started")
}

// TestHelperParallelRuns runs eight modules as parallel subtests: seven
// evolve on the simulated tier, the fourth runs on the wire tier and its
// workload leaks a goroutine.
func TestHelperParallelRuns(t *testing.T) {
	helper(t, "parallel")
	for i := range 8 {
		t.Run(fmt.Sprintf("module-%d", i), func(t *testing.T) {
			t.Parallel()
			db := faults.NewHook("db", uint64(i))
			spec := Spec{
				Module:   fmt.Sprintf("shared-%d", i),
				Genome:   resilient(),
				Threats:  []scenarios.Threat{scenarios.DBOutage(db, time.Second), scenarios.Latency(db, 200*time.Millisecond)},
				Workload: through(store(db)),
				SLO:      SLO{SuccessRate: 0.9},
				Evolve:   &evolve.Options{Generations: 3, Population: 6},
			}
			if i == 3 { // a wire run whose workload starts a goroutine it never stops
				var once sync.Once
				spec.Workload = func(ctx context.Context, p *genome.Policy) error {
					once.Do(func() { go parkForever() })
					return p.Do(ctx, faults.FuncErr(db, func(context.Context) error { return nil }))
				}
				spec.Tier, spec.TimeScale, spec.Requests, spec.Evolve = Wire, 0.1, 10, nil
			}
			Run(t, spec)
		})
	}
}

// Runs in parallel subtests each check their own goroutines: the leaking
// module fails, naming its goroutine, and the seven others pass, run after
// run.
func TestParallelRunsEachCheckTheirOwnGoroutines(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: skipping five rounds of eight parallel evolving runs")
	}
	// Five rounds share the child's deadline, which bounds each evolution:
	// on a busy machine 2m (child's default) ran the last round out of time.
	out := child(t, "parallel", "^TestHelperParallelRuns$", "-test.count=5", "-test.parallel=8", "-test.timeout=10m")
	for i := range 8 {
		name := fmt.Sprintf("TestHelperParallelRuns/module-%d ", i)
		if i == 3 {
			assert.Equal(t, 5, strings.Count(out, "--- FAIL: "+name), "the leaking module fails every round:\n%s", out)
			continue
		}
		assert.Equal(t, 5, strings.Count(out, "--- PASS: "+name), "module %d passes every round:\n%s", i, out)
	}
	assert.Equal(t, 5, strings.Count(out, "rafael: shared-3 left goroutines behind"), "only the leaking module is blamed")
	assert.Contains(t, out, "harness.parkForever")
}

// Parallel runs of one spec and seed measure the same, trial for trial, as
// the simulated tier's virtual time promises (the goroutine peak aside: it
// counts the process's goroutines).
func TestParallelRunsMeasureTheSame(t *testing.T) {
	reps := make([]*report.Report, 4)
	t.Run("group", func(t *testing.T) {
		for i := range reps {
			t.Run(fmt.Sprintf("run-%d", i), func(t *testing.T) {
				t.Parallel()
				db := faults.NewHook("db", 1)
				reps[i] = Run(t, Spec{
					Module:   "same",
					Genome:   resilient(),
					Threats:  []scenarios.Threat{scenarios.DBOutage(db, time.Second), scenarios.Latency(db, 50*time.Millisecond)},
					Workload: through(store(db)),
					SLO:      SLO{SuccessRate: 0.9},
					Seed:     7,
				})
			})
		}
	})
	metrics := func(r *report.Report) []report.Metrics {
		var ms []report.Metrics
		for _, th := range r.Threats {
			for _, tr := range th.Trials {
				m := tr.Metrics
				m.PeakGoroutines = 0
				ms = append(ms, m)
			}
		}
		return ms
	}
	require.NotNil(t, reps[0])
	for _, r := range reps[1:] {
		require.NotNil(t, r)
		assert.Equal(t, metrics(reps[0]), metrics(r))
	}
}

// TestHelperParallelModules runs $RAFAEL_HARNESS_MODULES evolving modules
// as parallel subtests; BENCHMARKS.md runs it 100 times in a row:
//
//	RAFAEL_HARNESS_HELPER=modules RAFAEL_HARNESS_MODULES=8 go test -run '^TestHelperParallelModules$' -count=100 ./harness/
func TestHelperParallelModules(t *testing.T) {
	helper(t, "modules")
	n, err := strconv.Atoi(os.Getenv("RAFAEL_HARNESS_MODULES"))
	require.NoError(t, err, "RAFAEL_HARNESS_MODULES: how many modules")
	for i := range n {
		t.Run(fmt.Sprintf("module-%d", i), func(t *testing.T) {
			t.Parallel()
			db := faults.NewHook("db", uint64(i))
			Run(t, Spec{
				Module:   fmt.Sprintf("module-%d", i),
				Genome:   resilient(),
				Threats:  []scenarios.Threat{scenarios.DBOutage(db, time.Second), scenarios.Latency(db, 200*time.Millisecond)},
				Workload: through(store(db)),
				SLO:      SLO{SuccessRate: 0.9},
				Evolve:   &evolve.Options{Generations: 6, Population: 8},
			})
		})
	}
}

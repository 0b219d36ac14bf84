package harness

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"os"
	"runtime"
	"runtime/pprof"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rafaelabs/rafael/genome"
	"github.com/rafaelabs/rafael/internal/seed"
	"github.com/rafaelabs/rafael/internal/trial"
	"github.com/rafaelabs/rafael/report"
	"github.com/rafaelabs/rafael/scenarios"
)

// Run runs spec's threats against its workload as subtests of t, one per
// trial, named "<threat>/seed=<n>", and returns the report. A trial that
// breaks the SLO fails its subtest with what broke and by how much, the
// seed and the command that replays it; on the wire tier a broken trial is
// measured again, and one that then meets the SLO is reported unstable with
// both measurements. A threat none of whose trials ran (the test's
// deadline came first) is skipped and reported as not run. An invalid spec
// fails t before any trial runs. Once the run's cleanups have run (after Run
// returns, with those the test registered after calling Run), a goleak
// check fails the test if the run left a goroutine behind; it knows the
// background goroutines of common pooled clients, which the test's own
// cleanups close.
//
// Run may be called from parallel tests (t.Parallel): the goroutines it
// starts carry the pprof label rafael.run=<t.Name()>, and its leak check
// blames it only for those. The simulated tier runs in virtual time, so
// parallel runs measure the same as one alone, but for the goroutine peak,
// which counts the process's goroutines; the wire tier measures real
// latency, which other tests running at the same time skew.
//
// Flags (each with an environment mirror, used when the flag is absent):
// -rafael.seed (RAFAEL_SEED) sets the run's seed; -rafael.tier (RAFAEL_TIER)
// runs only the specs of one tier and skips the others; -rafael.trials
// (RAFAEL_TRIALS) sets the trials per threat; -rafael.out (RAFAEL_OUT) is
// where reports go (default: rafael-out/reports at the module's root, or
// the test's artifact directory with go test -artifacts); -rafael.update
// (RAFAEL_UPDATE) proposes an evolved champion to the guardian, which writes
// the module's genome file when it approves; -rafael.dir (RAFAEL_DIR) is the
// guardian's directory instead of Spec.Dir; -rafael.strict (RAFAEL_STRICT)
// fails unstable trials too.
// With -short a threat gets one trial. Run stops starting trials when the
// test's deadline (-timeout) is near.
func Run(t *testing.T, spec Spec) *report.Report {
	t.Helper()
	started := time.Now()
	set, err := readSettings(os.Getenv)
	if err == nil {
		err = spec.Validate()
	}
	if err != nil {
		t.Fatalf("rafael: %v", err)
	}
	// Every goroutine the run starts, from here on, carries its label: the
	// leak check tells them from other tests' by it.
	var rep *report.Report
	pprof.Do(context.Background(), pprof.Labels(runLabel, t.Name()), func(context.Context) {
		rep = run(t, spec, set, started)
	})
	return rep
}

// run is Run once the settings are read and the spec is valid.
func run(t *testing.T, spec Spec, set settings, started time.Time) *report.Report {
	t.Helper()
	if evaluateInChild(t, spec, set) {
		t.SkipNow()
	}
	r := plan(t, spec, set)
	if set.tier != Auto && set.tier != r.tier {
		t.Skipf("rafael: %s is a %s-tier run; skipped by %s", spec.Module, r.tier, strings.Join(set.sources, " "))
	}
	r.startFromAdopted(t) // not in plan: a subprocess evaluating candidates gets its genome from its job
	leaks := watchLeaks(t, spec, t.Name())
	t.Logf("rafael: %s on the %s tier, seed %d: %d threat(s) × %d trial(s)", spec.Module, r.tier, r.seed, len(spec.Threats), r.trials)

	rep := &report.Report{
		SchemaVersion: report.SchemaVersion,
		Module:        spec.Module,
		Test:          t.Name(),
		Package:       r.pkg,
		Seed:          r.seed,
		Tier:          r.tier.String(),
		GoVersion:     runtime.Version(),
		Start:         started.UTC(),
		SLO:           spec.SLO,
		Genome:        r.genome.Digest(),
	}
	r.baseline(t, rep)
	rep.Derive()
	if spec.Evolve != nil && !t.Failed() && r.budget(t) == "" {
		r.evolved(t, rep)
	}
	rep.End = time.Now().UTC()
	rep.Derive()
	for _, th := range rep.Threats {
		if th.Untouched != "" {
			t.Logf("rafael: warning: %s (its verdict says nothing about the code under test)", th.Untouched)
		}
	}
	r.write(t, rep)
	if r.sim != nil {
		r.sim.Close()
	}
	leaks.ignore(lingering(spec.Threats)...)
	leaks.end()
	if why := r.budget(t); rep.Baseline.Trials == 0 && why != "" {
		t.Skipf("rafael: %s: no trial ran, nothing is judged: %s", spec.Module, why)
	}
	return rep
}

// runner is a resolved spec: what one Run does.
type runner struct {
	spec    Spec
	set     settings
	tier    Tier
	seed    uint64
	trials  int
	cfg     trial.Config
	genome  *genome.Genome
	threats []scenarios.Threat // scaled for the wire tier
	scale   float64
	sim     *trial.Sim    // runs the simulated tier's trials; nil on the wire tier
	pkg     string        // the package, for replay commands: "./examples_test"
	test    string        // the test that called Run: what a child process runs
	box     *Sandbox      // non-nil: trials run in sandboxes (see Sandbox)
	unboxed atomic.Bool   // the log said that a threat a child cannot rebuild runs here
	longest time.Duration // the longest real time a trial took so far

	workers    int                     // the search's workers
	sideBySide atomic.Bool             // the search's trials measured the same side by side as one at a time
	ahead      map[string]trial.Result // trials measured ahead of their subtests (see checkAhead), by aheadKey

	// abandoned says why no more trials run: a simulated trial hung and its
	// bubble was abandoned. What hung there may be a real client's
	// goroutines; the next bubble that touches them is a fatal error that
	// ends the test binary, every other test with it.
	abandoned string
}

// plan resolves spec's defaults against the settings and the test.
func plan(t *testing.T, spec Spec, set settings) *runner {
	r := &runner{spec: spec, set: set, tier: spec.tier(), genome: spec.startGenome(), scale: 1, pkg: packagePath(), test: t.Name(), ahead: map[string]trial.Result{}}
	if spec.sandboxed() {
		r.box = cmp.Or(spec.Sandbox, &Sandbox{})
	}
	r.seed = cmp.Or(set.seed, spec.Seed, seed.String(t.Name())|1)
	r.trials = cmp.Or(set.trials, spec.Trials)
	switch {
	case set.trials > 0:
	case testing.Short():
		r.trials = 1
	case r.trials == 0 && r.tier == Wire:
		r.trials = 1
	case r.trials == 0:
		r.trials = 3
	}
	if spec.TimeScale > 0 && r.tier == Wire {
		r.scale = spec.TimeScale
	}
	r.cfg = trial.Config{Workload: trial.Workload(spec.Workload), Requests: spec.Requests, Drain: spec.Drain, Watchdog: spec.Watchdog, Weights: spec.Weights,
		Terms: spec.Terms, LatencyRef: spec.SLO.P99, RecoverWithin: spec.SLO.RecoverWithin}
	if r.tier == Simulated {
		r.sim = trial.NewSim()
		t.Cleanup(r.sim.Close)
	}
	for _, th := range spec.Threats {
		r.threats = append(r.threats, scaled(th, r.scale))
	}
	return r
}

// scaled returns th with its phases and steps scaled by f.
func scaled(th scenarios.Threat, f float64) scenarios.Threat {
	if f == 1 {
		return th
	}
	d := func(v time.Duration) time.Duration { return time.Duration(math.Round(float64(v) * f)) }
	th.Steady, th.Inject, th.Recover = d(th.Steady), d(th.Inject), d(th.Recover)
	steps := make([]scenarios.Step, len(th.Steps))
	for i, s := range th.Steps {
		s.At, s.For = d(s.At), d(s.For)
		steps[i] = s
	}
	th.Steps = steps
	if th.Flood != nil {
		fl := *th.Flood
		fl.Duration = max(time.Millisecond, d(fl.Duration))
		th.Flood = &fl
	}
	return th
}

// budget says why another trial does not fit before the test's deadline,
// or "" when it does.
func (r *runner) budget(t *testing.T) string {
	if r.abandoned != "" {
		return r.abandoned
	}
	dl, ok := t.Deadline()
	if !ok {
		return ""
	}
	need := 2*r.longest + time.Second
	if r.tier == Wire {
		need += r.threats[0].Duration()
	}
	if left := time.Until(dl); left < need {
		return fmt.Sprintf("the test's deadline is %v away and a trial needs about %v: raise -timeout to run it", left.Round(time.Millisecond), need.Round(time.Millisecond))
	}
	return ""
}

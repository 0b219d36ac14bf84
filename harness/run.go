package harness

import (
	"cmp"
	"fmt"
	"math"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/rafaelabs/rafael/genome"
	"github.com/rafaelabs/rafael/internal/seed"
	"github.com/rafaelabs/rafael/report"
	"github.com/rafaelabs/rafael/scenarios"
	"go.uber.org/goleak"
)

// Run runs spec's threats against its workload as subtests of t, one per
// trial, named "<threat>/seed=<n>", and returns the report. A trial that
// breaks the SLO fails its subtest with the measured and required figures,
// the seed and the command that replays it. An invalid spec fails t before
// any trial runs. After the trials Run checks, with goleak, that the run left
// no goroutine behind.
//
// Flags (each with an environment mirror, used when the flag is absent):
// -rafael.seed (RAFAEL_SEED) sets the run's seed; -rafael.tier (RAFAEL_TIER)
// runs only the specs of one tier and skips the others; -rafael.trials
// (RAFAEL_TRIALS) sets the trials per threat; -rafael.out (RAFAEL_OUT) is
// where reports go instead of t.ArtifactDir(); -rafael.update
// (RAFAEL_UPDATE) proposes an evolved champion to the guardian, which writes
// the module's genome file when it approves; -rafael.dir (RAFAEL_DIR) is the
// guardian's directory instead of Spec.Dir.
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
	if evaluateInChild(t, spec, set) {
		t.SkipNow()
	}
	r := plan(t, spec, set)
	if set.tier != Auto && set.tier != r.tier {
		t.Skipf("rafael: %s is a %s-tier run; skipped by %s", spec.Module, r.tier, strings.Join(set.sources, " "))
	}
	leaks := watchLeaks(t, spec)
	t.Logf("rafael: %s on the %s tier, seed %d: %d threat(s) × %d trial(s)", spec.Module, r.tier, r.seed, len(spec.Threats), r.trials)

	rep := &report.Report{
		SchemaVersion: report.SchemaVersion,
		Module:        spec.Module,
		Seed:          r.seed,
		Tier:          r.tier.String(),
		GoVersion:     runtime.Version(),
		Start:         started.UTC(),
		SLO:           report.SLO(spec.SLO),
		Genome:        r.genome.Digest(),
	}
	for i, th := range r.threats {
		row := report.Threat{Name: th.Name, Threat: th.String(), Severity: th.Severity.String(), Passed: true}
		t.Run(th.Name, func(t *testing.T) {
			for j := range r.trials {
				if !r.budget(t) {
					break
				}
				s := seed.Mix(r.seed, uint64(i), uint64(j))
				t.Run(fmt.Sprintf("seed=%d", s), func(t *testing.T) {
					tr := r.trial(t, th, r.genome, s, r.spec.Evolve != nil, &row.Latency)
					row.Trials = append(row.Trials, tr)
					row.Passed = row.Passed && tr.Passed
				})
			}
		})
		row.Score = report.ScoreOf(row.Trials)
		rep.Threats = append(rep.Threats, row)
	}
	rep.Baseline, _ = report.Overall(rep.Threats)
	if spec.Evolve != nil && !t.Failed() {
		r.evolved(t, rep)
	}
	rep.End = time.Now().UTC()
	r.write(t, rep)
	if r.tier == Wire {
		leaks.ignore(proxyGoroutines...)
	}
	leaks.end()
	return rep
}

// proxyGoroutines are the goroutines of the embedded Toxiproxy's live
// connections: they belong to the proxy, which the test's cleanup closes
// after Run returns (faults' own tests check it leaves nothing behind).
var proxyGoroutines = []goleak.Option{
	goleak.IgnoreAnyFunction("github.com/Shopify/toxiproxy/v2.(*ToxicLink).read"),
	goleak.IgnoreAnyFunction("github.com/Shopify/toxiproxy/v2/toxics.(*ToxicStub).Run"),
	goleak.IgnoreAnyFunction("github.com/Shopify/toxiproxy/v2.(*ToxicLink).write"),
	goleak.IgnoreAnyFunction("github.com/Shopify/toxiproxy/v2.(*Proxy).server"),
	goleak.IgnoreAnyFunction("github.com/Shopify/toxiproxy/v2.(*Proxy).freeBlocker"),
	goleak.IgnoreAnyFunction("github.com/Shopify/toxiproxy/v2/stream.(*ChanWriter).Write"),
}

// runner is a resolved spec: what one Run does.
type runner struct {
	spec     Spec
	set      settings
	tier     Tier
	seed     uint64
	trials   int
	requests int
	scale    float64
	watchdog time.Duration
	genome   *genome.Genome
	threats  []scenarios.Threat // scaled for the wire tier
	pkg      string             // the package, for replay commands: "./examples_test"
	perTrial time.Duration      // the longest real time a trial took so far
	hist     *hdrhistogram.Histogram
	hold     func(n int64, onErr func(error)) func() // the simulated tier's shared ballast; nil on the wire tier
}

// plan resolves spec's defaults against the settings and the test.
func plan(t *testing.T, spec Spec, set settings) *runner {
	r := &runner{spec: spec, set: set, tier: spec.tier(), genome: spec.startGenome(), hist: newHistogram()}
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
	r.requests = cmp.Or(spec.Requests, 100)
	r.scale = 1
	if spec.TimeScale > 0 && r.tier == Wire {
		r.scale = spec.TimeScale
	}
	r.watchdog = cmp.Or(spec.Watchdog, 20*time.Second)
	for _, th := range spec.Threats {
		r.threats = append(r.threats, scaled(th, r.scale))
	}
	r.pkg = packagePath()
	if r.tier == Simulated {
		b := &sharedBallast{}
		r.hold = b.hold
		t.Cleanup(b.release)
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

// budget reports whether another trial fits before the test's deadline.
func (r *runner) budget(t *testing.T) bool {
	dl, ok := t.Deadline()
	if !ok {
		return true
	}
	need := 2*r.perTrial + time.Second
	if r.tier == Wire {
		need += r.threats[0].Duration()
	}
	if time.Until(dl) < need {
		t.Logf("rafael: stopping before the test's deadline (%v left): later trials are not run; raise -timeout to run them", time.Until(dl).Round(time.Millisecond))
		return false
	}
	return true
}

// trial runs one trial of g as the current subtest and judges it. A trial
// that breaks the SLO fails the subtest, unless lenient (a baseline that
// evolution is about to improve), when it is only logged.
func (r *runner) trial(t *testing.T, th scenarios.Threat, g *genome.Genome, s uint64, lenient bool, latency *[]report.Bucket) report.Trial {
	began := time.Now()
	defer func() { r.perTrial = max(r.perTrial, time.Since(began)) }()
	res, m, violations := r.runTrial(t, th, g, s)
	*latency = addBuckets(*latency, res.raw.samples)
	out := report.Trial{Seed: s, Genome: g.Digest(), Replay: r.replay(t), Metrics: m, Violations: violations, Passed: len(violations) == 0}
	switch {
	case out.Passed:
		t.Logf("rafael: %s: %s", th, summary(out.Metrics))
	case lenient:
		t.Logf("rafael: the starting genome breaks the SLO under %s (evolution follows): %s; %s", th, strings.Join(violations, "; "), summary(out.Metrics))
	default:
		t.Errorf("%s", r.failure(th, out, res))
	}
	return out
}

// runTrial runs one trial of genome g under th with seed s on the run's
// tier and measures and judges it. t is the test the bubble belongs to.
func (r *runner) runTrial(t *testing.T, th scenarios.Threat, g *genome.Genome, s uint64) (bubbleResult, report.Metrics, []string) {
	drain := r.spec.Drain
	if drain == 0 {
		drain = max(th.Recover, time.Second)
	}
	tr := &trial{threat: th, genome: g, workload: r.spec.Workload, seed: s, requests: r.requests, drain: drain, hold: r.hold}
	var res bubbleResult
	if r.tier == Simulated {
		res = inBubble(t, tr, r.watchdog)
	} else {
		res = bubbleResult{raw: tr.run(), finished: true}
	}
	var m report.Metrics
	if res.finished {
		m = measure(th, res.raw, r.spec.Weights, r.hist)
	}
	return res, m, r.judge(res, m)
}

// write saves the report as JSON, Markdown and HTML, named
// <package>.<test>.<module>, in -rafael.out, or else
// in the test's artifact directory (kept with go test -artifacts), appends
// its Markdown to $GITHUB_STEP_SUMMARY when that is set, and says where the
// files are: in the log, and on standard output without -v (so that go test
// run in a package's directory shows it).
func (r *runner) write(t *testing.T, rep *report.Report) {
	dir := r.set.out
	if dir == "" {
		dir = t.ArtifactDir()
	}
	clean := strings.NewReplacer("/", "_", " ", "_", "#", "_").Replace
	base := clean(t.Name()) + "." + r.spec.Module
	if pkg := strings.TrimPrefix(r.pkg, "./"); pkg != "." {
		base = clean(pkg) + "." + base
	}
	files, err := rep.WriteFiles(dir, base)
	if err != nil {
		t.Errorf("rafael: the report could not be written: %v", err)
		return
	}
	rep.Files = files
	if _, err := rep.AppendStepSummary(os.Getenv); err != nil {
		t.Errorf("rafael: the step summary could not be written: %v", err)
	}
	line := fmt.Sprintf("rafael: %s: score %s; report: %s", r.spec.Module, scoreLine(rep), files[len(files)-1])
	t.Log(line)
	if !testing.Verbose() {
		fmt.Println(line)
	}
}

// scoreLine is "87.1" or "62.0 → 91.3 (+29.3)".
func scoreLine(rep *report.Report) string {
	if rep.Evolved == nil {
		return fmt.Sprintf("%.1f", rep.Baseline.Score)
	}
	return fmt.Sprintf("%.1f → %.1f (%+.1f)", rep.Baseline.Score, rep.Evolved.Score, rep.Improvement)
}

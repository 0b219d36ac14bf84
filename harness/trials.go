package harness

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/rafaelabs/rafael/genome"
	"github.com/rafaelabs/rafael/internal/seed"
	"github.com/rafaelabs/rafael/internal/trial"
	"github.com/rafaelabs/rafael/report"
	"github.com/rafaelabs/rafael/scenarios"
	"github.com/rafaelabs/rafael/slo"
)

// reruns is how many more times a broken wire-tier trial is measured
// before it counts as broken: real time on a shared machine can break a
// trial the genome survives, and a verdict must not flip with the load.
const reruns = 2

// baseline runs the starting genome's trials: a subtest per threat, and in
// it a subtest per trial. A threat none of whose trials fit before the
// test's deadline is skipped and reported as not run.
func (r *runner) baseline(t *testing.T, rep *report.Report) {
	for i, th := range r.threats {
		row := report.Threat{Name: th.Name, Threat: th.String(), Severity: th.Severity.String()}
		if d, ok := th.Decl(); ok {
			row.Decl = &d
		}
		row.NotRun = "filtered out by -run"
		t.Run(th.Name, func(t *testing.T) {
			for j := range r.trials {
				if why := r.budget(t); why != "" {
					row.NotRun = why
					if j > 0 {
						t.Logf("rafael: %s: %d of %d trials ran: %s", th, j, r.trials, why)
					}
					break
				}
				s := r.trialSeed(i, j)
				t.Run(fmt.Sprintf("seed=%d", s), func(t *testing.T) {
					tr, res := r.judged(t, th, r.genome, s, r.spec.Evolve != nil)
					row.Trials = append(row.Trials, tr)
					row.Latency = report.AddLatencies(row.Latency, res.Succeeded)
					row.FailedLatency = report.AddLatencies(row.FailedLatency, res.Failed)
				})
			}
			if len(row.Trials) == 0 {
				t.Skipf("rafael: %s: not run: %s", th, row.NotRun)
			}
		})
		if len(row.Trials) > 0 {
			row.NotRun = ""
		}
		rep.Threats = append(rep.Threats, row)
	}
}

// trialSeed is the seed of trial j of threat i: the same for the starting
// genome and the champion, and the same when -run filters other trials out.
func (r *runner) trialSeed(i, j int) uint64 { return seed.Mix(r.seed, uint64(i), uint64(j)) }

// measure runs one trial of g under th with seed s on the run's tier. t is
// the test a simulated trial's bubble belongs to.
func (r *runner) measure(t *testing.T, th scenarios.Threat, g *genome.Genome, s uint64) trial.Result {
	if res, ok := r.ahead[aheadKey(th, g, s)]; ok {
		delete(r.ahead, aheadKey(th, g, s))
		return res
	}
	began := time.Now()
	defer func() { r.longest = max(r.longest, time.Since(began)) }()
	if r.box != nil {
		if res, ok := r.measureBoxed(t, th, g, s); ok {
			return res
		}
	}
	if r.tier == Simulated {
		return r.sim.Run(t, r.cfg, th, g, s)
	}
	return trial.Run(r.cfg, th, g, s)
}

// judged runs one trial of g as the current subtest and judges it against
// the SLO; on the wire tier a broken trial is measured again, up to reruns
// times, until it meets the SLO (unstable) or not (broken). A broken trial
// fails the subtest, unless lenient (a baseline that evolution is about to
// improve), when it is only logged; an unstable one is logged, and fails
// with -rafael.strict.
func (r *runner) judged(t *testing.T, th scenarios.Threat, g *genome.Genome, s uint64, lenient bool) (report.Trial, trial.Result) {
	res := r.measure(t, th, g, s)
	out := report.Trial{Seed: s, Genome: g.Digest(), Replay: r.replay(t), Metrics: res.Metrics, Violations: res.Violations(r.spec.SLO),
		Injections: injections(res.Injections), Timeline: timeline(res)}
	if res.Hung && r.tier == Simulated {
		r.abandoned = "an earlier trial hung in its synctest bubble, which was abandoned; no more trials run, since a real client's goroutines left there would crash the test binary in the next bubble (run it on the wire tier with Tier: harness.Wire, or declare a hook around a real client's calls with faults.NewHook(…).Remote())"
	}
	setup := res.SetupErr != nil                                                                              // not the code's failure: measuring again would only repeat it
	for k := 0; k < reruns && r.tier == Wire && len(out.Violations) > 0 && !setup && r.budget(t) == ""; k++ { // a rerun that would outlast -timeout is not made
		again := r.measure(t, th, g, s)
		vs := again.Violations(r.spec.SLO)
		out.Reruns = append(out.Reruns, report.Measurement{Metrics: again.Metrics, Violations: vs})
		if len(vs) == 0 {
			break
		}
	}
	out.Score = slo.Score(out.Violations, out.Metrics.Fitness)
	t.Attr("rafael.score", fmt.Sprintf("%.1f", out.Score))
	switch {
	case setup:
		t.Errorf("rafael: %s could not run as declared on the %s tier (seed %d), so it says nothing about %s: %v",
			th, r.tier, s, r.spec.Module, res.SetupErr)
	case len(out.Violations) == 0:
		t.Logf("rafael: %s: %s", th, out.Metrics)
	case len(out.Reruns) > 0 && len(out.Reruns[len(out.Reruns)-1].Violations) == 0:
		t.Attr("rafael.verdict", string(report.Unstable))
		msg := r.failure("UNSTABLE: "+th.String()+" broke the SLO of "+r.spec.Module+", then met it when measured again", out, res)
		if r.set.strict {
			t.Errorf("%s", msg)
		} else {
			t.Logf("%s  (not a failure without -rafael.strict; the report shows the trial as unstable)", msg)
		}
	case lenient:
		t.Logf("rafael: the starting genome breaks the SLO under %s (evolution follows): %s; %s", th, slo.Join(out.Violations), out.Metrics)
	default:
		t.Errorf("%s", r.failure(fmt.Sprintf("%s broke the SLO of %s", th, r.spec.Module), out, res))
	}
	return out, res
}

// failure is the message of a broken (or unstable) trial: what broke and
// by how much, what was measured, each re-measurement, and the command that
// replays it.
func (r *runner) failure(what string, tr report.Trial, res trial.Result) string {
	var b strings.Builder
	fmt.Fprintf(&b, "rafael: %s on the %s tier (seed %d):\n", what, r.tier, tr.Seed)
	for _, v := range tr.Violations {
		fmt.Fprintf(&b, "    %s\n", v)
	}
	if res.Finished {
		fmt.Fprintf(&b, "  measured: %s\n", tr.Metrics)
		for _, e := range tr.Metrics.Errors {
			fmt.Fprintf(&b, "  error: %s\n", e)
		}
	}
	for i, m := range tr.Reruns {
		verdict := "met the SLO"
		if len(m.Violations) > 0 {
			verdict = slo.Join(m.Violations)
		}
		fmt.Fprintf(&b, "  measured again (%d): %s: %s\n", i+1, verdict, m.Metrics)
	}
	if lag := tr.Metrics.Lag; lag >= slo.Starved {
		fmt.Fprintf(&b, "  the host was starved: the trial's driver woke up to %v late (a busy machine)\n", lag.Round(time.Millisecond))
	}
	fmt.Fprintf(&b, "  replay: %s\n", tr.Replay)
	if res.Dump != "" {
		fmt.Fprintf(&b, "  goroutines of the trial:\n%s\n", indent(res.Dump, "    "))
	}
	return b.String()
}

func indent(s, pre string) string {
	return pre + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n"+pre)
}

// shorten cuts s to at most n bytes, saying so.
func shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + fmt.Sprintf("\n… (%d more bytes)", len(s)-n)
}

// injections is the report's form of a trial's evidence that its faults
// fired.
func injections(in []trial.Injection) []report.Injection {
	out := make([]report.Injection, 0, len(in))
	for _, e := range in {
		ri := report.Injection{Target: e.Target, Fault: e.Fault, Applied: e.Applied, At: e.At, For: e.For, Unit: e.Unit, Detail: e.Detail}
		if e.Unit != "" {
			ri.Touched = &e.Touched
		}
		out = append(out, ri)
	}
	return out
}

// timeline is the report's form of a trial's timeline, or nil when the
// trial did not finish.
func timeline(res trial.Result) *report.Timeline {
	tl := res.Timeline(20)
	if len(tl.Points) == 0 {
		return nil
	}
	out := &report.Timeline{Steady: tl.Steady, Inject: tl.Inject, Recover: tl.Recover, Bucket: tl.Bucket}
	for _, p := range tl.Points {
		out.Points = append(out.Points, report.TimePoint{Requests: p.Requests, Succeeded: p.Succeeded, P99: p.P99, Attempts: p.Attempts})
	}
	return out
}

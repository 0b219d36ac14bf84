package harness

import (
	"cmp"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode"

	"github.com/rafaelabs/rafael/evolve"
	"github.com/rafaelabs/rafael/genome"
	"github.com/rafaelabs/rafael/guardian"
	"github.com/rafaelabs/rafael/internal/atomicfile"
	"github.com/rafaelabs/rafael/internal/trial"
	"github.com/rafaelabs/rafael/report"
	"github.com/rafaelabs/rafael/scenarios"
	"github.com/rafaelabs/rafael/slo"
)

// evolved evolves the genome, then runs the champion's trials as subtests
// "evolved/<threat>/seed=<n>" with the baseline's seeds, and its property
// check as "evolved/<threat>/property".
func (r *runner) evolved(t *testing.T, rep *report.Report) {
	champion, ev, why := r.campaign(t)
	ahead := r.checkAhead(t, champion)
	defer ahead.wait()
	t.Run("evolved", func(t *testing.T) {
		for i, th := range r.threats {
			row := &rep.Threats[i]
			t.Run(th.Name, func(t *testing.T) {
				for j := range r.trials {
					if why := r.budget(t); why != "" {
						t.Logf("rafael: %s: the champion's later trials are not run: %s", th, why)
						break
					}
					s := r.trialSeed(i, j)
					t.Run(fmt.Sprintf("seed=%d", s), func(t *testing.T) {
						tr, res := r.judged(t, th, champion, s, false)
						row.EvolvedTrials = append(row.EvolvedTrials, tr)
						row.EvolvedLatency = report.AddLatencies(row.EvolvedLatency, res.Succeeded)
						row.EvolvedFailedLatency = report.AddLatencies(row.EvolvedFailedLatency, res.Failed)
					})
				}
				if r.tier == Wire {
					t.Logf("rafael: the property check over generated threats runs on the simulated tier only (a wire trial takes seconds); evolve there and prove the champion here")
					return
				}
				t.Run("property", func(t *testing.T) { r.property(t, th, champion, rep, ahead.of(t.Name())) })
			})
		}
		for k, a := range why.attacks {
			from := r.threats[a.Origin].Name
			if strings.Contains(a.Name, "+") { // two declared threats at once
				from = a.Name
			}
			ra := report.Attack{Threat: a.String(), From: from, Broke: a.Broke.Digest(), Fitness: a.Fitness}
			t.Run(adversaryName(k+1), func(t *testing.T) {
				for _, s := range a.Seeds {
					t.Run(fmt.Sprintf("seed=%d", s), func(t *testing.T) {
						tr, _ := r.judged(t, a.Threat, champion, s, false)
						ra.Trials = append(ra.Trials, tr)
					})
				}
				t.Run("property", func(t *testing.T) { r.property(t, a.Threat, champion, rep, nil) })
			})
			rep.Attacks = append(rep.Attacks, ra)
		}
		rep.Settled = why.settled
	})
	rep.Champion = champion.Digest()
	for _, c := range genome.Diff(r.genome, champion) {
		rep.GenomeDiff = append(rep.GenomeDiff, c.String())
	}
	rep.StartGenome, _ = r.genome.MarshalJSON()
	rep.ChampionGenome, _ = champion.MarshalJSON()
	rep.History = ev
	rep.Removed, rep.Static, rep.Rounded, rep.GeneCosts = why.removed, why.static, why.rounded, why.costs
	rep.Derive()
	switch {
	case r.set.update && !t.Failed():
		r.propose(t, champion, rep)
	case r.set.update:
		t.Logf("rafael: -rafael.update: the champion failed its checks; nothing proposed")
	case champion != r.genome:
		t.Logf("rafael: run with -rafael.update to propose the champion to the guardian (%s)", r.dir())
	}
	changes := strings.Join(rep.GenomeDiff, "; ")
	if changes == "" {
		changes = "none"
	}
	t.Logf("rafael: %s: score %s; changes: %s", r.spec.Module, scoreLine(rep), changes)
}

// campaign evolves the starting genome against the run's threats (see
// evolve.Evolve) and returns the champion, named for the module, and the
// history for the report.
// explanation is what the ablation after the search found (see
// evolve.Evolution.Removed and Costs), for the report.
type explanation struct {
	attacks []evolve.Attack
	settled string
	removed []string
	static  []string
	rounded []string
	costs   []report.GeneCost
}

func (r *runner) campaign(t *testing.T) (*genome.Genome, []report.Generation, explanation) {
	o := *r.spec.Evolve
	if testing.Short() {
		o.Generations = max(3, cmp.Or(o.Generations, 20)/4)
		o.Population = max(4, cmp.Or(o.Population, 16)/2)
		o.Elite = min(o.Elite, o.Population-1)
	}
	ctx, cancel := r.evolutionContext(t)
	defer cancel()
	// Candidates are evaluated on several workers only where trials keep
	// apart: in their own bubbles and scopes, in this process. Real-time
	// trials share real servers and proxies, and would skew each other.
	if r.box != nil {
		o.Isolation = evolve.Sandbox // Spec.Sandbox: every trial in a sandbox
	}
	if r.tier != Simulated || o.Isolation != evolve.Goroutine {
		o.Workers = 1
	}
	if r.set.update {
		// A run that proposes keeps its search within the guardian's rules,
		// so that the champion is one the guardian can accept.
		rules, err := guardian.RulesCheck(r.dir(), r.spec.Module)
		if err != nil {
			t.Fatalf("rafael: the guardian's rules: %v", err)
		}
		user := o.Feasible
		o.Feasible = func(g *genome.Genome) error {
			if user != nil {
				if err := user(g); err != nil {
					return err
				}
			}
			return rules(g)
		}
		t.Logf("rafael: the search keeps within the guardian's rules (%s)", filepath.Join(r.dir(), "guardian.json"))
	}
	r.workers = cmp.Or(o.Workers, runtime.GOMAXPROCS(0))
	judge, closeJudge := r.judge(t, r.workers)
	defer closeJudge()
	var history []report.Generation
	attacked := 0
	c := evolve.Campaign{
		// The adversary searches the probe's envelope, and more (timing,
		// combinations, the worst case): with it, the probe would only find
		// first what it finds.
		Start: r.genome, Threats: r.threats, Seed: r.seed, Probe: r.tier == Simulated && o.Adversarial == 0,
		Judge: judge, Spawn: r.spawn(t),
		Progress: func(e evolve.Event) {
			if h := e.Generation; h != nil {
				history = append(history, report.Generation{Index: h.Index, Best: h.Best, Mean: h.Mean, BestGenome: h.BestGenome, Adopted: h.Adopted, Reason: h.Reason, Evaluations: h.Evaluations, Raced: h.Raced})
				mark := "kept"
				if h.Adopted {
					mark = "adopted"
				}
				t.Logf("rafael: generation %d: best %.3f, mean %.3f, %s: %s", h.Index, h.Best, h.Mean, mark, h.Reason)
			}
			if e.Found != nil {
				t.Logf("rafael: the champion breaks under the smaller threat %s: evolving against it too", e.Found)
			}
			if a := e.Attack; a != nil {
				attacked++
				r.attacked(t, a, attacked)
			}
		},
	}
	began := time.Now()
	astray := r.astray()
	ev, err := evolve.Evolve(ctx, c, o)
	if err != nil {
		t.Fatalf("rafael: evolution of %s: %v", r.spec.Module, err)
	}
	for name, n := range r.astray() {
		if n -= astray[name]; n > 0 {
			t.Logf("rafael: warning: %d calls reached target %q without the trial's context while trials ran at once, so they may have seen another trial's faults: pass the workload's ctx on to the call, or set Evolve.Workers: 1", n, name)
		}
	}
	champion := ev.Champion.Clone()
	champion.Module = r.spec.Module
	champion.Parent = r.genome.Digest()
	champion.Generation = r.genome.Generation + len(ev.History)
	if champion.Digest() == r.genome.Digest() { // nothing changed but the lineage
		champion = r.genome
	}
	t.Logf("rafael: %s evolved in %v (%s): fitness %.3f, %d trials", r.spec.Module, time.Since(began).Round(time.Millisecond), ev.Stopped, ev.Fitness, ev.Evaluations)
	why := explanation{attacks: ev.Attacks, settled: ev.Settled}
	if ev.Settled != "" {
		t.Logf("rafael: %s: the adversarial rounds ended: %s", r.spec.Module, ev.Settled)
	}
	for _, k := range ev.Removed {
		why.removed = append(why.removed, k.String())
	}
	if len(why.removed) > 0 {
		t.Logf("rafael: %s: removed from the champion, as they cost nothing on the search's trials: %s", r.spec.Module, strings.Join(why.removed, ", "))
	}
	why.static = ev.Static
	if len(why.static) > 0 {
		t.Logf("rafael: %s: made static, as the adaptive form gained nothing on the search's trials: %s", r.spec.Module, strings.Join(why.static, ", "))
	}
	why.rounded = ev.Rounded
	if len(why.rounded) > 0 {
		t.Logf("rafael: %s: rounded, as it costs nothing on the search's trials: %s", r.spec.Module, strings.Join(why.rounded, "; "))
	}
	for _, c := range ev.Costs {
		rc := report.GeneCost{Gene: c.Gene.String(), Adaptive: c.Adaptive}
		for _, tc := range c.Threats {
			f := ev.Faced[tc.Threat]
			name := f.Name
			if f.Origin != tc.Threat { // a smaller variant the probe found: named with its parameters
				name = f.Threat.String()
			}
			rc.Threats = append(rc.Threats, report.GeneThreatCost{Threat: name, Trials: tc.Trials,
				Passed: tc.Passed, PassedWithout: tc.PassedWithout, Fitness: tc.Fitness, FitnessWithout: tc.FitnessWithout})
		}
		why.costs = append(why.costs, rc)
		t.Logf("rafael: %s: %s", r.spec.Module, rc)
	}
	return champion, history, why
}

// adversaryName is the subtest of the k-th threat the adversary found.
func adversaryName(k int) string { return fmt.Sprintf("adversary-%d", k) }

// attacked says what the adversary found, the k-th threat, and keeps it as
// a rapid fail file (see keepAttack).
func (r *runner) attacked(t *testing.T, a *evolve.Attack, k int) {
	t.Logf("rafael: the adversary found %s within the envelope of the declared threats: it breaks the champion (fitness %.3f): evolving against it", a, a.Fitness)
	name := t.Name() + "/evolved/" + adversaryName(k) + "/property"
	path, err := r.keepAttack(t, name, a)
	if err != nil {
		t.Logf("rafael: the adversary's threat is not kept as a rapid fail file: %v", err)
		return
	}
	t.Logf("rafael: kept as a rapid fail file, %s: the property check %s replays it first, on the final champion and on every later run", path, name)
}

// keepAttack writes a's threat as a rapid fail file of the property check
// named name — the subtest "evolved/adversary-<k>/property" that checks
// the final champion — with a trial seed on which it breaks the champion
// it was found against (one of its seeds, else a small one): rapid replays
// it first there, and on every later run, as it replays a counterexample
// it shrank itself.
func (r *runner) keepAttack(t *testing.T, name string, a *evolve.Attack) (string, error) {
	candidates := append([]uint64(nil), a.Seeds...)
	for s := uint64(1); s <= 16; s++ {
		candidates = append(candidates, s)
	}
	for _, s := range candidates {
		if s >= 1<<63 || len(r.measure(t, a.Threat, a.Broke, s).Violations(r.spec.SLO)) == 0 {
			continue
		}
		words, err := a.Threat.RapidBits(s)
		if err != nil {
			return "", err
		}
		file := rapidName(name)
		data := []string{rapidVersion + "#0"}
		for _, w := range words {
			data = append(data, fmt.Sprintf("0x%x", w))
		}
		dir := filepath.Join("testdata", "rapid", file)
		if kept := keptAs(dir, data); kept != "" {
			return kept, nil // an earlier run kept it: rapid replays every file, so one is enough
		}
		lines := append([]string{fmt.Sprintf("# %s breaks %s (trial seed %d): found by the adversary within the declared threats' envelope", a.Threat, a.Broke.Digest(), s),
			"# written by rafael (harness), not by rapid: it replays the threat first"}, data...)
		path := filepath.Join(dir, fmt.Sprintf("%s-%s-%d.fail", file, time.Now().Format("20060102150405"), os.Getpid()))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return "", err
		}
		return path, atomicfile.Write(path, []byte(strings.Join(lines, "\n")+"\n"))
	}
	return "", fmt.Errorf("no trial seed of %v or 1–16 breaks the SLO itself under %s (it broke the search's stricter objective)", a.Seeds, a.Threat)
}

// keptAs returns the fail file in dir whose data (its lines but the
// comments) is data, or "".
func keptAs(dir string, data []string) string {
	files, _ := filepath.Glob(filepath.Join(dir, "*.fail"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		var got []string
		for _, l := range strings.Split(string(b), "\n") {
			if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
				got = append(got, l)
			}
		}
		if slices.Equal(got, data) {
			return f
		}
	}
	return ""
}

// rapidVersion is the version rapid (pgregory.net/rapid v1.3.0) writes into
// its fail files and checks when it reads one.
const rapidVersion = "v0.4.8"

// rapidName is a test's name as rapid makes it a file name: letters,
// digits, '-' and '_' kept, anything else '_'.
func rapidName(name string) string {
	var b strings.Builder
	for _, c := range name {
		if unicode.IsLetter(c) || unicode.IsDigit(c) || c == '-' || c == '_' {
			b.WriteRune(c)
		} else {
			b.WriteRune('_')
		}
	}
	return b.String()
}

// astray counts, per target that tells, the calls that reached it without a
// trial's context while several trials ran (faults.Hook.Astray).
func (r *runner) astray() map[string]int64 {
	out := map[string]int64{}
	for _, th := range r.threats {
		for _, tg := range th.Targets() {
			if a, ok := tg.(interface{ Astray() int64 }); ok {
				out[tg.Name()] = a.Astray()
			}
		}
	}
	return out
}

// judge runs a candidate's trials in this process, judged against the SLO
// with margin (see slo.SLO.WithMargin): each in its own bubble on the
// simulated tier, in real time on the wire tier. On the simulated tier it
// may be called for several candidates at once, and runs each case on the
// first free of workers Sims, whose bubbles run side by side (a trial's
// faults are its own: see faults.Scope). close ends the Sims.
func (r *runner) judge(t *testing.T, workers int) (j evolve.Judge, close func()) {
	strict := r.spec.SLO.WithMargin()
	outcome := func(res trial.Result) evolve.Outcome {
		_, short, met := res.Outcome(strict)
		return evolve.Outcome{Fitness: res.Metrics.Fitness, Passed: met, Shortfall: short}
	}
	if r.tier != Simulated || workers <= 1 {
		return func(ctx context.Context, g *genome.Genome, cases []evolve.Case) ([]evolve.Outcome, error) {
			out := make([]evolve.Outcome, len(cases))
			for i, c := range cases {
				out[i] = outcome(r.measure(t, c.Threat.Threat, g, c.Seed))
			}
			return out, ctx.Err()
		}, func() {}
	}
	sims := make(chan *trial.Sim, workers)
	for range workers {
		sims <- trial.NewSim().Alongside()
	}
	// Each case on the first free Sim: a candidate's trials spread over the
	// workers, and so do the probe's.
	parallel := func(g *genome.Genome, cases []evolve.Case) []evolve.Outcome {
		out := make([]evolve.Outcome, len(cases))
		var wg sync.WaitGroup
		for i, c := range cases {
			sim := <-sims
			wg.Go(func() {
				defer func() { sims <- sim }()
				out[i] = outcome(sim.Run(t, r.cfg, c.Threat.Threat, g, c.Seed))
			})
		}
		wg.Wait()
		return out
	}
	// One case after another, nothing else running: what one worker gives.
	var alone sync.Mutex
	serial := func(g *genome.Genome, cases []evolve.Case) []evolve.Outcome {
		alone.Lock()
		defer alone.Unlock()
		sim := <-sims
		defer func() { sims <- sim }()
		out := make([]evolve.Outcome, len(cases))
		for i, c := range cases {
			out[i] = outcome(sim.Run(t, r.cfg, c.Threat.Threat, g, c.Seed))
		}
		return out
	}
	// The first call (the starting genome) runs both ways: trials that do
	// not keep apart — a fake whose state is shared by the trials running
	// at once — give other outcomes side by side than one at a time, and the
	// search then goes on one at a time, saying why.
	var (
		checked sync.Once
		apart   = true
	)
	return func(ctx context.Context, g *genome.Genome, cases []evolve.Case) ([]evolve.Outcome, error) {
			var out []evolve.Outcome
			checked.Do(func() {
				out = serial(g, cases)
				r.sideBySide.Store(true)
				if side := parallel(g, cases); !slices.Equal(out, side) {
					r.sideBySide.Store(false)
					apart = false
					t.Logf("rafael: warning: %s's trials measure differently side by side than one at a time, so the search evaluates its candidates one at a time: "+
						"a fake the workload calls keeps state that the trials running at once share (a capacity, a cache); key it by faults.ScopeOf(ctx), or set Evolve.Workers: 1 to say so", r.spec.Module)
				}
			})
			switch {
			case out != nil:
			case apart:
				out = parallel(g, cases)
			default:
				out = serial(g, cases)
			}
			return out, ctx.Err()
		}, func() {
			for range workers {
				(<-sims).Close()
			}
		}
}

// evolutionContext ends the search in time to verify the champion before
// the test's deadline: it may use 60 % of the time left.
func (r *runner) evolutionContext(t *testing.T) (context.Context, context.CancelFunc) {
	dl, ok := t.Deadline()
	if !ok {
		return context.WithCancel(context.Background())
	}
	return context.WithTimeout(context.Background(), time.Until(dl)*6/10)
}

// property checks with rapid (evolve.Property) that the champion meets the
// SLO under every threat up to th, and fails the subtest with the shrunk
// counterexample, its seeds and the command that replays it.
//
// When the check already ran ahead (see checkAhead), it reports that.
func (r *runner) property(t *testing.T, th scenarios.Threat, g *genome.Genome, rep *report.Report, ahead *checked) {
	var cx *evolve.Counterexample
	var log string
	switch {
	case ahead != nil:
		cx, log = ahead.result()
	case r.box != nil:
		cx, log = r.checkBoxed(t, th, g)
	default:
		cx, log = r.check(t, t.Name(), th, g, func(t *testing.T, v scenarios.Threat, s uint64) trial.Result { return r.measure(t, v, g, s) })
	}
	if cx == nil {
		t.Logf("rafael: %s", strings.TrimSpace(log))
		return
	}
	replay := r.replay(t)
	if cx.RapidSeed != 0 {
		replay += fmt.Sprintf(" -rapid.seed=%d", cx.RapidSeed)
	}
	res := r.measure(t, cx.Threat, g, cx.Seed)
	rep.Counterexamples = append(rep.Counterexamples, report.Counterexample{Name: th.Name, Threat: cx.Threat.String(), Seed: cx.Seed, Replay: replay, Violations: res.Violations(r.spec.SLO)})
	t.Errorf("rafael: %s\n  replay: %s\n%s", cx.Message, replay, indent(strings.TrimSpace(log), "  "))
}

// check is the property check of g under th, named name (the subtest's
// name: rapid keeps its fail files by it), each trial measured by measure.
func (r *runner) check(t *testing.T, name string, th scenarios.Threat, g *genome.Genome, measure func(*testing.T, scenarios.Threat, uint64) trial.Result) (*evolve.Counterexample, string) {
	return evolve.Property(name, th, func(v scenarios.Threat, s uint64) error {
		res := measure(t, v, s)
		if vs := res.Violations(r.spec.SLO); len(vs) > 0 {
			return fmt.Errorf("%s breaks the evolved genome (trial seed %d): %s\n  measured: %s", v, s, slo.Join(vs), res.Metrics)
		}
		return nil
	})
}

// checked is a property check run ahead of its subtest.
type checked struct {
	done chan struct{}
	cx   *evolve.Counterexample
	log  string
}

func (c *checked) result() (*evolve.Counterexample, string) {
	<-c.done
	return c.cx, c.log
}

// checksAhead are the property checks of a run's threats, run ahead of
// their subtests, by the subtest's name.
type checksAhead map[string]*checked

// of returns the check run ahead for the subtest name, or nil.
func (a checksAhead) of(name string) *checked { return a[name] }

// wait waits for every check: none outlives the run.
func (a checksAhead) wait() {
	for _, c := range a {
		<-c.done
	}
}

// checkAhead starts the property checks of every threat at once, on as
// many workers as the search had, where that measures the same as one at a
// time: on the simulated tier, when the search found that its trials keep
// apart side by side (see judge), and when no -run filter picks some
// subtests (a replay runs only what it names). The champion's reported
// trials are measured first, one at a time, as their subtests would: they
// report the goroutines of the process, which trials alongside would move.
// It returns nil otherwise: each check then runs in its subtest.
func (r *runner) checkAhead(t *testing.T, g *genome.Genome) checksAhead {
	if r.tier != Simulated || r.box != nil || r.workers <= 1 || !r.sideBySide.Load() || pickSubtests(runFilter()) || r.budget(t) != "" {
		return nil
	}
	for i, th := range r.threats {
		for j := range r.trials {
			s := r.trialSeed(i, j)
			r.ahead[aheadKey(th, g, s)] = r.measure(t, th, g, s)
		}
	}
	t.Logf("rafael: the champion's property checks run side by side, %d at a time", r.workers)
	a := checksAhead{}
	slots := make(chan struct{}, r.workers)
	seen := map[string]int{}
	for _, th := range r.threats {
		// The subtest's name, as testing makes it unique.
		name := strings.ReplaceAll(th.Name, " ", "_")
		if n := seen[name]; n > 0 {
			seen[name]++
			name = fmt.Sprintf("%s#%02d", name, n)
		} else {
			seen[name] = 1
		}
		name = t.Name() + "/evolved/" + name + "/property"
		c := &checked{done: make(chan struct{})}
		a[name] = c
		go func() {
			defer close(c.done)
			slots <- struct{}{}
			defer func() { <-slots }()
			sim := trial.NewSim().Alongside()
			defer sim.Close()
			c.cx, c.log = r.check(t, name, th, g, func(t *testing.T, v scenarios.Threat, s uint64) trial.Result { return sim.Run(t, r.cfg, v, g, s) })
		}()
	}
	return a
}

// aheadKey names a trial measured ahead of its subtest.
func aheadKey(th scenarios.Threat, g *genome.Genome, s uint64) string {
	return fmt.Sprintf("%s\x00%s\x00%s\x00%d", th.Name, th, g.Digest(), s)
}

// pickSubtests reports whether the -run pattern run picks among a run's
// threats: whether it has more than two levels ("TestX/evolved/db-outage"),
// split at slashes outside brackets and parentheses as go test splits it.
func pickSubtests(run string) bool {
	levels, depth := 1, 0
	for i := 0; i < len(run); i++ {
		switch run[i] {
		case '\\':
			i++
		case '[', '(':
			depth++
		case ']', ')':
			depth--
		case '/':
			if depth == 0 {
				levels++
			}
		}
	}
	return levels > 2
}

// runFilter is go test's -run pattern, or "".
func runFilter() string {
	if f := flag.Lookup("test.run"); f != nil {
		return f.Value.String()
	}
	return ""
}

// scoreLine is "87.1", "62.0 → 91.3 (+29.3)", or "not measured (no trial
// ran)".
func scoreLine(rep *report.Report) string {
	if rep.Baseline.Trials == 0 {
		return "not measured (no trial ran)"
	}
	if rep.Evolved == nil {
		return fmt.Sprintf("%.1f", rep.Baseline.Score)
	}
	return fmt.Sprintf("%.1f → %.1f (%+.1f)", rep.Baseline.Score, rep.Evolved.Score, rep.Improvement)
}

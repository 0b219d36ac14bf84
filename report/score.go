package report

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rafaelabs/rafael/slo"
)

// ScoreOf is the score of a threat's trials on the verdict's scale: the
// mean of their [Trial.Score] with a 95 % confidence interval from the
// normal approximation, 1.96·sd/√n with the sample standard deviation (zero
// width for one trial), Low clamped at 0 and High at 100. When any trial
// broke the SLO only the trials that broke it count, so a threat scores 50
// or more exactly when every trial met the SLO ([slo.Met]). No trials score
// zero.
//
// The sums run over the scores in ascending order, so the score does not
// depend on the order of the trials: shards merged in any order score bit
// for bit what the unsharded run scores.
func ScoreOf(trials []Trial) Score {
	var all, broken []float64
	for _, tr := range trials {
		all = append(all, tr.Score)
		if tr.Score < slo.Met {
			broken = append(broken, tr.Score)
		}
	}
	if len(broken) > 0 {
		all = broken
	}
	n := len(all)
	if n == 0 {
		return Score{}
	}
	mean := sum(all) / float64(n)
	for i, f := range all {
		all[i] = (f - mean) * (f - mean)
	}
	half := 0.0
	if n > 1 {
		half = 1.96 * math.Sqrt(sum(all)/float64(n-1)/float64(n))
	}
	return Score{Score: mean, Low: max(0, mean-half), High: min(100, mean+half), Trials: len(trials)}
}

// Overall is the run's score from its threats' scores: the mean of the
// per-threat Score, Low and High weighted by severity (medium 1, high 2,
// critical 3; any other severity weighs 1), and Trials summed. Threats
// without trials are left out. evolved is the same over the threats'
// evolved scores, or nil when no threat has one. Like [ScoreOf], the
// result does not depend on the order of the threats.
func Overall(threats []Threat) (baseline Score, evolved *Score) {
	baseline = weighted(threats, func(t Threat) *Score { return &t.Score })
	if slices.ContainsFunc(threats, func(t Threat) bool { return t.Evolved != nil }) {
		e := weighted(threats, func(t Threat) *Score { return t.Evolved })
		evolved = &e
	}
	return baseline, evolved
}

// weighted is the severity-weighted mean of the scores pick returns.
func weighted(threats []Threat, pick func(Threat) *Score) Score {
	var s, l, h, w []float64
	trials := 0
	for _, t := range threats {
		sc := pick(t)
		if sc == nil || sc.Trials == 0 {
			continue
		}
		wt := weight(t.Severity)
		s, l, h, w = append(s, wt*sc.Score), append(l, wt*sc.Low), append(h, wt*sc.High), append(w, wt)
		trials += sc.Trials
	}
	ws := sum(w)
	if ws == 0 {
		return Score{Trials: trials}
	}
	return Score{Score: sum(s) / ws, Low: sum(l) / ws, High: sum(h) / ws, Trials: trials}
}

// weight is a severity's weight in the overall score.
func weight(severity string) float64 {
	switch severity {
	case "high":
		return 2
	case "critical":
		return 3
	}
	return 1
}

// sum adds xs in ascending order, so the result does not depend on their
// order. It sorts xs in place.
func sum(xs []float64) float64 {
	slices.Sort(xs)
	total := 0.0
	for _, x := range xs {
		total += x
	}
	return total
}

// Derive sets, in one place, every judgement of r that follows from its
// measurements: each trial's status and score, each threat's statuses,
// scores and verdict, and the overall scores and improvement. The harness
// calls it on every report it writes, and [Merge] on every merged one, so a
// verdict and a score never disagree.
//
// A trial is met when its first measurement has no violations; broken when
// it and every rerun have some; unstable when a rerun met the SLO. A
// threat's status is not run without trials ([Threat.NotRun] says why:
// "no trial ran" when nothing else did), broken when any trial is,
// unstable when any trial is and none is broken, and met otherwise. With
// evolution, a threat the champion did not face is not run for it, and so
// is its verdict.
func (r *Report) Derive() {
	evolved := false
	for i := range r.Threats {
		t := &r.Threats[i]
		t.Status = deriveTrials(t.Trials) // scores the trials: ScoreOf reads their scores
		t.Score = ScoreOf(t.Trials)
		switch {
		case t.Status != NotRun:
			t.NotRun = "" // a shard that did not run it, merged with one that did
		case t.NotRun == "":
			t.NotRun = "no trial ran"
		}
		t.Fired, t.Untouched = fired(t)
		t.Evolved, t.EvolvedStatus = nil, ""
		if len(t.EvolvedTrials) > 0 {
			evolved = true
			t.EvolvedStatus = deriveTrials(t.EvolvedTrials)
			e := ScoreOf(t.EvolvedTrials)
			t.Evolved = &e
		}
	}
	for i := range r.Threats {
		t := &r.Threats[i]
		switch {
		case !evolved:
			t.Verdict = string(t.Status)
		case t.EvolvedStatus == "":
			t.EvolvedStatus = NotRun
			t.Verdict = string(NotRun)
		default:
			t.Verdict = verdict(t.Status, t.EvolvedStatus)
		}
	}
	r.Baseline, r.Evolved = Overall(r.Threats)
	r.Improvement = 0
	if r.Evolved != nil {
		r.Improvement = r.Evolved.Score - r.Baseline.Score
	}
}

// deriveTrials sets each trial's status and score and returns the status
// of them all.
func deriveTrials(trials []Trial) Status {
	if len(trials) == 0 {
		return NotRun
	}
	out := Met
	for i := range trials {
		tr := &trials[i]
		tr.Score = slo.Score(tr.Violations, tr.Metrics.Fitness)
		tr.Status = Met
		if len(tr.Violations) > 0 {
			tr.Status = Broken
			for _, m := range tr.Reruns {
				if len(m.Violations) == 0 {
					tr.Status = Unstable
				}
			}
		}
		switch {
		case tr.Status == Broken:
			out = Broken
		case tr.Status == Unstable && out == Met:
			out = Unstable
		}
	}
	return out
}

// verdict is a threat's verdict from the starting genome's status and the
// champion's.
func verdict(before, after Status) string {
	switch {
	case before == NotRun || after == NotRun:
		return string(NotRun)
	case before == Unstable || after == Unstable:
		return string(Unstable)
	case before == Met && after == Met:
		return Held
	case after == Met:
		return Mitigated
	case before == Met:
		return Regressed
	}
	return Vulnerable
}

// fired sums up the evidence of t's trials' injections, fault by fault, and
// warns when the faults were applied and counted but acted on nothing: a
// verdict on faults that never reached the code under test says nothing.
func fired(t *Threat) (lines []string, untouched string) {
	trials := append(append([]Trial(nil), t.Trials...), t.EvolvedTrials...)
	steps := 0
	for _, tr := range trials {
		steps = max(steps, len(tr.Injections))
	}
	applied, uncounted, touched := 0, 0, int64(0)
	var targets []string
	for i := range steps {
		var (
			first          *Injection
			n, in, counted int
			sum            int64
			unit           string
		)
		for _, tr := range trials {
			if i >= len(tr.Injections) {
				continue
			}
			in++
			inj := &tr.Injections[i]
			if first == nil || !first.Applied && inj.Applied {
				first = inj
			}
			if !inj.Applied {
				continue
			}
			n++
			if inj.Touched != nil {
				counted++
				sum += *inj.Touched
				unit = cmp.Or(unit, inj.Unit)
			}
		}
		line := fmt.Sprintf("%s on %q: applied in %d of %d trials", first.Fault, first.Target, n, in)
		switch {
		case n == 0:
			line += " (never: see the setup errors)"
		case counted == n:
			line += fmt.Sprintf(", at %v for %v in the first; acted on %d %s", first.At.Round(time.Millisecond), first.For.Round(time.Millisecond), sum, cmp.Or(unit, "calls or connections"))
		default:
			line += fmt.Sprintf(", at %v for %v in the first; its target does not count what it acted on", first.At.Round(time.Millisecond), first.For.Round(time.Millisecond))
		}
		if first.Detail != "" {
			line += "; the backend: " + first.Detail
		}
		lines = append(lines, line)
		applied += n
		uncounted += n - counted
		touched += sum
		if !slices.Contains(targets, first.Target) {
			targets = append(targets, first.Target)
		}
	}
	if applied > 0 && uncounted == 0 && touched == 0 {
		untouched = fmt.Sprintf("the faults of %s were applied but acted on no call or connection in %s: does the workload go through %s?",
			t.Name, plural(len(trials), "trial"), quoteAll(targets))
	}
	return lines, untouched
}

// quoteAll quotes and joins names: "a", "a" or "b".
func quoteAll(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = strconv.Quote(n)
	}
	if len(q) == 1 {
		return "target " + q[0]
	}
	return "targets " + strings.Join(q[:len(q)-1], ", ") + " or " + q[len(q)-1]
}

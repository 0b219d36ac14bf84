package report

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// RunStatus is a run's status in a summary: the worst of its threats'
// verdicts, so a reviewer sees at a glance what to look at.
type RunStatus string

// The statuses of a run, worst first.
const (
	RunRegressed  RunStatus = "regressed"  // a threat it met before evolution, the champion breaks
	RunVulnerable RunStatus = "vulnerable" // a threat breaks it, before and after evolution (or without)
	RunUnstable   RunStatus = "unstable"   // a threat broke it, then not when measured again
	RunNotRun     RunStatus = "not run"    // no threat ran
	RunMitigated  RunStatus = "mitigated"  // evolution made it meet a threat it broke
	RunHeld       RunStatus = "held"       // it met every threat that ran
	RunMeasured   RunStatus = "measured"   // its SLO is zero: it only measured, and held nothing to account
)

var runRank = map[RunStatus]int{RunRegressed: 0, RunVulnerable: 1, RunUnstable: 2, RunNotRun: 3, RunMitigated: 4, RunHeld: 5, RunMeasured: 6}

// Status is the run's [RunStatus] from its threats' verdicts.
func (r *Report) Status() RunStatus {
	ran, worst := 0, RunHeld
	for _, t := range r.Threats {
		var s RunStatus
		switch t.Verdict {
		case Regressed:
			s = RunRegressed
		case Vulnerable, string(Broken):
			s = RunVulnerable
		case string(Unstable):
			s = RunUnstable
		case string(NotRun):
			continue
		case Mitigated:
			s = RunMitigated
		default:
			s = RunHeld
		}
		ran++
		if runRank[s] < runRank[worst] {
			worst = s
		}
	}
	if ran == 0 {
		return RunNotRun
	}
	if worst == RunHeld && r.SLO.IsZero() && r.Evolved == nil {
		return RunMeasured // with the zero SLO every trial "meets" it: say what the run did
	}
	return worst
}

// symbol marks a status beside its word, so colour is never its only
// carrier: characters every common font has (an emoji font is not on every
// machine that opens a report).
func (s RunStatus) symbol() string {
	switch s {
	case RunRegressed, RunVulnerable:
		return "✗"
	case RunUnstable:
		return "⚠"
	case RunNotRun:
		return "–"
	case RunMeasured:
		return "○"
	}
	return "✓"
}

// worstFirst is the summary's runs, the worst status first, then the
// lowest score, then by module.
func (s *Summary) worstFirst() []*Report {
	rs := slices.Clone(s.Reports)
	slices.SortStableFunc(rs, func(a, b *Report) int {
		return cmp.Or(cmp.Compare(runRank[a.Status()], runRank[b.Status()]), cmp.Compare(a.finalScore(), b.finalScore()), cmp.Compare(a.Module, b.Module))
	})
	return rs
}

// finalScore is the champion's score, or the starting genome's without
// evolution.
func (r *Report) finalScore() float64 {
	if r.Evolved != nil {
		return r.Evolved.Score
	}
	return r.Baseline.Score
}

// change is the score before → after with the delta, or the score alone.
func (r *Report) change() string {
	if r.Evolved == nil {
		return fmt.Sprintf("%.1f", r.Baseline.Score)
	}
	return fmt.Sprintf("%.1f → %.1f (%s)", r.Baseline.Score, r.Evolved.Score, strings.Replace(change(r.Evolved.Score-r.Baseline.Score), "±0.0", "±0", 1))
}

// where names the test and package that ran r: "TestCheckout in
// ./examples_test", or the module when the report does not say.
func (r *Report) where() string {
	switch {
	case r.Test != "" && r.Package != "" && r.Package != ".":
		return r.Test + " in " + r.Package
	case r.Test != "":
		return r.Test
	}
	return "—"
}

// headline answers in one line how the runs fared: how many by status,
// naming the runs that need a look.
func (s *Summary) headline() string {
	if len(s.Reports) == 0 {
		return "No run."
	}
	by := map[RunStatus][]string{}
	for _, r := range s.worstFirst() {
		by[r.Status()] = append(by[r.Status()], r.Module)
	}
	var parts []string
	for _, st := range []RunStatus{RunRegressed, RunVulnerable, RunUnstable, RunNotRun, RunMitigated, RunHeld} {
		if ms := by[st]; len(ms) > 0 {
			p := fmt.Sprintf("%d %s", len(ms), st)
			if runRank[st] <= runRank[RunMitigated] {
				p += " (" + strings.Join(ms, ", ") + ")"
			}
			parts = append(parts, p)
		}
	}
	mark := RunHeld.symbol()
	if w := s.worstFirst()[0].Status(); runRank[w] < runRank[RunNotRun] {
		mark = w.symbol()
	}
	return fmt.Sprintf("%s %s: %s.", mark, plural(len(s.Reports), "run"), strings.Join(parts, ", "))
}

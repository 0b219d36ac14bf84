package report

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/rafaelabs/rafael/slo"
)

// What every rendering shows of a threat a genome did not meet: which term
// of the SLO broke and by how much, the trial's seed and the command that
// replays it, both measurements of an unstable trial, and why a threat did
// not run. The renderings lay these out; they compute nothing of their own.

// finding is a threat one genome did not meet: broken, unstable or not run.
type finding struct {
	Name, Threat, Severity string
	Who                    string // "starting genome" or "champion"; "" in a run without evolution
	Status                 Status
	Summary                string       // "2 of 3 trials broke the SLO", or why it did not run
	Trials                 []trialFound // the worst trials, at most maxShown
	More                   string       // the trials not shown: "2 more broke it: seeds 7, 9", or ""
}

// trialFound is one trial of a finding in words.
type trialFound struct {
	Seed   uint64
	Head   string   // "broke the SLO: <violations>" or "is unstable: …"
	Lines  []string // "measured: …", or for reruns "first: …", "rerun 1: …"
	Replay string
}

// maxShown is how many trials of one finding the page and the Markdown
// show in full.
const maxShown = 3

// findings lists, threat by threat, the starting genome's finding and then
// the champion's, each showing at most shown trials in full.
func (r *Report) findings(shown int) []finding {
	evolved := r.Evolved != nil || slices.ContainsFunc(r.Threats, func(t Threat) bool { return t.EvolvedStatus != "" })
	var out []finding
	for _, t := range r.Threats {
		if !evolved || t.Status == NotRun && t.EvolvedStatus == NotRun { // one finding says it all
			if f, ok := find(t, "", t.Status, t.NotRun, t.Trials, shown); ok {
				out = append(out, f)
			}
			continue
		}
		if f, ok := find(t, "starting genome", t.Status, t.NotRun, t.Trials, shown); ok {
			out = append(out, f)
		}
		if f, ok := find(t, "champion", t.EvolvedStatus, "the champion did not face it", t.EvolvedTrials, shown); ok {
			out = append(out, f)
		}
	}
	return out
}

// find is the finding of one genome's trials under t, if its status is not
// met, showing at most shown trials in full.
func find(t Threat, who string, status Status, notRun string, trials []Trial, shown int) (finding, bool) {
	f := finding{Name: t.Name, Threat: t.Threat, Severity: t.Severity, Who: who, Status: status}
	switch status {
	case NotRun:
		f.Summary = cmp.Or(notRun, "no trial ran")
		return f, true
	case Broken, Unstable:
	default:
		return f, false
	}
	var bad []Trial
	broken, unstable := 0, 0
	for _, tr := range trials {
		switch tr.Status {
		case Broken:
			broken++
			bad = append(bad, tr)
		case Unstable:
			unstable++
			bad = append(bad, tr)
		}
	}
	switch {
	case unstable == 0:
		f.Summary = fmt.Sprintf("%d of %d trials broke the SLO", broken, len(trials))
	case broken == 0:
		f.Summary = fmt.Sprintf("%d of %d trials broke the SLO, then met it when measured again", unstable, len(trials))
	default:
		f.Summary = fmt.Sprintf("%d of %d trials broke the SLO; %d more broke it, then met it when measured again", broken, len(trials), unstable)
	}
	// Broken before unstable, the worst first: the first shown is the one
	// to replay.
	slices.SortStableFunc(bad, func(a, b Trial) int {
		return cmp.Or(cmp.Compare(rank(a.Status), rank(b.Status)), cmp.Compare(a.Score, b.Score), cmp.Compare(a.Seed, b.Seed))
	})
	for i, tr := range bad {
		if i == shown {
			f.More = more(bad[i:])
			break
		}
		f.Trials = append(f.Trials, describe(tr))
	}
	return f, true
}

func rank(s Status) int {
	if s == Broken {
		return 0
	}
	return 1
}

func verb(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// more is the trials not shown in one line: "2 more broke it or were
// unstable: seeds 7, 9" (the ten smallest seeds at most).
func more(rest []Trial) string {
	sorted := slices.SortedFunc(slices.Values(rest), func(a, b Trial) int { return cmp.Compare(a.Seed, b.Seed) })
	var seeds []string
	for i, tr := range sorted {
		if i == 10 {
			seeds = append(seeds, "…")
			break
		}
		seeds = append(seeds, fmt.Sprint(tr.Seed))
	}
	what := "broke it"
	if slices.ContainsFunc(rest, func(t Trial) bool { return t.Status == Unstable }) {
		what = "broke it or were unstable"
	}
	if len(rest) == 1 {
		what = map[Status]string{Broken: "broke it", Unstable: "was unstable"}[rest[0].Status]
	}
	return fmt.Sprintf("%d more %s: %s %s", len(rest), what, verb(len(rest), "seed", "seeds"), strings.Join(seeds, ", "))
}

// describe is a broken or unstable trial in words.
func describe(tr Trial) trialFound {
	d := trialFound{Seed: tr.Seed, Replay: tr.Replay}
	if tr.Status == Unstable {
		d.Head = "is unstable: it broke the SLO, then met it when measured again"
	} else {
		d.Head = "broke the SLO: " + slo.Join(tr.Violations)
	}
	if tr.Status != Unstable {
		d.Lines = []string{"measured: " + tr.Metrics.String()}
	} else {
		d.Lines = []string{"first: " + slo.Join(tr.Violations) + "; measured: " + tr.Metrics.String()}
	}
	for i, m := range tr.Reruns {
		outcome := "met the SLO"
		if len(m.Violations) > 0 {
			outcome = "broke it again: " + slo.Join(m.Violations)
		}
		d.Lines = append(d.Lines, fmt.Sprintf("rerun %d: %s; measured: %s", i+1, outcome, m.Metrics.String()))
	}
	return d
}

// verdicts counts r's threats by verdict, in words: "1 mitigated, 1 held,
// 1 unstable, 1 not run", or "none" without threats. Without evolution a
// threat's verdict is its status.
func (r *Report) verdicts() string {
	counts := map[string]int{}
	for _, t := range r.Threats {
		counts[cmp.Or(t.Verdict, "no verdict")]++
	}
	order := []string{Mitigated, Held, Regressed, Vulnerable, string(Met), string(Broken), string(Unstable), string(NotRun)}
	var other []string
	for v := range counts {
		if !slices.Contains(order, v) {
			other = append(other, v)
		}
	}
	slices.Sort(other)
	var parts []string
	for _, v := range slices.Concat(order, other) {
		if counts[v] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[v], v))
		}
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

// met is "k/n": the threats of r that meet the SLO, after evolution when
// there was one.
func (r *Report) met() string {
	k := 0
	for _, t := range r.Threats {
		if r.Evolved == nil && t.Status == Met || r.Evolved != nil && t.EvolvedStatus == Met {
			k++
		}
	}
	return fmt.Sprintf("%d/%d", k, len(r.Threats))
}

// scores is the run's score in one cell: "51.1", "51.1 → 75.9" with
// evolution, or "not run" when no trial was scored.
func (r *Report) scores() string {
	if r.Baseline.Trials == 0 && r.Evolved == nil {
		return string(NotRun)
	}
	s := fmt.Sprintf("%.1f", r.Baseline.Score)
	if r.Evolved != nil {
		s += fmt.Sprintf(" → %.1f", r.Evolved.Score)
	}
	return s
}

// scoreText is a score with its interval, or "not run" when no trial was
// scored: a threat that did not run has no score, not a zero or a pass.
func scoreText(s *Score) string {
	if s == nil || s.Trials == 0 {
		return string(NotRun)
	}
	return s.String()
}

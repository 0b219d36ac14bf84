package report

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/rafaelabs/rafael/slo"
)

// verdictBlock explains one threat's verdict: each SLO term, what it
// requires and what the starting genome and the champion measured at
// worst over their trials, the term a genome broke marked in words (not
// colour alone); the command that replays the worst trial; the smallest
// counterexample that still breaks the champion; and the evidence that
// the threat's faults fired.
type verdictBlock struct {
	ID, Name, Threat, Verdict string
	Evolved                   bool
	Terms                     []termRow
	Other                     []string // violations no SLO term covers: hung requests, a setup failure, an aborted trial
	Replay                    string   // of the worst trial that broke the SLO, or of the first trial
	Counterexample            *Counterexample
	Fired                     []string
	Untouched                 string
}

// termRow is one SLO term of a verdict block.
type termRow struct {
	Term, Required string
	Base, Champ    worstValue
	Violated       bool // either genome broke it
}

// worstValue is a genome's worst value of a term over its trials.
type worstValue struct {
	Value    string // "" when the genome ran no trial
	Violated bool
}

// verdictBlocks lays out a verdict block per threat that ran.
func (r *Report) verdictBlocks() []verdictBlock {
	var out []verdictBlock
	for i, t := range r.Threats {
		if t.Status == NotRun && len(t.Trials) == 0 {
			continue
		}
		b := verdictBlock{ID: fmt.Sprintf("verdict-%d", i+1), Name: t.Name, Threat: t.Threat, Verdict: t.Verdict,
			Evolved: t.Evolved != nil, Fired: t.Fired, Untouched: t.Untouched}
		s := r.SLO
		terms := []struct {
			term, required string
			on             bool
			worst          func([]Trial) (string, bool)
		}{
			{"success rate", fmt.Sprintf("≥ %g %%", 100*s.SuccessRate), s.SuccessRate > 0, func(ts []Trial) (string, bool) {
				w := slices.MinFunc(ts, func(a, b Trial) int { return cmp.Compare(a.Metrics.SuccessRate, b.Metrics.SuccessRate) })
				return fmt.Sprintf("%.1f %% (%d of %d)", 100*w.Metrics.SuccessRate, w.Metrics.Succeeded, w.Metrics.Requests), broke(ts, slo.SuccessRate)
			}},
			{"p99 latency of the successes", "≤ " + s.P99.String(), s.P99 > 0, func(ts []Trial) (string, bool) {
				w := slices.MaxFunc(ts, func(a, b Trial) int { return cmp.Compare(float64(a.Metrics.P99), float64(b.Metrics.P99)) })
				return w.Metrics.P99.String(), broke(ts, slo.P99)
			}},
			{"recovery after the fault's removal", "≤ " + s.RecoverWithin.String(), s.RecoverWithin > 0, func(ts []Trial) (string, bool) {
				worst := time.Duration(0)
				for _, tr := range ts {
					if !tr.Metrics.Recovered {
						return "never recovered", true
					}
					worst = max(worst, tr.Metrics.Recovery)
				}
				return worst.String(), broke(ts, slo.Recovery)
			}},
		}
		for _, tm := range terms {
			if !tm.on {
				continue
			}
			row := termRow{Term: tm.term, Required: tm.required}
			if len(t.Trials) > 0 {
				row.Base.Value, row.Base.Violated = tm.worst(t.Trials)
			}
			if len(t.EvolvedTrials) > 0 {
				row.Champ.Value, row.Champ.Violated = tm.worst(t.EvolvedTrials)
			}
			row.Violated = row.Base.Violated || row.Champ.Violated
			b.Terms = append(b.Terms, row)
		}
		seen := map[string]bool{}
		for _, tr := range slices.Concat(t.Trials, t.EvolvedTrials) {
			for _, v := range tr.Violations {
				if v.Kind == slo.Hung || v.Kind == slo.Setup || v.Kind == slo.Aborted {
					if msg := v.String(); !seen[msg] {
						seen[msg] = true
						b.Other = append(b.Other, msg)
					}
				}
			}
		}
		b.Replay = worstReplay(t)
		for k := range r.Counterexamples {
			if r.Counterexamples[k].Name == t.Name {
				b.Counterexample = &r.Counterexamples[k]
			}
		}
		out = append(out, b)
	}
	return out
}

// broke reports whether any trial broke the term of kind k (a never
// recovered trial breaks the recovery term).
func broke(ts []Trial, k slo.Kind) bool {
	return slices.ContainsFunc(ts, func(tr Trial) bool {
		return slices.ContainsFunc(tr.Violations, func(v slo.Violation) bool {
			return v.Kind == k || k == slo.Recovery && v.Kind == slo.NeverRecovered
		})
	})
}

// worstReplay is the replay command of the champion's lowest-scoring
// trial when it broke the SLO, else of the starting genome's.
func worstReplay(t Threat) string {
	worst := func(ts []Trial) Trial {
		return slices.MinFunc(ts, func(a, b Trial) int { return cmp.Compare(a.Score, b.Score) })
	}
	if len(t.EvolvedTrials) > 0 {
		if w := worst(t.EvolvedTrials); w.Score < slo.Met {
			return w.Replay
		}
	}
	if len(t.Trials) > 0 {
		return worst(t.Trials).Replay
	}
	return ""
}

// verdictWords is the verdict said plainly, for the block's heading.
func verdictWords(v string) string {
	switch v {
	case Mitigated:
		return "mitigated: broken before evolution, met by the champion"
	case Vulnerable:
		return "vulnerable: broken before evolution and by the champion"
	case Regressed:
		return "regressed: met before evolution, broken by the champion"
	case Held:
		return "held: met before evolution and by the champion"
	case string(Met):
		return "met"
	case string(Broken):
		return "broken"
	case string(Unstable):
		return "unstable: broke the SLO, then met it when measured again"
	}
	return strings.TrimSpace(v)
}

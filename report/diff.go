package report

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
)

// ErrRegression is matched by [DiffResult.Err] when a run's score dropped by
// more than the threshold, or a threat it ran before did not run.
var ErrRegression = errors.New("report: resilience regressed")

// DiffResult compares two summaries run by run: a run is a module on a
// tier with a seed (the seed comes from the test's name unless one is
// given, so the same test keeps it across branches).
type DiffResult struct {
	Threshold float64   // the largest drop allowed, in points, beyond the noise
	Rows      []DiffRow // sorted by module, tier and seed
}

// Resolution is the smallest change Diff tells from none: a tenth of a
// point, as scores are shown. A drop of less than half of it shows as
// "-0.0" and is no change.
const Resolution = 0.1

// DiffRow is one run in both summaries, or in one of them.
type DiffRow struct {
	Test   string // the test that ran it, when the reports say
	Module string
	Tier   string
	Seed   uint64
	SLO    string  // the run's objective: two Runs of one test with other SLOs are two runs
	Old    *Score  // the run's baseline score in the old summary, over the compared threats; nil: not in it
	New    *Score  // the run's baseline score in the new summary, over the compared threats; nil: not in it
	Change float64 // New − Old in points; 0 unless both are there
	// Noise is the 95 % half-width of Change on the wire tier, where a
	// trial measures differently each time: from each threat's interval on
	// both sides, weighted as the score weighs the threats (see
	// [DiffResult.Noise]). It is 0 on the simulated tier, where a seed
	// replays exactly, and for threats with one trial, whose spread is not
	// measured. A drop within it is no regression.
	Noise float64

	// Unstable are the threats unstable in either summary: left out of
	// both scores, and no regression by themselves.
	Unstable []string
	// NotRun are the threats that ran in the old summary and are not run
	// in the new one: left out of both scores, and a regression.
	NotRun []string

	// Regressed: the score dropped by more than the threshold, or a
	// threat stopped running.
	Regressed bool
}

// Diff compares the baseline scores (the genome the module ships, not a
// champion it has not adopted) of the runs in old and new. A run whose
// score drops by more than its limit ([DiffResult.Limit]: the threshold,
// the measured noise of the change, or half the display [Resolution],
// whichever is largest) has regressed; a run in only one summary is listed
// but is not a regression.
//
// The scores compared are the run's severity-weighted score ([Overall])
// over its threats, less two kinds, which are left out of both sides and
// listed in the row instead:
//
//   - A threat unstable in either summary: it broke the SLO and then met it
//     when measured again, so its score is the machine's load as much as
//     the code's. Gating on it would make the gate flip with the load; it
//     is listed, not gated.
//   - A threat that ran in the old summary (met or broken) and is "not run"
//     in the new one: a threat that stops running must not pass as a
//     threat that is met, so it is a regression whatever the threshold.
//
// Threats only one summary declares count on their side as before (a test
// that gains a breaking threat loses points); a threat not run on both
// sides, or only in the old one, counts on neither. A nil summary, a
// negative threshold, a nil report or one run listed twice (merge shards
// first with [Merge]) is an error.
func Diff(old, new *Summary, threshold float64) (*DiffResult, error) {
	if old == nil || new == nil {
		return nil, fmt.Errorf("report: diff: a summary is nil")
	}
	if !(threshold >= 0) || math.IsInf(threshold, 0) { // NaN fails every comparison
		return nil, fmt.Errorf("report: diff: threshold %g: want a finite number of points, 0 or more: it is the largest drop allowed", threshold)
	}
	type pair struct{ old, new *Report }
	runs := map[run]*pair{}
	for side, s := range []*Summary{old, new} {
		for i, r := range s.Reports {
			if r == nil {
				return nil, fmt.Errorf("report: diff: report %d of the %s summary is nil", i+1, [2]string{"old", "new"}[side])
			}
			k := run{test: r.Test, module: r.Module, tier: r.Tier, seed: r.Seed, slo: r.SLO.String()} // the genome may change between the two sides: that is what is compared
			p := runs[k]
			if p == nil {
				p = &pair{}
				runs[k] = p
			}
			slot := &p.old
			if side == 1 {
				slot = &p.new
			}
			if *slot != nil {
				return nil, fmt.Errorf("report: diff: the %s summary lists %s (%s%s tier, seed %d) twice: merge its shards first",
					[2]string{"old", "new"}[side], r.Module, testPrefix(r.Test), r.Tier, r.Seed)
			}
			*slot = r
		}
	}
	d := &DiffResult{Threshold: threshold}
	for k, p := range runs {
		row := DiffRow{Test: k.test, Module: k.module, Tier: k.tier, Seed: k.seed, SLO: k.slo}
		left := map[string]bool{}
		if p.old != nil && p.new != nil {
			row.Unstable, row.NotRun = compare(p.old, p.new)
			for _, n := range slices.Concat(row.Unstable, row.NotRun) {
				left[n] = true
			}
		}
		score := func(r *Report) *Score {
			if r == nil {
				return nil
			}
			s, _ := Overall(slices.DeleteFunc(slices.Clone(r.Threats), func(t Threat) bool { return left[t.Name] }))
			return &s
		}
		row.Old, row.New = score(p.old), score(p.new)
		if row.Old != nil && row.New != nil {
			row.Change = row.New.Score - row.Old.Score
			if k.tier != "simulated" {
				row.Noise = changeNoise(p.old, p.new, left)
			}
			row.Regressed = -row.Change > d.Limit(row) || len(row.NotRun) > 0
		}
		d.Rows = append(d.Rows, row)
	}
	slices.SortFunc(d.Rows, func(a, b DiffRow) int {
		return cmp.Or(cmp.Compare(a.Module, b.Module), cmp.Compare(a.Tier, b.Tier), cmp.Compare(a.Seed, b.Seed), cmp.Compare(a.Test, b.Test), cmp.Compare(a.SLO, b.SLO))
	})
	return d, nil
}

// changeNoise is the 95 % half-width of the change of the severity-weighted
// score from old to new, over the threats not left out: each side's
// threats are independent, so the variances add, √Σ (wᵢ/W)²·hᵢ² over
// both sides' threats, hᵢ a threat's half-width.
func changeNoise(old, new *Report, left map[string]bool) float64 {
	v := 0.0
	for _, r := range []*Report{old, new} {
		var ws float64
		for _, t := range r.Threats {
			if !left[t.Name] && t.Score.Trials > 0 {
				ws += weight(t.Severity)
			}
		}
		for _, t := range r.Threats {
			if left[t.Name] || t.Score.Trials == 0 {
				continue
			}
			h := weight(t.Severity) / ws * (t.Score.High - t.Score.Low) / 2
			v += h * h
		}
	}
	return math.Sqrt(v)
}

// compare lists, in the order of the new report's threats then the old
// one's, the threats unstable in either report and the threats the old
// report ran that the new one did not.
func compare(old, new *Report) (unstable, notRun []string) {
	status := func(r *Report, name string) Status {
		if i := slices.IndexFunc(r.Threats, func(t Threat) bool { return t.Name == name }); i >= 0 {
			return r.Threats[i].Status
		}
		return ""
	}
	seen := map[string]bool{}
	for _, t := range slices.Concat(new.Threats, old.Threats) {
		if seen[t.Name] {
			continue
		}
		seen[t.Name] = true
		before, after := status(old, t.Name), status(new, t.Name)
		switch {
		case before == Unstable || after == Unstable:
			unstable = append(unstable, t.Name)
		case (before == Met || before == Broken) && after == NotRun:
			notRun = append(notRun, t.Name)
		}
	}
	return unstable, notRun
}

// Limit is the largest drop of r that is no regression: the threshold,
// r's noise, or half the display resolution, whichever is largest.
func (d *DiffResult) Limit(r DiffRow) float64 {
	return max(d.Threshold, r.Noise, Resolution/2)
}

// Regressed reports whether any run regressed.
func (d *DiffResult) Regressed() bool {
	return slices.ContainsFunc(d.Rows, func(r DiffRow) bool { return r.Regressed })
}

// Err is nil, or an error matching [ErrRegression] that names every run
// that regressed and why.
func (d *DiffResult) Err() error {
	var bad []string
	for _, r := range d.Rows {
		if !r.Regressed {
			continue
		}
		var why []string
		if -r.Change > d.Limit(r) {
			why = append(why, fmt.Sprintf("%.1f → %.1f (%s), a drop of more than %s", r.Old.Score, r.New.Score, change(r.Change), d.limitText(r)))
		}
		if len(r.NotRun) > 0 {
			why = append(why, fmt.Sprintf("%s ran before and did not run now", strings.Join(r.NotRun, ", ")))
		}
		bad = append(bad, fmt.Sprintf("%s (%s%s, seed %d): %s", r.Module, testPrefix(r.Test), r.Tier, r.Seed, strings.Join(why, "; ")))
	}
	if len(bad) == 0 {
		return nil
	}
	return fmt.Errorf("%w: %s", ErrRegression, strings.Join(bad, "; "))
}

// String is the row in one line: "checkout (simulated, seed 42): 91.2 →
// 80.1 (-11.1)", then the threats left out: "; unstable, left out:
// latency; not run now, ran before: flood".
func (r DiffRow) String() string {
	name := fmt.Sprintf("%s (%s%s, seed %d)", r.Module, testPrefix(r.Test), r.Tier, r.Seed)
	var s string
	switch {
	case r.Old == nil:
		s = fmt.Sprintf("%s: new, %.1f", name, r.New.Score)
	case r.New == nil:
		s = fmt.Sprintf("%s: gone, was %.1f", name, r.Old.Score)
	case r.Old.Trials == 0 && r.New.Trials == 0:
		s = name + ": no threat to compare"
	default:
		s = fmt.Sprintf("%s: %.1f → %.1f (%s", name, r.Old.Score, r.New.Score, change(r.Change))
		if r.Noise > 0 {
			s += fmt.Sprintf(", noise ±%.1f", r.Noise)
		}
		s += ")"
	}
	if len(r.Unstable) > 0 {
		s += "; unstable, left out: " + strings.Join(r.Unstable, ", ")
	}
	if len(r.NotRun) > 0 {
		s += "; not run now, ran before: " + strings.Join(r.NotRun, ", ")
	}
	return s
}

// change formats a change of score: "+2.5", "-11.1", or "±0.0" for one
// too small to show.
func change(c float64) string {
	if math.Abs(c) < Resolution/2 {
		return "±0.0"
	}
	return fmt.Sprintf("%+.1f", c)
}

// limitText says what r's limit is made of.
func (d *DiffResult) limitText(r DiffRow) string {
	switch l := d.Limit(r); {
	case l == r.Noise && r.Noise > d.Threshold:
		return fmt.Sprintf("the measured noise ±%.1f points (threshold %g)", r.Noise, d.Threshold)
	case l == d.Threshold:
		return fmt.Sprintf("the threshold, %g points", d.Threshold)
	default:
		return fmt.Sprintf("%g points (the scores' resolution)", l)
	}
}

// rule is the gate in one line.
func (d *DiffResult) rule() string {
	return fmt.Sprintf("a run regresses when its score drops by more than %g points (-threshold) and more than the measured noise of the change, or when a threat stops running", d.Threshold)
}

// String is the comparison, one run a line, regressions marked, then the
// rule it was held to and the verdict.
func (d *DiffResult) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "rule: %s\n", d.rule())
	for _, r := range d.Rows {
		mark := "  "
		if r.Regressed {
			mark = "! "
		}
		fmt.Fprintf(&b, "%s%s\n", mark, r)
	}
	if err := d.Err(); err != nil {
		fmt.Fprintf(&b, "%v\n", err)
	} else {
		fmt.Fprintf(&b, "no run dropped by more than %g points and its noise, and no threat stopped running\n", d.Threshold)
	}
	return b.String()
}

// Markdown is the comparison as GitHub renders it in a pull request or a
// step summary: a headline that answers whether resilience went down and
// where, the rule, and a table of the runs, worst change first, each with
// its status in words.
func (d *DiffResult) Markdown() []byte {
	var b strings.Builder
	rows := slices.Clone(d.Rows)
	slices.SortStableFunc(rows, func(a, b DiffRow) int {
		if a.Regressed != b.Regressed {
			if a.Regressed {
				return -1
			}
			return 1
		}
		return cmp.Compare(a.Change, b.Change)
	})
	var down, up []string
	for _, r := range rows {
		switch {
		case r.Regressed:
			down = append(down, r.Module)
		case r.Old != nil && r.New != nil && r.Change > r.Noise && r.Change >= Resolution/2:
			up = append(up, r.Module)
		}
	}
	switch {
	case len(down) > 0:
		fmt.Fprintf(&b, "### ✗ Resilience went down in %d of %d runs: %s\n\n", len(down), len(rows), strings.Join(down, ", "))
	case len(up) > 0:
		fmt.Fprintf(&b, "### ✓ No regression; resilience went up in %d of %d runs: %s\n\n", len(up), len(rows), strings.Join(up, ", "))
	default:
		fmt.Fprintf(&b, "### ✓ No regression in %d runs\n\n", len(rows))
	}
	fmt.Fprintf(&b, "Rule: %s.\n\n", d.rule())
	b.WriteString("| status | module | test | tier | seed | before | after | change | noise | notes |\n")
	b.WriteString("|---|---|---|---|---:|---:|---:|---:|---:|---|\n")
	for _, r := range rows {
		status, before, after, chg, noise := "held", "—", "—", "—", "—"
		switch {
		case r.Regressed:
			status = "✗ regressed"
		case r.Old == nil:
			status = "new"
		case r.New == nil:
			status = "gone"
		case r.Change > r.Noise && r.Change >= Resolution/2:
			status = "↑ improved"
		}
		if r.Old != nil {
			before = fmt.Sprintf("%.1f", r.Old.Score)
		}
		if r.New != nil {
			after = fmt.Sprintf("%.1f", r.New.Score)
		}
		if r.Old != nil && r.New != nil {
			chg, noise = change(r.Change), fmt.Sprintf("±%.1f", r.Noise)
		}
		var notes []string
		if len(r.NotRun) > 0 {
			notes = append(notes, "not run now, ran before: "+strings.Join(r.NotRun, ", "))
		}
		if len(r.Unstable) > 0 {
			notes = append(notes, "unstable, left out: "+strings.Join(r.Unstable, ", "))
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %d | %s | %s | %s | %s | %s |\n", status, mdCell(r.Module), mdCell(cmp.Or(r.Test, "—")), r.Tier, r.Seed, before, after, chg, noise, mdCell(strings.Join(notes, "; ")))
	}
	return []byte(b.String())
}

// mdCell escapes a Markdown table cell.
func mdCell(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ").Replace(s)
}

package report

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// ErrRegression is matched by [DiffResult.Err] when a run's score dropped by
// more than the threshold.
var ErrRegression = errors.New("report: resilience regressed")

// DiffResult compares two summaries run by run: a run is a module on a
// tier with a seed (the seed comes from the test's name unless one is
// given, so the same test keeps it across branches).
type DiffResult struct {
	Threshold float64   // the largest drop allowed, in points
	Rows      []DiffRow // sorted by module, tier and seed
}

// DiffRow is one run in both summaries, or in one of them.
type DiffRow struct {
	Module string
	Tier   string
	Seed   uint64
	Old    *Score  // the baseline score in the old summary; nil: not in it
	New    *Score  // the baseline score in the new summary; nil: not in it
	Change float64 // New − Old in points; 0 unless both are there
	// Regressed: the score dropped by more than the threshold.
	Regressed bool
}

// Diff compares the baseline scores (the genome the module ships, not a
// champion it has not adopted) of the runs in old and new. A run whose
// score drops by more than threshold points has regressed; a run in only
// one summary is listed but is not a regression. A nil summary, a negative
// threshold, a nil report or one run listed twice (merge shards first with
// [Merge]) is an error.
func Diff(old, new *Summary, threshold float64) (*DiffResult, error) {
	if old == nil || new == nil {
		return nil, fmt.Errorf("report: diff: a summary is nil")
	}
	if threshold < 0 {
		return nil, fmt.Errorf("report: diff: threshold %g is negative: it is the largest drop allowed, in points", threshold)
	}
	rows := map[run]*DiffRow{}
	for side, s := range []*Summary{old, new} {
		for i, r := range s.Reports {
			if r == nil {
				return nil, fmt.Errorf("report: diff: report %d of the %s summary is nil", i+1, [2]string{"old", "new"}[side])
			}
			k := run{r.Module, r.Tier, r.Seed}
			row := rows[k]
			if row == nil {
				row = &DiffRow{Module: r.Module, Tier: r.Tier, Seed: r.Seed}
				rows[k] = row
			}
			slot := &row.Old
			if side == 1 {
				slot = &row.New
			}
			if *slot != nil {
				return nil, fmt.Errorf("report: diff: the %s summary lists %s (%s tier, seed %d) twice: merge its shards first",
					[2]string{"old", "new"}[side], r.Module, r.Tier, r.Seed)
			}
			b := r.Baseline
			*slot = &b
		}
	}
	d := &DiffResult{Threshold: threshold}
	for _, row := range rows {
		if row.Old != nil && row.New != nil {
			row.Change = row.New.Score - row.Old.Score
			row.Regressed = -row.Change > threshold
		}
		d.Rows = append(d.Rows, *row)
	}
	slices.SortFunc(d.Rows, func(a, b DiffRow) int {
		return cmp.Or(cmp.Compare(a.Module, b.Module), cmp.Compare(a.Tier, b.Tier), cmp.Compare(a.Seed, b.Seed))
	})
	return d, nil
}

// Regressed reports whether any run regressed.
func (d *DiffResult) Regressed() bool {
	return slices.ContainsFunc(d.Rows, func(r DiffRow) bool { return r.Regressed })
}

// Err is nil, or an error matching [ErrRegression] that names every run
// that regressed, with its scores.
func (d *DiffResult) Err() error {
	var bad []string
	for _, r := range d.Rows {
		if r.Regressed {
			bad = append(bad, r.String())
		}
	}
	if len(bad) == 0 {
		return nil
	}
	return fmt.Errorf("%w by more than %g points: %s", ErrRegression, d.Threshold, strings.Join(bad, "; "))
}

// String is the row in one line: "checkout (simulated, seed 42): 91.2 → 80.1 (-11.1)".
func (r DiffRow) String() string {
	name := fmt.Sprintf("%s (%s, seed %d)", r.Module, r.Tier, r.Seed)
	switch {
	case r.Old == nil:
		return fmt.Sprintf("%s: new, %.1f", name, r.New.Score)
	case r.New == nil:
		return fmt.Sprintf("%s: gone, was %.1f", name, r.Old.Score)
	}
	return fmt.Sprintf("%s: %.1f → %.1f (%+.1f)", name, r.Old.Score, r.New.Score, r.Change)
}

// String is the comparison, one run a line, regressions marked.
func (d *DiffResult) String() string {
	var b strings.Builder
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
		fmt.Fprintf(&b, "no run dropped by more than %g points\n", d.Threshold)
	}
	return b.String()
}

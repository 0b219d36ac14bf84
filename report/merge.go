package report

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"
)

// Summary is the reports of several packages, tests or CI shards: one
// report per run, a run being a module on a tier with a seed.
type Summary struct {
	Reports []*Report `json:"reports"` // sorted by module, tier and seed
}

// Merge joins reports into a [Summary]. Reports of different runs stay
// separate; reports of the same run (the same module, tier, seed, starting
// genome and SLO: shards
// that each ran some of the threats or trials, as with go test -run) become
// one report whose threats are the union of theirs, in order of first
// appearance, whose trials are the union by seed, whose latency
// distributions (of successes and of failures) are summed, and whose
// statuses, scores, verdicts and improvement are derived again with
// [Report.Derive], so merging the shards gives the report of the unsharded
// run: a threat one shard did not run and another did is run, and a threat
// met in one shard and broken in another is broken. Shards must agree on
// what they share (SLO, starting genome, Go version, a threat's parameters
// and severity, a trial run twice, and the champion, diff, history and
// audit reference of an evolution); where they do not, or a report is nil
// or of another schema version, Merge returns an error naming the report
// and the problem. A run that only one report holds is a copy of that
// report, derived again too; the inputs are not modified.
func Merge(reports ...*Report) (*Summary, error) {
	srcs := make([]source, len(reports))
	for i, r := range reports {
		name := fmt.Sprintf("report %d", i+1)
		if r != nil && r.Module != "" {
			name += " (" + r.Module + ")"
		}
		srcs[i] = source{r, name}
	}
	return merge(srcs)
}

// MergeFiles reads the report files with [ReadFile] and merges them like
// [Merge]; an error names the file it is about.
func MergeFiles(paths ...string) (*Summary, error) {
	srcs := make([]source, len(paths))
	for i, p := range paths {
		r, err := ReadFile(p)
		if err != nil {
			return nil, err
		}
		srcs[i] = source{r, p}
	}
	return merge(srcs)
}

// source is a report and how errors name it.
type source struct {
	r    *Report
	name string
}

// run is what makes reports shards of one run: the same test, module, tier
// and seed, and the same starting genome and SLO (two Runs of one module in
// one test, with another genome or objective, are two runs; so are two
// tests that run one module with the same seed).
type run struct {
	test, module, tier string
	seed               uint64
	genome, slo        string
}

func merge(srcs []source) (*Summary, error) {
	if len(srcs) == 0 {
		return nil, fmt.Errorf("report: merge: no reports")
	}
	var order []run
	groups := map[run][]source{}
	for _, s := range srcs {
		switch {
		case s.r == nil:
			return nil, fmt.Errorf("report: merge: %s is nil", s.name)
		case s.r.SchemaVersion != SchemaVersion:
			return nil, fmt.Errorf("%w: %s has schemaVersion %d; this version of rafael reads %d", ErrSchema, s.name, s.r.SchemaVersion, SchemaVersion)
		case s.r.Module == "":
			return nil, fmt.Errorf("report: merge: %s names no module", s.name)
		}
		k := run{s.r.Test, s.r.Module, s.r.Tier, s.r.Seed, s.r.Genome, s.r.SLO.String()}
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		groups[k] = append(groups[k], s)
	}
	sum := &Summary{}
	for _, k := range order {
		r, err := combine(groups[k])
		if err != nil {
			return nil, fmt.Errorf("report: merge %s (%s%s tier, seed %d): %w", k.module, testPrefix(k.test), k.tier, k.seed, err)
		}
		sum.Reports = append(sum.Reports, r)
	}
	slices.SortStableFunc(sum.Reports, func(a, b *Report) int {
		return cmp.Or(cmp.Compare(a.Module, b.Module), cmp.Compare(a.Tier, b.Tier), cmp.Compare(a.Seed, b.Seed), cmp.Compare(a.Test, b.Test))
	})
	return sum, nil
}

// testPrefix is "TestX, " for a report that names its test, else "".
func testPrefix(test string) string {
	if test == "" {
		return ""
	}
	return test + ", "
}

// combine merges the shards of one run into a new report.
func combine(shards []source) (*Report, error) {
	for i, s := range shards { // work on copies: the output shares nothing with the inputs
		r, err := clone(s.r)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", s.name, err)
		}
		shards[i].r = r
	}
	out, first := shards[0].r, shards[0]
	evo := first // the first shard that evolved, whose evolution the others must share
	for _, s := range shards[1:] {
		r := s.r
		for _, d := range []struct {
			what string
			a, b any
		}{{"SLO", out.SLO, r.SLO}, {"starting genome", out.Genome, r.Genome}, {"Go version", out.GoVersion, r.GoVersion}} {
			if d.a != d.b {
				return nil, fmt.Errorf("%s and %s disagree on the %s (%v, %v): shards of one run share it", first.name, s.name, d.what, d.a, d.b)
			}
		}
		if r.Start.Before(out.Start) {
			out.Start = r.Start
		}
		if r.End.After(out.End) {
			out.End = r.End
		}
		if err := shareEvolution(&evo, out, s); err != nil {
			return nil, err
		}
		for _, c := range r.Counterexamples {
			if !slices.ContainsFunc(out.Counterexamples, func(d Counterexample) bool { return reflect.DeepEqual(c, d) }) {
				out.Counterexamples = append(out.Counterexamples, c)
			}
		}
		for _, t := range r.Threats {
			i := slices.IndexFunc(out.Threats, func(u Threat) bool { return u.Name == t.Name })
			if i < 0 {
				out.Threats = append(out.Threats, t)
			} else if err := joinThreat(&out.Threats[i], t); err != nil {
				return nil, fmt.Errorf("%s: threat %s: %w", s.name, t.Name, err)
			}
		}
	}
	out.Derive()
	return out, nil
}

// shareEvolution checks that shard s evolved the same champion as the first
// shard that evolved (*evo), and takes its evolution when it is the first.
func shareEvolution(evo *source, out *Report, s source) error {
	r := s.r
	if r.Champion == "" && r.History == nil && r.Audit == nil {
		return nil
	}
	if out.Champion == "" && out.History == nil && out.Audit == nil {
		out.Champion, out.GenomeDiff, out.History, out.Audit = r.Champion, r.GenomeDiff, r.History, r.Audit
		out.StartGenome, out.ChampionGenome = r.StartGenome, r.ChampionGenome
		*evo = s
		return nil
	}
	same := out.Champion == r.Champion && reflect.DeepEqual(out.GenomeDiff, r.GenomeDiff) &&
		reflect.DeepEqual(out.History, r.History) && reflect.DeepEqual(out.Audit, r.Audit) &&
		bytes.Equal(out.StartGenome, r.StartGenome) && bytes.Equal(out.ChampionGenome, r.ChampionGenome) // both compacted by clone
	if !same {
		return fmt.Errorf("%s and %s evolved differently (champions %q and %q): shards of one run share one evolution; merge them as separate runs with different seeds",
			evo.name, s.name, out.Champion, r.Champion)
	}
	return nil
}

// joinThreat adds shard t's trials and latency counts to u, and its reason
// for not running when it differs from u's ([Report.Derive] drops the
// reason when either shard ran the threat).
func joinThreat(u *Threat, t Threat) error {
	if u.Threat != t.Threat || u.Severity != t.Severity {
		return fmt.Errorf("ran as %q [%s] and as %q [%s]: shards of one run share a threat's parameters", u.Threat, u.Severity, t.Threat, t.Severity)
	}
	switch {
	case u.NotRun == "":
		u.NotRun = t.NotRun
	case t.NotRun != "" && !strings.Contains(u.NotRun, t.NotRun):
		u.NotRun += "; " + t.NotRun
	}
	var err error
	if u.Trials, err = joinTrials(u.Trials, t.Trials); err != nil {
		return err
	}
	if u.EvolvedTrials, err = joinTrials(u.EvolvedTrials, t.EvolvedTrials); err != nil {
		return fmt.Errorf("champion's %w", err)
	}
	u.Latency = addBuckets(u.Latency, t.Latency)
	u.FailedLatency = addBuckets(u.FailedLatency, t.FailedLatency)
	u.EvolvedLatency = addBuckets(u.EvolvedLatency, t.EvolvedLatency)
	u.EvolvedFailedLatency = addBuckets(u.EvolvedFailedLatency, t.EvolvedFailedLatency)
	return nil
}

// joinTrials is the union of two trial lists by seed.
func joinTrials(have, more []Trial) ([]Trial, error) {
	for _, t := range more {
		i := slices.IndexFunc(have, func(h Trial) bool { return h.Seed == t.Seed })
		switch {
		case i < 0:
			have = append(have, t)
		case !sameTrial(have[i], t):
			return nil, fmt.Errorf("trial with seed %d differs between shards (fitness %g and %g): a seed replays exactly, so they are not shards of one run",
				t.Seed, have[i].Metrics.Fitness, t.Metrics.Fitness)
		}
	}
	return have, nil
}

// addBuckets sums two latency distributions bound by bound.
func addBuckets(a, b []Bucket) []Bucket {
	if len(b) == 0 {
		return a
	}
	out := slices.SortedFunc(slices.Values(a), byBound)
	for _, x := range b {
		i, found := slices.BinarySearchFunc(out, x.UpTo, func(b Bucket, d time.Duration) int { return cmp.Compare(b.UpTo, d) })
		if found {
			out[i].Count += x.Count
		} else {
			out = slices.Insert(out, i, x)
		}
	}
	return out
}

func byBound(a, b Bucket) int { return cmp.Compare(a.UpTo, b.UpTo) }

// clone is a deep copy of r, through its JSON form.
func clone(r *Report) (*Report, error) {
	data, err := json.Marshal(r)
	if err != nil {
		return nil, err
	}
	var c Report
	if err := json.Unmarshal(data, &c); err != nil {
		return nil, err
	}
	return &c, nil
}

// sameTrial reports whether a and b are the same trial, whatever command
// replays each (a second Run in the same test names its subtests "#01").
func sameTrial(a, b Trial) bool {
	a.Replay, b.Replay = "", ""
	return reflect.DeepEqual(a, b)
}

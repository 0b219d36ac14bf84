package report

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rafaelabs/rafael/slo"
)

// shard keeps, of each threat of whole in keep, the trials (and the
// champion's trials) whose index is in [from, to), and the latency counts
// of those trials' share; threats not in keep are dropped, as go test -run
// drops them. The shard is derived on its own, as the harness derives it.
func shard(whole *Report, keep map[string][2]int, start time.Time) *Report {
	r, err := clone(whole)
	if err != nil {
		panic(err)
	}
	r.Start, r.End = start, start.Add(time.Second)
	var ts []Threat
	for _, t := range r.Threats {
		span, ok := keep[t.Name]
		if !ok {
			continue
		}
		t.Trials = t.Trials[span[0]:span[1]]
		if t.EvolvedTrials != nil {
			t.EvolvedTrials = t.EvolvedTrials[span[0]:span[1]]
		}
		t.Latency, t.EvolvedLatency = share(t.Latency, span), share(t.EvolvedLatency, span)
		t.FailedLatency, t.EvolvedFailedLatency = share(t.FailedLatency, span), share(t.EvolvedFailedLatency, span)
		ts = append(ts, t)
	}
	r.Threats = ts
	r.Derive()
	return r
}

// share splits each bucket's count over three trials: trial i holds
// count/3, the last one the remainder.
func share(bs []Bucket, span [2]int) []Bucket {
	var out []Bucket
	for _, b := range bs {
		n := int64(0)
		for i := span[0]; i < span[1]; i++ {
			n += b.Count / 3
			if i == 2 {
				n += b.Count % 3
			}
		}
		out = append(out, Bucket{UpTo: b.UpTo, Count: n})
	}
	return out
}

// shards splits a fixture into three shards: the first runs db-outage; the
// second the first trial of latency; the third latency's two other trials
// and flood, and holds cache-stampede, which did not run.
func shards(whole *Report) []*Report {
	t0 := whole.Start
	return []*Report{
		shard(whole, map[string][2]int{"db-outage": {0, 3}}, t0),
		shard(whole, map[string][2]int{"latency": {0, 1}}, t0.Add(time.Second)),
		shard(whole, map[string][2]int{"latency": {1, 3}, "flood": {0, 3}, "cache-stampede": {0, 0}}, t0.Add(1500*time.Millisecond)),
	}
}

func TestMergeOfShardsIsTheUnshardedReport(t *testing.T) {
	for name, whole := range map[string]*Report{"evolved": evolved(), "measured": measured()} {
		t.Run(name, func(t *testing.T) {
			parts := shards(whole)
			require.NotEqual(t, whole.Baseline, parts[0].Baseline, "the shards score differently on their own")
			sum, err := Merge(parts...)
			require.NoError(t, err)
			require.Len(t, sum.Reports, 1)
			assert.Equal(t, whole, sum.Reports[0], "merged shards (-want +got)")

			// In another order the threats come in another order, but every
			// score is the same to the bit.
			sum, err = Merge(parts[2], parts[0], parts[1])
			require.NoError(t, err)
			got := sum.Reports[0]
			assert.Equal(t, whole.Baseline, got.Baseline)
			assert.Equal(t, whole.Evolved, got.Evolved)
			assert.Equal(t, []string{"latency", "flood", "cache-stampede", "db-outage"}, names(got.Threats))
		})
	}
}

// A threat's status, score and verdict are derived again from the shards'
// trials together, not taken from either shard.
func TestMergeDerivesAgain(t *testing.T) {
	parts := shards(measured())
	first, rest := parts[1].Threats[0], parts[2].Threats[0]
	require.Equal(t, "latency", first.Name)
	require.Equal(t, Met, first.Status, "the shard with latency's first trial met the SLO")
	require.GreaterOrEqual(t, first.Score.Score, slo.Met)
	require.Equal(t, Unstable, rest.Status)

	sum, err := Merge(parts...)
	require.NoError(t, err)
	lat := sum.Reports[0].Threats[1]
	assert.Equal(t, Unstable, lat.Status, "one unstable trial makes the merged threat unstable")
	assert.Equal(t, string(Unstable), lat.Verdict)
	assert.Less(t, lat.Score.Score, slo.Met, "an unstable threat does not score as met")
	assert.Equal(t, 3, lat.Score.Trials)

	st := sum.Reports[0].Threats[3]
	assert.Equal(t, NotRun, st.Status, "a threat no shard ran is not run")
	assert.Equal(t, notRun, st.NotRun)

	// A threat one shard did not run and another ran is run.
	a, b := shards(measured())[0], shards(measured())[0]
	a.Threats[0].Trials, a.Threats[0].Latency, a.Threats[0].FailedLatency = nil, nil, nil
	a.Threats[0].NotRun = "skipped in this shard"
	a.Derive()
	require.Equal(t, NotRun, a.Threats[0].Status)
	sum, err = Merge(a, b)
	require.NoError(t, err)
	db := sum.Reports[0].Threats[0]
	assert.Equal(t, Broken, db.Status)
	assert.Empty(t, db.NotRun, "a threat that ran keeps no reason for not running")
	assert.Equal(t, b.Threats[0].Score, db.Score)

	// A report that says met where its trials broke the SLO is derived
	// again when merged, even alone.
	lie := measured()
	lie.Threats[0].Status, lie.Threats[0].Verdict, lie.Threats[0].Score.Score = Met, string(Met), 99
	sum, err = Merge(lie)
	require.NoError(t, err)
	assert.Equal(t, Broken, sum.Reports[0].Threats[0].Status)
	assert.Equal(t, measured(), sum.Reports[0])
}

func names(ts []Threat) []string {
	var out []string
	for _, t := range ts {
		out = append(out, t.Name)
	}
	return out
}

func TestMergeLeavesInputsAloneAndKeepsRunsApart(t *testing.T) {
	a, b := evolved(), measured()
	b.Module = "billing"
	c := evolved()
	c.Seed = 7
	sum, err := Merge(a, b, c)
	require.NoError(t, err)
	assert.Equal(t, evolved(), a, "the input is not modified")
	var got []string
	for _, r := range sum.Reports {
		got = append(got, r.Module+"/"+r.Tier)
	}
	assert.Equal(t, []string{"billing/wire", "checkout/simulated", "checkout/simulated"}, got)
	assert.Equal(t, []uint64{42, 7, 42}, []uint64{sum.Reports[0].Seed, sum.Reports[1].Seed, sum.Reports[2].Seed})
	assert.Equal(t, a, sum.Reports[2], "a run in one report is that report")
}

func TestMergeRefusesWhatIsNotOneRun(t *testing.T) {
	parts := func(edit func([]*Report)) []*Report {
		p := shards(evolved())
		edit(p)
		return p
	}
	for name, tc := range map[string]struct {
		in   []*Report
		want string
	}{
		"none":   {nil, "no reports"},
		"nil":    {[]*Report{evolved(), nil}, "report 2 is nil"},
		"schema": {parts(func(p []*Report) { p[1].SchemaVersion = 3 }), "report 2 (checkout) has schemaVersion 3; this version of rafael reads 2"},
		"module": {parts(func(p []*Report) { p[0].Module = "" }), "report 1 names no module"},
		"threat": {parts(func(p []*Report) { p[2].Threats[0].Threat = "latency(delay=1s) [medium]" }), "report 3 (checkout): threat latency: ran as"},
		"trial": {parts(func(p []*Report) {
			tr := p[1].Threats[0].Trials[0]
			tr.Metrics.Fitness = 0.1
			p[2].Threats[0].Trials = []Trial{tr}
		}), "trial with seed 200 differs between shards (fitness 0.91 and 0.1)"},
		"rerun": {parts(func(p []*Report) {
			tr := p[2].Threats[0].Trials[0] // latency's trial 201, measured once
			tr.Reruns = []Measurement{{Metrics: tr.Metrics}}
			p[1].Threats[0].Trials = append(p[1].Threats[0].Trials, tr)
		}), "trial with seed 201 differs between shards"},
		"champion": {parts(func(p []*Report) { p[1].Champion = "sha256:else" }), `evolved differently (champions "sha256:c4a81e07d3b2" and "sha256:else")`},
	} {
		_, err := Merge(tc.in...)
		assert.ErrorContains(t, err, tc.want, name)
	}
}

// Two Runs of one module in one test, with another starting genome or
// another SLO, are two runs, not shards of one. (Before: make demo's merge
// refused the workers walkthrough's two runs.)
func TestMergeKeepsRunsOfAnotherGenomeOrSLOApart(t *testing.T) {
	a, b := evolved(), evolved()
	b.SLO.P99 = time.Second
	s, err := Merge(a, b)
	require.NoError(t, err)
	assert.Len(t, s.Reports, 2)
	c := evolved()
	c.Genome = "sha256:other"
	s, err = Merge(a, c)
	require.NoError(t, err)
	assert.Len(t, s.Reports, 2)
	// The same run twice, replayed under other subtest names, is one run.
	d := evolved()
	d.Threats[0].Trials[0].Replay += "#01"
	s, err = Merge(a, d)
	require.NoError(t, err)
	assert.Len(t, s.Reports, 1)
}

func TestMergeFilesNamesTheFile(t *testing.T) {
	dir := t.TempDir()
	var paths []string
	for i, r := range shards(evolved()) {
		p := filepath.Join(dir, "shard"+string(rune('1'+i))+".json")
		require.NoError(t, r.WriteFile(p))
		paths = append(paths, p)
	}
	sum, err := MergeFiles(paths...)
	require.NoError(t, err)
	assert.Equal(t, evolved(), sum.Reports[0], "the shards' files merge into the unsharded report")

	data, err := os.ReadFile(paths[1])
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(paths[1], data[:len(data)/3], 0o644))
	_, err = MergeFiles(paths...)
	assert.ErrorContains(t, err, "shard2.json: not a complete JSON report")

	require.NoError(t, os.WriteFile(paths[1], []byte(`{"schemaVersion": 1, "module": "checkout"}`), 0o644))
	_, err = MergeFiles(paths...)
	assert.ErrorIs(t, err, ErrSchema)
	assert.ErrorContains(t, err, "shard2.json has schemaVersion 1, written by an older rafael")

	good := filepath.Join(dir, "good.json")
	require.NoError(t, shards(evolved())[1].WriteFile(good))
	ev := evolved()
	ev.Threats[1].Severity = "serious"
	p := filepath.Join(dir, "odd.json")
	require.NoError(t, ev.WriteFile(p))
	_, err = MergeFiles(good, p)
	assert.ErrorContains(t, err, p+": threat latency: ran as")
}

func TestScoreOf(t *testing.T) {
	assert.Equal(t, Score{}, ScoreOf(nil))
	one := ScoreOf([]Trial{{Score: 75}})
	assert.Equal(t, Score{Score: 75, Low: 75, High: 75, Trials: 1}, one, "one trial: no interval")
	// 60, 80, 100: mean 80, sample sd 20, half-width 1.96·20/√3.
	s := ScoreOf([]Trial{{Score: 100}, {Score: 60}, {Score: 80}})
	assert.InDelta(t, 80, s.Score, 1e-9)
	assert.InDelta(t, 80-1.96*20/1.7320508075688772, s.Low, 1e-9)
	assert.InDelta(t, min(100, 80+1.96*20/1.7320508075688772), s.High, 1e-9)
	wide := ScoreOf([]Trial{{Score: 1}, {Score: 49}})
	assert.Equal(t, 0.0, wide.Low, "clamped at 0")
	// When a trial broke the SLO only the broken ones count: one broken
	// trial among met ones pulls the threat below 50, where its verdict is.
	mixed := ScoreOf([]Trial{{Score: 100}, {Score: 100}, {Score: 45}})
	assert.Equal(t, Score{Score: 45, Low: 45, High: 45, Trials: 3}, mixed)
	high := ScoreOf([]Trial{{Score: 99}, {Score: 100}, {Score: 51}, {Score: 52}})
	assert.Equal(t, 100.0, high.High, "clamped at 100")
}

func TestOverallWeighsBySeverity(t *testing.T) {
	ts := []Threat{
		{Severity: "medium", Score: Score{Score: 90, Low: 80, High: 100, Trials: 2}},
		{Severity: "critical", Score: Score{Score: 30, Low: 20, High: 40, Trials: 3}},
		{Severity: "high", Score: Score{Score: 99, Trials: 0}}, // never ran: left out
	}
	base, ev := Overall(ts)
	assert.Nil(t, ev, "no evolved scores")
	assert.InDelta(t, (90+3*30)/4.0, base.Score, 1e-12)
	assert.InDelta(t, (80+3*20)/4.0, base.Low, 1e-12)
	assert.InDelta(t, (100+3*40)/4.0, base.High, 1e-12)
	assert.Equal(t, 5, base.Trials)
	ts[0].Evolved = &Score{Score: 100, Low: 100, High: 100, Trials: 2}
	_, ev = Overall(ts)
	assert.Equal(t, &Score{Score: 100, Low: 100, High: 100, Trials: 2}, ev, "only threats with an evolved score count")
}

func TestSummaryHTMLHoldsEveryRunWithUniqueIDs(t *testing.T) {
	s, err := Merge(evolved(), measured())
	if err != nil {
		t.Fatal(err)
	}
	page, err := s.HTML()
	if err != nil {
		t.Fatal(err)
	}
	html := string(page)
	if n := strings.Count(html, "RAFAEL resilience report: "); n != len(s.Reports) {
		t.Errorf("%d report sections, want %d", n, len(s.Reports))
	}
	ids := regexp.MustCompile(` id="([^"]+)"`).FindAllStringSubmatch(html, -1)
	seen := map[string]bool{}
	for _, m := range ids {
		if seen[m[1]] {
			t.Errorf("id %q appears twice", m[1])
		}
		seen[m[1]] = true
	}
	for i := range s.Reports {
		anchor := fmt.Sprintf("run-%d", i+1)
		if !seen[anchor] || !strings.Contains(html, `href="#`+anchor+`"`) {
			t.Errorf("run %d has no section %q linked from the table", i+1, anchor)
		}
	}
	if !seen["run-1-threats"] {
		t.Errorf("chart ids are not prefixed by run: %v", seen)
	}
	assets := strings.ReplaceAll(html, `xmlns="http://www.w3.org/2000/svg"`, "") // a namespace, not a fetch
	for _, bad := range []string{"<script", "http://", "https://", "src=", "url("} {
		if strings.Contains(assets, bad) {
			t.Errorf("the summary page is not self-contained: it has %q", bad)
		}
	}
}

// Two tests that run one module with the same seed are two runs, not
// shards of one: rafael test ./... merged the examples' two catalog tests
// (both Seed: 1) as one and refused, since they evolved differently.
func TestMergeKeepsTwoTestsOfOneModuleApart(t *testing.T) {
	a, b := evolved(), evolved()
	b.Test = "TestCatalogThroughToxiproxy"
	b.Champion = "sha256:another"
	s, err := Merge(a, b)
	require.NoError(t, err)
	require.Len(t, s.Reports, 2)
	assert.Equal(t, []string{"TestCatalogThroughToxiproxy", "TestCheckout"}, []string{s.Reports[0].Test, s.Reports[1].Test})

	b.Test = a.Test // one test: shards of one run, which must share an evolution
	_, err = Merge(a, b)
	assert.ErrorContains(t, err, "report: merge checkout (TestCheckout, simulated tier, seed 42)")
}

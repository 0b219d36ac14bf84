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
)

// shard keeps, of each threat of whole, the trials (and the champion's
// trials) whose index is in [from, to), and the latency counts of those
// trials' share; threats left with no trial are dropped, as go test -run
// drops them.
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
		ts = append(ts, row(t))
	}
	r.Threats = ts
	r.Baseline, r.Evolved = Overall(ts)
	r.Improvement = 0
	if r.Evolved != nil {
		r.Improvement = r.Evolved.Score - r.Baseline.Score
	}
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

// shards splits a three-trial report into three shards: the first runs
// db-outage; the second the first trial of latency; the third latency's two
// other trials and flood.
func shards(whole *Report) []*Report {
	t0 := whole.Start
	return []*Report{
		shard(whole, map[string][2]int{"db-outage": {0, 3}}, t0),
		shard(whole, map[string][2]int{"latency": {0, 1}}, t0.Add(time.Second)),
		shard(whole, map[string][2]int{"latency": {1, 3}, "flood": {0, 3}}, t0.Add(1500*time.Millisecond)),
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
			assert.Equal(t, []string{"latency", "flood", "db-outage"}, names(got.Threats))
		})
	}
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
	c := measured()
	c.Seed = 7
	sum, err := Merge(a, b, c)
	require.NoError(t, err)
	assert.Equal(t, evolved(), a, "the input is not modified")
	var got []string
	for _, r := range sum.Reports {
		got = append(got, r.Module+"/"+r.Tier)
	}
	assert.Equal(t, []string{"billing/simulated", "checkout/simulated", "checkout/simulated"}, got)
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
		"schema": {parts(func(p []*Report) { p[1].SchemaVersion = 3 }), "report 2 (checkout) has schemaVersion 3; this version of rafael reads 1"},
		"module": {parts(func(p []*Report) { p[0].Module = "" }), "report 1 names no module"},
		"slo":    {parts(func(p []*Report) { p[2].SLO.P99 = time.Second }), "report 1 (checkout) and report 3 (checkout) disagree on the SLO"},
		"genome": {parts(func(p []*Report) { p[1].Genome = "sha256:other" }), "disagree on the starting genome"},
		"threat": {parts(func(p []*Report) { p[2].Threats[0].Threat = "latency(delay=1s) [medium]" }), "report 3 (checkout): threat latency: ran as"},
		"trial": {parts(func(p []*Report) {
			tr := p[1].Threats[0].Trials[0]
			tr.Metrics.Fitness = 0.1
			p[2].Threats[0].Trials = []Trial{tr}
		}), "trial with seed 200 differs between shards (fitness 0.91 and 0.1)"},
		"champion": {parts(func(p []*Report) { p[1].Champion = "sha256:else" }), `evolved differently (champions "sha256:c4a81e07d3b2" and "sha256:else")`},
	} {
		_, err := Merge(tc.in...)
		assert.ErrorContains(t, err, tc.want, name)
	}
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

	require.NoError(t, os.WriteFile(paths[1], []byte(`{"schemaVersion": 2, "module": "checkout"}`), 0o644))
	_, err = MergeFiles(paths...)
	assert.ErrorIs(t, err, ErrSchema)
	assert.ErrorContains(t, err, "shard2.json has schemaVersion 2")

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
	one := ScoreOf([]Trial{{Metrics: Metrics{Fitness: 0.5}}})
	assert.Equal(t, Score{Score: 50, Low: 50, High: 50, Trials: 1}, one, "one trial: no interval")
	// 0.2, 0.4, 0.6: mean 0.4, sample sd 0.2, half-width 1.96·0.2/√3.
	s := ScoreOf([]Trial{{Metrics: Metrics{Fitness: 0.6}}, {Metrics: Metrics{Fitness: 0.2}}, {Metrics: Metrics{Fitness: 0.4}}})
	assert.InDelta(t, 40, s.Score, 1e-9)
	assert.InDelta(t, 40-100*1.96*0.2/1.7320508075688772, s.Low, 1e-9)
	assert.InDelta(t, 40+100*1.96*0.2/1.7320508075688772, s.High, 1e-9)
	wide := ScoreOf([]Trial{{Metrics: Metrics{Fitness: 0}}, {Metrics: Metrics{Fitness: 1}}})
	assert.Equal(t, 0.0, wide.Low, "clamped at 0")
	assert.Equal(t, 100.0, wide.High, "clamped at 100")
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

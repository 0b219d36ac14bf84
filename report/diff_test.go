package report

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rafaelabs/rafael/slo"
)

// edited is a copy of r with edit applied to the threat named name, then
// derived again.
func edited(r *Report, name string, edit func(*Threat)) *Report {
	c, err := clone(r)
	if err != nil {
		panic(err)
	}
	for i := range c.Threats {
		if c.Threats[i].Name == name {
			edit(&c.Threats[i])
		}
	}
	c.Derive()
	return c
}

// slower makes every trial of the starting genome under t break its p99.
func slower(t *Threat) {
	for i := range t.Trials {
		tr := &t.Trials[i]
		tr.Metrics.P99 = 700 * time.Millisecond
		tr.Violations = slo.Check(fixtureSLO, tr.Metrics)
	}
}

func TestDiffGatesARegression(t *testing.T) {
	billing := measured()
	billing.Module = "billing"
	old, err := Merge(append(shards(evolved()), billing)...)
	require.NoError(t, err)
	same, err := Diff(old, old, 5)
	require.NoError(t, err)
	assert.False(t, same.Regressed())
	assert.NoError(t, same.Err())

	worse, err := Merge(edited(evolved(), "latency", slower), billing)
	require.NoError(t, err)
	drop := worse.Reports[1].Baseline.Score - evolved().Baseline.Score
	require.Less(t, drop, -5.0, "latency's p99 breaking costs more than 5 points")
	d, err := Diff(old, worse, 5)
	require.NoError(t, err)
	require.Len(t, d.Rows, 2)
	assert.True(t, d.Regressed())
	assert.InDelta(t, drop, d.Rows[1].Change, 1e-9)
	assert.True(t, d.Rows[1].Regressed)
	assert.False(t, d.Rows[0].Regressed, "billing did not change")
	assert.ErrorIs(t, d.Err(), ErrRegression)
	assert.ErrorContains(t, d.Err(), fmt.Sprintf("checkout (TestCheckout, simulated, seed 42): %.1f → %.1f (%+.1f), a drop of more than the threshold, 5 points",
		evolved().Baseline.Score, worse.Reports[1].Baseline.Score, drop))

	lenient, err := Diff(old, worse, -drop+0.5)
	require.NoError(t, err)
	assert.False(t, lenient.Regressed(), "within the threshold")

	better, err := Diff(worse, old, 0)
	require.NoError(t, err)
	assert.False(t, better.Regressed(), "a rise is no regression")
}

// An unstable threat is left out of both scores and listed: the gate does
// not flip with the machine's load.
func TestDiffLeavesUnstableThreatsOut(t *testing.T) {
	steady := edited(measured(), "latency", func(t *Threat) {
		tr := &t.Trials[1]
		tr.Metrics, tr.Violations, tr.Reruns = tr.Reruns[0].Metrics, nil, nil
	})
	require.Equal(t, Met, steady.Threats[1].Status)
	require.Equal(t, Unstable, measured().Threats[1].Status)
	require.Less(t, measured().Baseline.Score-steady.Baseline.Score, -5.0, "the unstable trial alone costs more than 5 points")

	d, err := Diff(&Summary{Reports: []*Report{steady}}, &Summary{Reports: []*Report{measured()}}, 0)
	require.NoError(t, err)
	row := d.Rows[0]
	assert.False(t, row.Regressed, "an unstable threat is no regression")
	assert.Equal(t, []string{"latency"}, row.Unstable)
	assert.Zero(t, row.Change, "the other threats did not change")
	assert.Contains(t, row.String(), "; unstable, left out: latency")

	// Unstable on the old side is left out too.
	d, err = Diff(&Summary{Reports: []*Report{measured()}}, &Summary{Reports: []*Report{steady}}, 0)
	require.NoError(t, err)
	assert.Equal(t, []string{"latency"}, d.Rows[0].Unstable)
	assert.Zero(t, d.Rows[0].Change)
}

// A threat that ran before and is not run now is a regression whatever the
// threshold and whatever the scores do: it must not pass as met.
func TestDiffGatesAThreatThatStoppedRunning(t *testing.T) {
	gone := edited(measured(), "flood", func(t *Threat) {
		t.Trials, t.Latency, t.FailedLatency, t.NotRun = nil, nil, nil, "the test's deadline came first"
	})
	require.Equal(t, NotRun, gone.Threats[2].Status)
	require.Greater(t, gone.Baseline.Score, measured().Baseline.Score, "without its broken flood the run scores higher")

	d, err := Diff(&Summary{Reports: []*Report{measured()}}, &Summary{Reports: []*Report{gone}}, 100)
	require.NoError(t, err)
	row := d.Rows[0]
	assert.True(t, row.Regressed)
	assert.Equal(t, []string{"flood"}, row.NotRun, "cache-stampede did not run on either side: not listed")
	assert.Zero(t, row.Change, "flood is left out of both scores")
	assert.ErrorIs(t, d.Err(), ErrRegression)
	assert.ErrorContains(t, d.Err(), "checkout (TestCheckout, wire, seed 42): flood ran before and did not run now")
	assert.Contains(t, d.String(), "! checkout (TestCheckout, wire, seed 42): ")

	// A threat that runs now and did not before is new coverage, not a
	// regression.
	back, err := Diff(&Summary{Reports: []*Report{gone}}, &Summary{Reports: []*Report{measured()}}, 100)
	require.NoError(t, err)
	assert.False(t, back.Regressed())
	assert.Empty(t, back.Rows[0].NotRun)
}

func TestDiffListsRunsInOneSummaryOnly(t *testing.T) {
	a := &Summary{Reports: []*Report{measured()}}
	other := measured()
	other.Module = "billing"
	b := &Summary{Reports: []*Report{other}}
	d, err := Diff(a, b, 1)
	require.NoError(t, err)
	assert.False(t, d.Regressed(), "a module that went away is listed, not gated")
	score := measured().Baseline.Score
	assert.Equal(t, fmt.Sprintf("rule: a run regresses when its score drops by more than 1 points (-threshold) and more than the measured noise of the change, or when a threat stops running\n"+
		"  billing (TestCheckout, wire, seed 42): new, %.1f\n  checkout (TestCheckout, wire, seed 42): gone, was %.1f\nno run dropped by more than 1 points and its noise, and no threat stopped running\n", score, score), d.String())
}

func TestDiffRefusesBadInput(t *testing.T) {
	ok := &Summary{Reports: []*Report{measured()}}
	for name, tc := range map[string]struct {
		old, new  *Summary
		threshold float64
		want      string
	}{
		"nil summary": {nil, ok, 1, "a summary is nil"},
		"negative":    {ok, ok, -1, "threshold -1: want a finite number of points, 0 or more"},
		"NaN":         {ok, ok, math.NaN(), "threshold NaN: want a finite number"},
		"infinite":    {ok, ok, math.Inf(1), "threshold +Inf: want a finite number"},
		"nil report":  {ok, &Summary{Reports: []*Report{nil}}, 1, "report 1 of the new summary is nil"},
		"twice":       {&Summary{Reports: []*Report{measured(), measured()}}, ok, 1, "the old summary lists checkout (TestCheckout, wire tier, seed 42) twice: merge its shards first"},
	} {
		_, err := Diff(tc.old, tc.new, tc.threshold)
		assert.ErrorContains(t, err, tc.want, name)
	}
}

// shift moves the score of every threat of r, and its interval, by delta
// points (Diff reads the threats' scores).
func shift(r *Report, delta float64) *Report {
	c, err := clone(r)
	if err != nil {
		panic(err)
	}
	for i := range c.Threats {
		sc := &c.Threats[i].Score
		sc.Score, sc.Low, sc.High = sc.Score+delta, sc.Low+delta, sc.High+delta
	}
	return c
}

// On the wire tier a drop within the measured noise of the change is no
// change; beyond it, it is a regression. A drop too small to show is none
// at any threshold, and the output says "±0.0", not "-0.0".
func TestDiffHoldsAWireRunToItsNoise(t *testing.T) {
	before := measured()
	require.Equal(t, "wire", before.Tier)
	old := &Summary{Reports: []*Report{before}}

	d, err := Diff(old, &Summary{Reports: []*Report{shift(before, -0.5)}}, 0)
	require.NoError(t, err)
	row := d.Rows[0]
	require.Positive(t, row.Noise, "the fixture's threats ran three trials each, with a spread")
	assert.Greater(t, row.Noise, 0.5)
	assert.InDelta(t, -0.5, row.Change, 1e-9)
	assert.False(t, row.Regressed, "half a point is within the noise ±%.1f", row.Noise)
	assert.Contains(t, row.String(), fmt.Sprintf("(-0.5, noise ±%.1f)", row.Noise))

	big := row.Noise + 1
	d, err = Diff(old, &Summary{Reports: []*Report{shift(before, -big)}}, 0)
	require.NoError(t, err)
	assert.True(t, d.Rows[0].Regressed, "a drop beyond the noise")
	assert.ErrorContains(t, d.Err(), fmt.Sprintf("a drop of more than the measured noise ±%.1f points (threshold 0)", d.Rows[0].Noise))

	// The simulated tier replays a seed exactly: no noise.
	sim := shift(before, 0)
	sim.Tier = "simulated"
	d, err = Diff(&Summary{Reports: []*Report{sim}}, &Summary{Reports: []*Report{func() *Report { r := shift(sim, -0.5); r.Tier = "simulated"; return r }()}}, 0)
	require.NoError(t, err)
	assert.Zero(t, d.Rows[0].Noise)
	assert.True(t, d.Rows[0].Regressed, "half a point on the simulated tier is a real drop")

	// Too small to show: no regression, and no "-0.0".
	d, err = Diff(&Summary{Reports: []*Report{sim}}, &Summary{Reports: []*Report{func() *Report { r := shift(sim, -0.04); r.Tier = "simulated"; return r }()}}, 0)
	require.NoError(t, err)
	assert.False(t, d.Rows[0].Regressed)
	assert.Contains(t, d.String(), "(±0.0)")
	assert.NotContains(t, d.String(), "-0.0")
}

// The Markdown of a diff answers "did resilience go down, and where" in
// its first line, states the rule, and lists the runs in a table, the
// regressions first, each status in words.
func TestDiffMarkdown(t *testing.T) {
	billing := measured()
	billing.Module = "billing"
	old := &Summary{Reports: []*Report{measured(), billing}}
	worse := shift(measured(), -30)
	d, err := Diff(old, &Summary{Reports: []*Report{worse, billing}}, 2)
	require.NoError(t, err)
	md := string(d.Markdown())
	lines := strings.Split(md, "\n")
	assert.Equal(t, "### ✗ Resilience went down in 1 of 2 runs: checkout", lines[0])
	assert.Contains(t, md, "Rule: a run regresses when its score drops by more than 2 points (-threshold) and more than the measured noise")
	assert.Contains(t, md, "| status | module | test | tier | seed | before | after | change | noise | notes |")
	i, j := strings.Index(md, "| ✗ regressed | checkout |"), strings.Index(md, "| held | billing |")
	assert.True(t, i > 0 && j > i, "the regression first, then the run that held:\n%s", md)

	d, err = Diff(old, old, 0)
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(string(d.Markdown()), "### ✓ No regression in 2 runs\n"))
}

// Two runs of one test that differ only by their SLO are listed in one
// order every time: rafael report diff swapped them between invocations.
func TestDiffOrdersRunsOfOneTestTheSameEveryTime(t *testing.T) {
	a, b := measured(), measured()
	b.SLO.SuccessRate = 0.5
	b.Derive()
	s := &Summary{Reports: []*Report{a, b}}
	first, err := Diff(s, s, 0)
	require.NoError(t, err)
	for range 20 {
		again, err := Diff(s, s, 0)
		require.NoError(t, err)
		require.Equal(t, first.String(), again.String())
	}
	assert.Less(t, first.Rows[0].SLO, first.Rows[1].SLO)
}

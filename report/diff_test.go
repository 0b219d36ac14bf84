package report

import (
	"fmt"
	"math"
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
	assert.ErrorContains(t, d.Err(), fmt.Sprintf("checkout (simulated, seed 42): %.1f → %.1f (%+.1f), a drop of more than 5 points",
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
	assert.ErrorContains(t, d.Err(), "checkout (wire, seed 42): flood ran before and did not run now")
	assert.Contains(t, d.String(), "! checkout (wire, seed 42): ")

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
	assert.Equal(t, fmt.Sprintf("  billing (wire, seed 42): new, %.1f\n  checkout (wire, seed 42): gone, was %.1f\nno run dropped by more than 1 points, and no threat stopped running\n", score, score), d.String())
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
		"twice":       {&Summary{Reports: []*Report{measured(), measured()}}, ok, 1, "the old summary lists checkout (wire tier, seed 42) twice: merge its shards first"},
	} {
		_, err := Diff(tc.old, tc.new, tc.threshold)
		assert.ErrorContains(t, err, tc.want, name)
	}
}

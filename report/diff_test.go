package report

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// dropped is r with every baseline trial's fitness lowered by drop (0–1).
func dropped(r *Report, drop float64) *Report {
	c, err := clone(r)
	if err != nil {
		panic(err)
	}
	for i := range c.Threats {
		for j := range c.Threats[i].Trials {
			c.Threats[i].Trials[j].Metrics.Fitness -= drop
		}
		c.Threats[i] = row(c.Threats[i])
	}
	c.Baseline, c.Evolved = Overall(c.Threats)
	return c
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

	worse, err := Merge(dropped(evolved(), 0.10), billing)
	require.NoError(t, err)
	d, err := Diff(old, worse, 5)
	require.NoError(t, err)
	require.Len(t, d.Rows, 2)
	assert.True(t, d.Regressed(), "a 10-point drop is past a 5-point threshold")
	assert.InDelta(t, -10, d.Rows[1].Change, 1e-9)
	assert.True(t, d.Rows[1].Regressed)
	assert.False(t, d.Rows[0].Regressed, "billing did not change")
	assert.ErrorIs(t, d.Err(), ErrRegression)
	assert.ErrorContains(t, d.Err(), "checkout (simulated, seed 42): 51.1 → 41.1 (-10.0)")

	lenient, err := Diff(old, worse, 10.5)
	require.NoError(t, err)
	assert.False(t, lenient.Regressed(), "within a 10.5-point threshold")

	better, err := Diff(worse, old, 0)
	require.NoError(t, err)
	assert.False(t, better.Regressed(), "a rise is no regression")
}

func TestDiffListsRunsInOneSummaryOnly(t *testing.T) {
	a := &Summary{Reports: []*Report{measured()}}
	other := measured()
	other.Module = "billing"
	b := &Summary{Reports: []*Report{other}}
	d, err := Diff(a, b, 1)
	require.NoError(t, err)
	assert.False(t, d.Regressed(), "a module that went away is listed, not gated")
	assert.Equal(t, "  billing (simulated, seed 42): new, 51.1\n  checkout (simulated, seed 42): gone, was 51.1\nno run dropped by more than 1 points\n", d.String())
}

func TestDiffRefusesBadInput(t *testing.T) {
	ok := &Summary{Reports: []*Report{measured()}}
	for name, tc := range map[string]struct {
		old, new  *Summary
		threshold float64
		want      string
	}{
		"nil summary": {nil, ok, 1, "a summary is nil"},
		"negative":    {ok, ok, -1, "threshold -1 is negative"},
		"nil report":  {ok, &Summary{Reports: []*Report{nil}}, 1, "report 1 of the new summary is nil"},
		"twice":       {&Summary{Reports: []*Report{measured(), measured()}}, ok, 1, "the old summary lists checkout (simulated tier, seed 42) twice: merge its shards first"},
	} {
		_, err := Diff(tc.old, tc.new, tc.threshold)
		assert.ErrorContains(t, err, tc.want, name)
	}
}

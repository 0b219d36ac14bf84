package scenarios

import (
	"testing"
	"time"

	"github.com/rafaelabs/rafael/faults"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestTimedMovesTheStepsWithinTheInjectPhase(t *testing.T) {
	db := faults.NewHook("db", 1)
	th := Cascade(db, db, time.Second) // steps: latency for the whole 5s; down from 2.5s for 2.5s
	timed := th.Timed()
	want := append([]Step(nil), th.Steps...)
	want[0].For = 5 * time.Second // "until the inject phase ends", explicitly
	assert.Equal(t, want, timed.Steps, "as declared, the timing is the declared one")
	ps := timed.Params()
	require.Len(t, ps, 5)
	assert.Equal(t, []string{"delay", "step1.at", "step1.for", "step2.at", "step2.for"}, []string{ps[0].Name, ps[1].Name, ps[2].Name, ps[3].Name, ps[4].Name})
	assert.Equal(t, "cascade(delay=1s, step1.at=0s, step1.for=5s, step2.at=2.5s, step2.for=2.5s) [critical]", timed.String())

	moved := timed.WithValues([]float64{float64(300 * time.Millisecond), float64(time.Second), float64(time.Second), float64(4 * time.Second), float64(3 * time.Second)})
	assert.Equal(t, faults.Latency{Delay: 300 * time.Millisecond}, moved.Steps[0].Fault)
	assert.Equal(t, time.Second, moved.Steps[0].At)
	assert.Equal(t, time.Second, moved.Steps[0].For)
	assert.Equal(t, 2*time.Second, moved.Steps[1].At, "a step that would outlast the inject phase starts earlier")
	assert.Equal(t, 3*time.Second, moved.Steps[1].For)
	require.NoError(t, moved.Validate())

	capped := timed.AtMost()
	for _, p := range capped.Params() {
		if p.Position {
			assert.Equal(t, float64(5*time.Second), p.Max, "%s: a step may start anywhere in the inject phase", p.Name)
			continue
		}
		assert.Equal(t, p.Value, p.Max, "%s: the declared threat bounds its variants", p.Name)
	}
}

func TestTogetherRunsBothThreats(t *testing.T) {
	db, api := faults.NewHook("db", 1), faults.NewHook("api", 2)
	both := Together(DBOutage(db, 2*time.Second), Latency(api, 300*time.Millisecond))
	assert.Equal(t, "db-outage+latency", both.Name)
	assert.Equal(t, 5*time.Second, both.Inject, "the longer inject phase")
	require.Len(t, both.Steps, 2)
	assert.Equal(t, "db-outage+latency(db-outage.outage=2s, latency.delay=300ms) [high]", both.String())
	smaller := both.WithValues([]float64{float64(time.Second), float64(100 * time.Millisecond)})
	assert.Equal(t, time.Second, smaller.Steps[0].For)
	assert.Equal(t, faults.Latency{Delay: 100 * time.Millisecond}, smaller.Steps[1].Fault)
	require.NoError(t, smaller.Validate())
	assert.Len(t, Together(both.Timed(), Flood(8, 100)).Params(), 2+4+2)
}

package report

import (
	"testing"
	"time"

	"github.com/rafaelabs/rafael/slo"
	"github.com/stretchr/testify/assert"
)

// A run whose SLO is zero only measured: its threats "meet" it whatever
// happened, so the summary says measured, not held.
func TestARunWithTheZeroSLOIsMeasuredNotHeld(t *testing.T) {
	met := []Threat{{Name: "db-outage", Status: Met, Verdict: string(Met)}}
	measured := &Report{Module: "m", Threats: met}
	held := &Report{Module: "m", SLO: slo.SLO{SuccessRate: 0.99, P99: time.Second}, Threats: met}
	broken := &Report{Module: "m", Threats: []Threat{{Name: "db-outage", Status: Broken, Verdict: string(Broken)}}}
	assert.Equal(t, RunMeasured, measured.Status())
	assert.Equal(t, "○", measured.Status().symbol())
	assert.Equal(t, RunHeld, held.Status())
	assert.Equal(t, RunVulnerable, broken.Status(), "a threat broken under the zero SLO (a setup error) still shows")
	s := &Summary{Reports: []*Report{measured, held, broken}}
	order := s.worstFirst()
	assert.Equal(t, []RunStatus{RunVulnerable, RunHeld, RunMeasured}, []RunStatus{order[0].Status(), order[1].Status(), order[2].Status()})
}

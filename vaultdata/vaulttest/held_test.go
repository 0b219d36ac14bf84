package vaulttest

import (
	"testing"
	"time"

	"github.com/rafaelabs/rafael/report"
	"github.com/rafaelabs/rafael/slo"
	"github.com/stretchr/testify/assert"
)

// A trial that broke while its host was starved and held when measured
// again counts by the measurement that held; one that broke on a host
// that was not starved counts as it broke.
func TestAProofCountsWhatHeldOnAStarvedHostOnly(t *testing.T) {
	broke := []slo.Violation{{Kind: slo.SuccessRate, Got: 0.73, Want: 0.95}}
	held := report.Measurement{Metrics: slo.Metrics{Requests: 100, SuccessRate: 1, Fitness: 0.95}}
	unstable := func(lag time.Duration) report.Trial {
		return report.Trial{Seed: 7, Violations: broke, Metrics: slo.Metrics{Requests: 100, SuccessRate: 0.73, Fitness: 0.6, Lag: lag}, Reruns: []report.Measurement{held}}
	}
	met := report.Trial{Seed: 1, Metrics: slo.Metrics{Requests: 100, SuccessRate: 1, Fitness: 0.9}}
	rep := func(tr report.Trial) *report.Report {
		r := &report.Report{Threats: []report.Threat{
			{Name: "db-outage", Threat: "db-outage(outage=2s) [high]", Severity: "high", Trials: []report.Trial{met}},
			{Name: "latency", Threat: "latency(delay=300ms) [medium]", Severity: "medium", Trials: []report.Trial{tr}},
		}}
		r.Derive()
		return r
	}

	starved := rep(unstable(211 * time.Millisecond))
	score, notes := heldScore(starved)
	assert.Greater(t, score, starved.Baseline.Score, "the starved measurement no longer counts")
	assert.InDelta(t, (2*slo.Score(nil, 0.9)+slo.Score(nil, 0.95))/3, score, 1e-9, "it counts as the rerun measured")
	if assert.Len(t, notes, 1) {
		assert.Contains(t, notes[0], "latency(delay=300ms) [medium] (seed 7) broke while the host was starved (its driver woke up 211ms late)")
	}
	assert.Equal(t, report.Unstable, starved.Threats[1].Trials[0].Status, "the report itself is untouched")

	quiet := rep(unstable(3 * time.Millisecond))
	score, notes = heldScore(quiet)
	assert.Equal(t, quiet.Baseline.Score, score, "on a host that was not starved the broken measurement counts")
	assert.Empty(t, notes)
}

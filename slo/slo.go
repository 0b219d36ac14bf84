package slo

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"time"
)

// SLO is the objective a trial is held to. A zero field is not checked, so
// the zero SLO only measures.
type SLO struct {
	// SuccessRate is the fraction of requests that must succeed: 0–1.
	SuccessRate float64 `json:"successRate"`
	// P99 is the bound on the 99th percentile latency of the requests that
	// succeeded.
	P99 time.Duration `json:"p99"`
	// RecoverWithin is how soon after the fault is removed every request
	// must succeed again.
	RecoverWithin time.Duration `json:"recoverWithin"`
}

// ErrInvalid is matched by every error of [SLO.Validate].
var ErrInvalid = errors.New("slo: invalid")

// Validate reports every field out of range at once, naming it.
func (s SLO) Validate() error {
	var errs []error
	if r := s.SuccessRate; r < 0 || r > 1 || math.IsNaN(r) {
		errs = append(errs, fmt.Errorf("%w: SLO.SuccessRate = %v is outside 0–1: write 0.99 for 99 %%", ErrInvalid, r))
	}
	if s.P99 < 0 {
		errs = append(errs, fmt.Errorf("%w: SLO.P99 = %v is negative", ErrInvalid, s.P99))
	}
	if s.RecoverWithin < 0 {
		errs = append(errs, fmt.Errorf("%w: SLO.RecoverWithin = %v is negative", ErrInvalid, s.RecoverWithin))
	}
	return errors.Join(errs...)
}

// IsZero reports whether s checks nothing.
func (s SLO) IsZero() bool { return s == SLO{} }

// WithMargin is the stricter objective evolution holds candidates to: half
// the failures s allows, and 90 % of its latency and recovery bounds, so that
// a champion meets s itself with room to spare.
func (s SLO) WithMargin() SLO {
	if s.SuccessRate > 0 {
		s.SuccessRate = 1 - (1-s.SuccessRate)/2
	}
	s.P99 = s.P99 * 9 / 10
	s.RecoverWithin = s.RecoverWithin * 9 / 10
	return s
}

// Metrics are the measurements of one trial. Durations are in nanoseconds;
// on the simulated tier they are virtual time.
type Metrics struct {
	Requests    int     `json:"requests"`  // regular requests issued
	Succeeded   int     `json:"succeeded"` // of those, how many returned nil
	Hung        int     `json:"hung"`      // of those, how many never returned, even after their context ended (failures)
	SuccessRate float64 `json:"successRate"`

	// The latency of the requests that succeeded.
	P50 time.Duration `json:"p50"`
	P90 time.Duration `json:"p90"`
	P99 time.Duration `json:"p99"`
	Max time.Duration `json:"max"`

	// The latency of the requests that failed; one that never returned is
	// timed at the drain deadline.
	FailedP50 time.Duration `json:"failedP50,omitempty"`
	FailedP99 time.Duration `json:"failedP99,omitempty"`
	FailedMax time.Duration `json:"failedMax,omitempty"`

	Recovered bool          `json:"recovered"` // every request from some point after the fault's removal succeeded
	Recovery  time.Duration `json:"recovery"`  // from the fault's removal until then

	// Metastable: late in the recover phase the requests still did markedly
	// worse than before the fault, while the policy kept putting at least
	// 1.5 times the steady load on the dependency — the overload sustained
	// itself after its trigger was gone (retries of timed-out calls joining
	// a queue of work nobody waits for).
	Metastable bool `json:"metastable,omitempty"`
	// LoadAfter is the load on the dependency (attempts a second) late in
	// the recover phase, as a multiple of the steady phase's; 0 when the
	// trial's phases were too thin to tell.
	LoadAfter float64 `json:"loadAfter,omitempty"`

	AttemptsPerRequest float64 `json:"attemptsPerRequest"` // calls into the dependency per workload call
	PeakInFlight       int     `json:"peakInFlight"`       // most regular requests in flight at once
	// PeakGoroutines is the most goroutines of the process above the
	// trial's start: a diagnostic, which goroutines outside the trial (the
	// testing package's, the runtime's finalizers) can move by one or two,
	// so it is not part of a seed's replay guarantee.
	PeakGoroutines int `json:"peakGoroutines"`

	FloodCalls  int64 `json:"floodCalls,omitempty"`  // extra calls of a flood
	FloodErrors int64 `json:"floodErrors,omitempty"` // of those, how many failed

	// Lag is the longest a timer of the trial's driver fired late (wire
	// tier): the host was starved of CPU for at least that long.
	Lag time.Duration `json:"lag,omitempty"`

	Errors []string `json:"errors,omitempty"` // the most frequent distinct errors, with counts

	// Counts are what the workload counted during the trial's regular
	// requests (harness.Count), by name: cache hits, bytes, cost.
	Counts map[string]float64 `json:"counts,omitempty"`
	// Terms are the values, in [0, 1], of the team's fitness terms
	// ([Term]) in this trial, by name.
	Terms map[string]float64 `json:"terms,omitempty"`

	Fitness float64 `json:"fitness"` // 0–1, see [Weights.Fitness]
}

// Failed is the number of requests that did not succeed, hung ones included.
func (m Metrics) Failed() int { return m.Requests - m.Succeeded }

// Starved is the timer lag from which a trial's host counts as starved of
// CPU: real time passed that the trial's driver did not see.
const Starved = 50 * time.Millisecond

// String is what a trial measured, in words, the latency of the successes
// apart from that of the failures: "180 of 200 requests succeeded;
// successes p50 20ms, p99 410ms, max 600ms; failures p50 2s, p99 2s, max
// 2s; recovered in 300ms; 1.40 attempts a request, peak 12 in flight".
func (m Metrics) String() string {
	if m.Requests == 0 {
		return "no request ran"
	}
	parts := []string{fmt.Sprintf("%d of %d requests succeeded", m.Succeeded, m.Requests)}
	if m.Succeeded > 0 {
		parts = append(parts, fmt.Sprintf("successes p50 %v, p99 %v, max %v", m.P50, m.P99, m.Max))
	}
	if m.Failed() > 0 {
		f := fmt.Sprintf("failures p50 %v, p99 %v, max %v", m.FailedP50, m.FailedP99, m.FailedMax)
		if m.Hung > 0 {
			f += fmt.Sprintf(" (%d hung)", m.Hung)
		}
		parts = append(parts, f)
	}
	switch {
	case m.Metastable:
		parts = append(parts, fmt.Sprintf("metastable: still down after the fault, at %.1f× the steady load", m.LoadAfter))
	case m.Recovered:
		parts = append(parts, "recovered in "+m.Recovery.String())
	default:
		parts = append(parts, "never recovered")
	}
	if m.AttemptsPerRequest > 0 { // measured (a trial makes at least one attempt a request)
		parts = append(parts, fmt.Sprintf("%.2f attempts a request, peak %d in flight", m.AttemptsPerRequest, m.PeakInFlight))
	}
	if m.Lag >= Starved {
		parts = append(parts, fmt.Sprintf("timers fired up to %v late (the machine was busy)", m.Lag))
	}
	if len(m.Counts) > 0 {
		parts = append(parts, "counted "+named(m.Counts, "%s %g"))
	}
	if len(m.Terms) > 0 {
		parts = append(parts, "terms "+named(m.Terms, "%s %.2f"))
	}
	return strings.Join(parts, "; ")
}

// String is the objective in words: "success ≥ 99 %, p99 ≤ 500ms", or
// "none".
func (s SLO) String() string {
	var parts []string
	if s.SuccessRate > 0 {
		parts = append(parts, fmt.Sprintf("success ≥ %g %%", 100*s.SuccessRate))
	}
	if s.P99 > 0 {
		parts = append(parts, "p99 ≤ "+s.P99.String())
	}
	if s.RecoverWithin > 0 {
		parts = append(parts, "recovery ≤ "+s.RecoverWithin.String())
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

// named is vs by name, in name order, each formatted with format.
func named(vs map[string]float64, format string) string {
	names := slices.Sorted(maps.Keys(vs))
	for i, k := range names {
		names[i] = fmt.Sprintf(format, k, vs[k])
	}
	return strings.Join(names, ", ")
}

package slo

import (
	"fmt"
	"strings"
	"time"
)

// Kind is the term of the objective a [Violation] broke, or the way a trial
// failed to run.
type Kind uint8

// The kinds of violation.
const (
	// SuccessRate: too few requests succeeded. Got and Want are fractions.
	SuccessRate Kind = iota + 1
	// P99: the 99th percentile latency of the successes was above the bound.
	// Got and Want are nanoseconds.
	P99
	// Recovery: the workload came back, but later than the bound after the
	// fault's removal. Got and Want are nanoseconds.
	Recovery
	// NeverRecovered: the workload had not come back by the trial's end.
	// Want is the bound, in nanoseconds.
	NeverRecovered
	// Hung: requests never returned, even after their context was
	// cancelled. Got is their count.
	Hung
	// Setup: the threat could not be injected as declared. Detail says why.
	Setup
	// Aborted: the trial did not finish (it hung past its watchdog, or
	// panicked), or its bubble deadlocked. Detail says what happened, in
	// words.
	Aborted
	// Metastable: the workload stayed down after the fault was removed
	// while putting more load on its dependency than before the fault (see
	// [Metrics.Metastable]). Got is that load as a multiple of the steady
	// phase's.
	Metastable
)

var kindNames = [...]string{"", "successRate", "p99", "recovery", "neverRecovered", "hung", "setup", "aborted", "metastable"}

// String returns the kind's name as in JSON: "successRate", "p99",
// "recovery", "neverRecovered", "hung", "setup", "aborted" or
// "metastable".
func (k Kind) String() string {
	if int(k) < len(kindNames) && k != 0 {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// MarshalText encodes k as its name.
func (k Kind) MarshalText() ([]byte, error) {
	if k == 0 || int(k) >= len(kindNames) {
		return nil, fmt.Errorf("slo: unknown violation kind %d", uint8(k))
	}
	return []byte(k.String()), nil
}

// UnmarshalText decodes a kind's name.
func (k *Kind) UnmarshalText(b []byte) error {
	for i, n := range kindNames {
		if i > 0 && n == string(b) {
			*k = Kind(i)
			return nil
		}
	}
	return fmt.Errorf("slo: unknown violation kind %q: want one of successRate, p99, recovery, neverRecovered, hung, setup, aborted, metastable", b)
}

// Violation is one way a trial broke its objective: which term, what was
// measured and what was required (units by [Kind]).
type Violation struct {
	Kind   Kind    `json:"kind"`
	Got    float64 `json:"got,omitempty"`
	Want   float64 `json:"want,omitempty"`
	Detail string  `json:"detail,omitempty"` // for Setup and Aborted, and the counts of SuccessRate
}

// Excess is by how much v broke its term, relative to the bound: 0.1 for a
// p99 10 % over, 1 at most for a measured term; 1 for a trial that never
// recovered or could not inject its threat; 3 for one that hung or aborted,
// which is further from the objective than any trial that ran.
func (v Violation) Excess() float64 {
	switch v.Kind {
	case SuccessRate:
		if v.Want <= 0 {
			return 1
		}
		return min(1, max(0, (v.Want-v.Got)/v.Want))
	case P99, Recovery:
		if v.Want <= 0 {
			return 1
		}
		return min(1, max(0, (v.Got-v.Want)/v.Want))
	case Hung, Aborted:
		return 3
	}
	return 1
}

// String says what broke, in the words the failure message and the reports
// use: "p99 latency 2.58s is above the required 2s (+29 %)".
func (v Violation) String() string {
	d := func(f float64) time.Duration { return time.Duration(f) }
	switch v.Kind {
	case SuccessRate:
		s := fmt.Sprintf("success rate %.3f is below the required %.3f", v.Got, v.Want)
		if v.Detail != "" {
			s = fmt.Sprintf("success rate %.3f (%s) is below the required %.3f", v.Got, v.Detail, v.Want)
		}
		return s
	case P99:
		return fmt.Sprintf("p99 latency %v is above the required %v (+%.0f %%)", d(v.Got), d(v.Want), 100*(v.Got-v.Want)/v.Want)
	case Recovery:
		return fmt.Sprintf("it recovered %v after the fault was removed; required within %v", d(v.Got), d(v.Want))
	case NeverRecovered:
		return fmt.Sprintf("it never recovered after the fault was removed (required within %v)", d(v.Want))
	case Hung:
		return fmt.Sprintf("%.0f request(s) never returned, even after their context was cancelled: the workload must return when ctx is done", v.Got)
	case Setup:
		return "the threat could not be injected as declared: " + v.Detail
	case Aborted:
		return v.Detail
	case Metastable:
		return fmt.Sprintf("metastable: it stayed down after the fault was removed while putting %.1f× the steady load on its dependency (retried or queued work sustains the overload: bound it with a retry budget, a circuit breaker or a concurrency limit)", v.Got)
	}
	return fmt.Sprintf("%v: got %v, want %v %s", v.Kind, v.Got, v.Want, v.Detail)
}

// Check lists how m breaks s: hung requests, then each term of s that is
// set and broken, and a metastable recovery against any objective but the
// zero one (in place of never recovering, which it explains). It returns
// nil when m meets s.
func Check(s SLO, m Metrics) []Violation {
	var vs []Violation
	if m.Hung > 0 {
		vs = append(vs, Violation{Kind: Hung, Got: float64(m.Hung)})
	}
	if s.SuccessRate > 0 && m.SuccessRate < s.SuccessRate {
		vs = append(vs, Violation{Kind: SuccessRate, Got: m.SuccessRate, Want: s.SuccessRate, Detail: fmt.Sprintf("%d of %d", m.Succeeded, m.Requests)})
	}
	if s.P99 > 0 && m.P99 > s.P99 {
		vs = append(vs, Violation{Kind: P99, Got: float64(m.P99), Want: float64(s.P99)})
	}
	if m.Metastable && !s.IsZero() {
		vs = append(vs, Violation{Kind: Metastable, Got: m.LoadAfter})
	}
	if s.RecoverWithin > 0 {
		switch {
		case m.Metastable:
		case !m.Recovered:
			vs = append(vs, Violation{Kind: NeverRecovered, Want: float64(s.RecoverWithin)})
		case m.Recovery > s.RecoverWithin:
			vs = append(vs, Violation{Kind: Recovery, Got: float64(m.Recovery), Want: float64(s.RecoverWithin)})
		}
	}
	return vs
}

// Shortfall is how far a trial with violations vs was from its objective:
// the sum of their [Violation.Excess]. It is 0 for none, and positive for
// any violation.
func Shortfall(vs []Violation) float64 {
	total := 0.0
	for _, v := range vs {
		total += max(v.Excess(), 0.01)
	}
	return total
}

// Join is vs in words, joined by "; ".
func Join(vs []Violation) string {
	parts := make([]string, len(vs))
	for i, v := range vs {
		parts[i] = v.String()
	}
	return strings.Join(parts, "; ")
}

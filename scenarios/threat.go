package scenarios

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/rafaelabs/rafael/faults"
)

// Severity ranks how bad a threat is; evolution weighs threats by it.
type Severity uint8

// The severities.
const (
	Medium Severity = iota + 1
	High
	Critical
)

// String returns "medium", "high" or "critical".
func (s Severity) String() string {
	switch s {
	case Medium:
		return "medium"
	case High:
		return "high"
	case Critical:
		return "critical"
	}
	return fmt.Sprintf("Severity(%d)", uint8(s))
}

// Weight is the severity's weight in fitness: 1, 2 or 3.
func (s Severity) Weight() float64 { return float64(s) }

// Step is one fault of a threat: Fault on Target from At (an offset from the
// start of the inject phase) for For (0: until the inject phase ends).
type Step struct {
	Target faults.Target
	Fault  faults.Fault
	At     time.Duration
	For    time.Duration
}

// Threat is a named, ranked scenario built from faults. It runs in three
// phases: steady (the workload alone), inject (the steps, the flood, the
// memory pressure) and recover (the workload alone again, to measure how
// fast it comes back). A Threat is a value: scenarios never run anything;
// the harness calls [Threat.Schedule] when a trial reaches the inject phase.
type Threat struct {
	Name     string        // short and stable, used in subtest names: "db-outage"
	Severity Severity      // medium, high or critical
	Steady   time.Duration // before injection
	Inject   time.Duration // the inject phase; every step ends by its end
	Recover  time.Duration // after injection
	Steps    []Step        // the faults
	Flood    *faults.Load  // extra callers of the workload during injection, or nil
	Ballast  int64         // bytes of memory held during injection, or 0

	params []Param                     // the drawn parameters, for String and generators
	build  func(vals []float64) Threat // rebuilds the threat from parameter values
}

// Param is one generated parameter of a threat: its name, range and value,
// in its base unit (nanoseconds for durations).
type Param struct {
	Name     string
	Min, Max float64
	Value    float64
	Duration bool // a time.Duration (drawn as whole nanoseconds)
	Integer  bool // a count (drawn as a whole number)
	// Position marks a moment, not a size (when a step starts): a later
	// one is no larger a threat, so [Threat.AtMost] leaves its range whole.
	Position bool
}

// format renders the parameter's value: "2s", "64", "64MiB" for bytes.
func (p Param) format() string {
	switch {
	case p.Duration:
		return time.Duration(p.Value).String()
	case p.Integer && p.Name == "bytes" && int64(p.Value)%(1<<20) == 0:
		return fmt.Sprintf("%dMiB", int64(p.Value)>>20)
	case p.Integer:
		return fmt.Sprintf("%d", int64(p.Value))
	}
	return fmt.Sprintf("%g", p.Value)
}

// Params returns the threat's parameters and their declared ranges.
func (t Threat) Params() []Param { return append([]Param(nil), t.params...) }

// String renders the threat for reports: "db-outage(outage=2s) [high]".
func (t Threat) String() string {
	var ps []string
	for _, p := range t.params {
		ps = append(ps, p.Name+"="+p.format())
	}
	if len(ps) == 0 { // a composed threat: its steps are its parameters
		return fmt.Sprintf("%s [%s]", t.Name, t.Severity)
	}
	return fmt.Sprintf("%s(%s) [%s]", t.Name, strings.Join(ps, ", "), t.Severity)
}

// GoString is String: rapid logs drawn threats with %#v.
func (t Threat) GoString() string { return t.String() }

// Duration is the length of a whole trial of the threat.
func (t Threat) Duration() time.Duration { return t.Steady + t.Inject + t.Recover }

// Phase is one of a threat's phases, as offsets from the trial's start.
type Phase struct {
	Name       string // "steady", "inject" or "recover"
	Start, End time.Duration
}

// Phases returns steady, inject and recover with their offsets.
func (t Threat) Phases() []Phase {
	return []Phase{
		{"steady", 0, t.Steady},
		{"inject", t.Steady, t.Steady + t.Inject},
		{"recover", t.Steady + t.Inject, t.Duration()},
	}
}

// Targets returns the distinct targets the threat's steps act on.
func (t Threat) Targets() []faults.Target {
	var out []faults.Target
	for _, s := range t.Steps {
		dup := false
		for _, o := range out {
			dup = dup || o == s.Target
		}
		if !dup {
			out = append(out, s.Target)
		}
	}
	return out
}

// ErrInvalid is matched by every error of [Threat.Validate].
var ErrInvalid = errors.New("scenarios: invalid threat")

// Validate reports every problem of t at once: a missing name or severity,
// a negative phase, a step without a target or fault, a fault its target
// does not support or that fails validation, a step outside the inject phase.
func (t Threat) Validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w %q: %s", ErrInvalid, t.Name, fmt.Sprintf(format, args...)))
	}
	if t.Name == "" {
		bad("Name is empty: name the threat, e.g. \"db-outage\"")
	}
	if t.Severity < Medium || t.Severity > Critical {
		bad("Severity %v is not Medium, High or Critical", t.Severity)
	}
	for _, p := range t.Phases() {
		if p.End < p.Start {
			bad("the %s phase lasts %v: phases cannot be negative", p.Name, p.End-p.Start)
		}
	}
	if len(t.Steps) == 0 && t.Flood == nil && t.Ballast == 0 {
		bad("it injects nothing: give it a step, a flood or a ballast")
	}
	for i, s := range t.Steps {
		switch {
		case s.Target == nil:
			bad("step %d has no target", i)
		default:
			if err := faults.Check(s.Target, s.Fault); err != nil {
				bad("step %d: %v", i, err)
			}
		}
		if s.At < 0 || s.For < 0 || s.At+s.For > t.Inject {
			bad("step %d runs from %v for %v, outside the inject phase of %v", i, s.At, s.For, t.Inject)
		}
	}
	if t.Flood != nil {
		if err := t.Flood.Validate(); err != nil {
			bad("flood: %v", err)
		}
	}
	if t.Ballast < 0 {
		bad("Ballast = %d is negative", t.Ballast)
	}
	return errors.Join(errs...)
}

// Schedule applies the threat's steps at their offsets from now, each for
// its time (or until the inject phase ends), and returns a stop function
// that removes every fault at once; stop is idempotent. The flood and the
// ballast are the harness's to run. An error applying a step at its time
// goes to onErr when it is non-nil.
//
// Schedule uses ordinary timers: inside a testing/synctest bubble the whole
// inject phase passes in virtual time.
func (t Threat) Schedule(onErr func(error)) (stop func()) {
	tracked := t.ScheduleTracked(onErr)
	return func() { tracked() }
}

// ScheduleTracked is [Threat.Schedule] that keeps the evidence: stop removes
// every fault and returns, step by step, what each did
// ([faults.ScheduleTracked]).
func (t Threat) ScheduleTracked(onErr func(error)) (stop func() []faults.Injection) {
	stops := make([]func() faults.Injection, 0, len(t.Steps))
	for _, s := range t.Steps {
		d := s.For
		if d == 0 {
			d = t.Inject - s.At
		}
		stops = append(stops, faults.ScheduleTracked(s.Target, s.Fault, s.At, d, onErr))
	}
	var (
		once sync.Once
		evs  []faults.Injection
	)
	return func() []faults.Injection {
		once.Do(func() {
			for _, st := range stops {
				evs = append(evs, st())
			}
		})
		return evs
	}
}

// ParamValues returns the values of the threat's generated parameters, in
// the order of [Threat.Params].
func (t Threat) ParamValues() []float64 {
	vals := make([]float64, len(t.params))
	for i, p := range t.params {
		vals[i] = p.Value
	}
	return vals
}

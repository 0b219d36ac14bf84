package scenarios

import (
	"fmt"
	"time"
)

// minStep is the shortest a step of a [Threat.Timed] threat may last.
const minStep = 10 * time.Millisecond

// Timed returns t with the timing of its steps as generated parameters
// too, after t's own: "stepN.at", when step N starts from the inject
// phase's start, and "stepN.for", how long it lasts (a step declared to
// last until the inject phase ends lasts that long explicitly). A step
// never starts before the inject phase nor outlasts it: values beyond are
// pulled in. With [Threat.AtMost], a step may last less than declared,
// never more, and start anywhere in the inject phase (a start is a
// Position). An adversarial search (evolve) moves the timing as it moves
// the intensity.
func (t Threat) Timed() Threat {
	n := len(t.params)
	params := append([]Param(nil), t.params...)
	for i, s := range t.Steps {
		length := s.For
		if length == 0 {
			length = t.Inject - s.At
		}
		params = append(params,
			Param{Name: fmt.Sprintf("step%d.at", i+1), Min: 0, Max: float64(t.Inject), Value: float64(s.At), Duration: true, Position: true},
			Param{Name: fmt.Sprintf("step%d.for", i+1), Min: float64(min(minStep, length)), Max: float64(t.Inject), Value: float64(length), Duration: true})
	}
	inner := t.build
	base := t
	var build func([]float64) Threat
	build = func(v []float64) Threat {
		th := base
		if inner != nil {
			th = inner(v[:n])
		}
		steps := append([]Step(nil), th.Steps...)
		for i := range steps {
			if n+2*i+1 >= len(v) {
				break
			}
			length := min(max(dur(v[n+2*i+1]), minStep), th.Inject)
			at := min(max(0, dur(v[n+2*i])), th.Inject-length)
			steps[i].At, steps[i].For = at, length
		}
		th.Steps = steps
		th.params = make([]Param, len(params))
		copy(th.params, params)
		for i := range th.params {
			th.params[i].Value = v[i]
		}
		th.build = build
		return th
	}
	vals := make([]float64, len(params))
	for i, p := range params {
		vals[i] = p.Value
	}
	return build(vals)
}

// Together returns a and b at once: a threat named "a+b" whose inject phase
// runs both threats' steps (b's from the same start), the longer of their
// inject phases, a's steady and recover phases, a flood and a memory
// pressure from whichever has one (a's when both do), and the higher
// severity. Its generated parameters are a's then b's, each prefixed with
// its threat's name ("db-outage.outage", "latency.delay"), so a search
// moves both.
func Together(a, b Threat) Threat {
	na := len(a.params)
	params := make([]Param, 0, na+len(b.params))
	for _, p := range a.params {
		p.Name = a.Name + "." + p.Name
		params = append(params, p)
	}
	for _, p := range b.params {
		p.Name = b.Name + "." + p.Name
		params = append(params, p)
	}
	var build func([]float64) Threat
	build = func(v []float64) Threat {
		x, y := a, b
		if a.build != nil {
			x = a.build(v[:na])
		}
		if b.build != nil {
			y = b.build(v[na:])
		}
		th := Threat{Name: a.Name + "+" + b.Name, Severity: max(x.Severity, y.Severity),
			Steady: x.Steady, Inject: max(x.Inject, y.Inject), Recover: x.Recover,
			Steps: append(append([]Step(nil), x.Steps...), y.Steps...), Flood: x.Flood, Ballast: max(x.Ballast, y.Ballast)}
		if th.Flood == nil {
			th.Flood = y.Flood
		}
		th.params = make([]Param, len(params))
		copy(th.params, params)
		for i := range th.params {
			th.params[i].Value = v[i]
		}
		th.build = build
		return th
	}
	vals := make([]float64, len(params))
	for i, p := range params {
		vals[i] = p.Value
	}
	return build(vals)
}

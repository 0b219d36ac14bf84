package scenarios

import (
	"time"

	"github.com/rafaelabs/rafael/faults"
	"pgregory.net/rapid"
)

// Option adjusts a named threat's phases or severity.
type Option interface{ apply(*settings) }

type settings struct {
	jitter                  time.Duration
	steady, inject, recover time.Duration
	severity                Severity
}

type optionFunc func(*settings)

func (f optionFunc) apply(s *settings) { f(s) }

// Jitter adds ± d of uniformly drawn jitter to a [Latency] threat's delay
// (capped at the delay).
func Jitter(d time.Duration) Option { return optionFunc(func(s *settings) { s.jitter = d }) }

// Steady sets how long the workload runs alone before injection (default 1s).
func Steady(d time.Duration) Option { return optionFunc(func(s *settings) { s.steady = d }) }

// InjectFor sets the length of the inject phase of a threat whose faults
// last the whole phase: Latency, Flood, MemoryPressure, Cascade (default 5s).
func InjectFor(d time.Duration) Option { return optionFunc(func(s *settings) { s.inject = d }) }

// RecoverFor sets how long recovery is watched after injection (default 2s).
func RecoverFor(d time.Duration) Option { return optionFunc(func(s *settings) { s.recover = d }) }

// WithSeverity overrides the severity a named threat derives from its size.
func WithSeverity(sev Severity) Option { return optionFunc(func(s *settings) { s.severity = sev }) }

func settle(opts []Option) settings {
	s := settings{steady: time.Second, inject: 5 * time.Second, recover: 2 * time.Second}
	for _, o := range opts {
		o.apply(&s)
	}
	return s
}

// named builds a threat from parameters: mk turns parameter values into the
// threat; the declared ranges are widened to include the given values.
func named(params []Param, s settings, mk func(vals []float64) Threat) Threat {
	for i := range params {
		params[i].Min = min(params[i].Min, params[i].Value)
		params[i].Max = max(params[i].Max, params[i].Value)
	}
	var build func(vals []float64) Threat
	build = func(vals []float64) Threat {
		t := mk(vals)
		t.Steady, t.Recover = s.steady, s.recover
		if s.severity != 0 {
			t.Severity = s.severity
		}
		t.params = make([]Param, len(params))
		for i := range params {
			t.params[i] = params[i]
			t.params[i].Value = vals[i]
		}
		t.build = build
		return t
	}
	vals := make([]float64, len(params))
	for i, p := range params {
		vals[i] = p.Value
	}
	return build(vals)
}

func dur(v float64) time.Duration { return time.Duration(v) }

// Latency is network or call latency of delay on target for the inject
// phase. Generated delays range over 50ms–2s. Severity: medium below 500ms,
// high below 1.5s, critical above.
func Latency(target faults.Target, delay time.Duration, opts ...Option) Threat {
	s := settle(opts)
	return named([]Param{{Name: "delay", Min: float64(50 * time.Millisecond), Max: float64(2 * time.Second), Value: float64(delay), Duration: true}}, s,
		func(v []float64) Threat {
			d := dur(v[0])
			sev := Medium
			switch {
			case d >= 1500*time.Millisecond:
				sev = Critical
			case d >= 500*time.Millisecond:
				sev = High
			}
			return Threat{Name: "latency", Severity: sev, Inject: s.inject,
				Steps: []Step{{Target: target, Fault: faults.Latency{Delay: d, Jitter: min(s.jitter, d)}}}}
		})
}

// DBOutage takes target down for outage: new connections refused, live ones
// closed. The inject phase is the outage. Generated outages range over
// 0.5s–5s. Severity: high below 3s, critical above.
func DBOutage(target faults.Target, outage time.Duration, opts ...Option) Threat {
	s := settle(opts)
	return named([]Param{{Name: "outage", Min: float64(500 * time.Millisecond), Max: float64(5 * time.Second), Value: float64(outage), Duration: true}}, s,
		func(v []float64) Threat {
			d := dur(v[0])
			sev := High
			if d >= 3*time.Second {
				sev = Critical
			}
			return Threat{Name: "db-outage", Severity: sev, Inject: d,
				Steps: []Step{{Target: target, Fault: faults.Down{}, For: d}}}
		})
}

// Flood sends extra calls of the workload during the inject phase:
// concurrency callers at rate calls per second in all (the DDoS case, a
// request flood beyond capacity). Generated floods range over 8–256 callers
// and 100–5000 calls per second. Severity: critical.
func Flood(concurrency int, rate float64, opts ...Option) Threat {
	s := settle(opts)
	return named([]Param{
		{Name: "callers", Min: 8, Max: 256, Value: float64(concurrency), Integer: true},
		{Name: "rate", Min: 100, Max: 5000, Value: rate},
	}, s, func(v []float64) Threat {
		return Threat{Name: "flood", Severity: Critical, Inject: s.inject,
			Flood: &faults.Load{Concurrency: int(v[0]), Rate: v[1], Duration: s.inject}}
	})
}

// MemoryPressure holds bytes of touched memory during the inject phase
// (hard-capped by faults.Ballast) on the wire tier; on the simulated tier
// the pressure is modelled per trial, and code under test sees it through
// faults.Pressure. Generated sizes range over 16–512 MiB.
// Severity: medium below 256 MiB, high above.
func MemoryPressure(bytes int64, opts ...Option) Threat {
	s := settle(opts)
	return named([]Param{{Name: "bytes", Min: 16 << 20, Max: 512 << 20, Value: float64(bytes), Integer: true}}, s,
		func(v []float64) Threat {
			sev := Medium
			if v[0] >= 256<<20 {
				sev = High
			}
			return Threat{Name: "memory-pressure", Severity: sev, Inject: s.inject, Ballast: int64(v[0])}
		})
}

// Cascade makes first slow by delay for the whole inject phase and, halfway
// through, takes second down for the rest of it: a slow dependency exhausts
// the caller's resources and drags a second one down with it. Generated
// delays range over 200ms–3s. Severity: critical.
func Cascade(first, second faults.Target, delay time.Duration, opts ...Option) Threat {
	s := settle(opts)
	return named([]Param{{Name: "delay", Min: float64(200 * time.Millisecond), Max: float64(3 * time.Second), Value: float64(delay), Duration: true}}, s,
		func(v []float64) Threat {
			half := s.inject / 2
			return Threat{Name: "cascade", Severity: Critical, Inject: s.inject, Steps: []Step{
				{Target: first, Fault: faults.Latency{Delay: dur(v[0])}},
				{Target: second, Fault: faults.Down{}, At: half, For: s.inject - half},
			}}
		})
}

// Compose builds a threat from fault steps at offsets; its inject phase ends
// when the last step does (or lasts inject, if longer). It has no generated
// parameters.
func Compose(name string, sev Severity, inject time.Duration, steps ...Step) Threat {
	for _, st := range steps {
		inject = max(inject, st.At+st.For)
	}
	s := settle(nil)
	return Threat{Name: name, Severity: sev, Steady: s.steady, Inject: inject, Recover: s.recover, Steps: steps}
}

// Generator draws variants of t with every generated parameter within its
// declared range, for property-based trials: rapid shrinks a failing threat
// toward the smallest parameters, which is the smallest threat that breaks
// the code. A composed threat has no parameters: it generates only itself.
func (t Threat) Generator() *rapid.Generator[Threat] {
	if t.build == nil {
		return rapid.Just(t)
	}
	return rapid.Custom(func(rt *rapid.T) Threat {
		vals := make([]float64, len(t.params))
		for i, p := range t.params {
			if p.Duration || p.Integer {
				// Counts and durations: integers, shrinking toward the minimum.
				vals[i] = float64(rapid.Int64Range(int64(p.Min), int64(p.Max)).Draw(rt, t.Name+"."+p.Name))
			} else {
				vals[i] = rapid.Float64Range(p.Min, p.Max).Draw(rt, t.Name+"."+p.Name)
			}
		}
		return t.build(vals)
	})
}

// AtMost returns t with every generated parameter's range capped at its
// current value (but a Position's, a moment rather than a size): its
// generator then draws threats no larger than t, from the range's minimum
// up to t itself. The harness checks that an evolved
// genome survives every threat up to the declared one.
func (t Threat) AtMost() Threat {
	if t.build == nil {
		return t
	}
	vals := make([]float64, len(t.params))
	for i, p := range t.params {
		vals[i] = p.Value
	}
	capped := make([]Param, len(t.params))
	copy(capped, t.params)
	for i := range capped {
		if !capped[i].Position {
			capped[i].Max = capped[i].Value
		}
	}
	inner := t.build
	var build func([]float64) Threat
	build = func(v []float64) Threat {
		th := inner(v)
		th.params = make([]Param, len(capped))
		copy(th.params, capped)
		for i := range th.params {
			th.params[i].Value = v[i]
		}
		th.build = build
		return th
	}
	return build(vals)
}

// WithValues returns the threat rebuilt with its generated parameters set
// to vals, in the order of [Threat.Params]; values are clamped into their
// declared ranges. A composed threat, or a wrong count of values, returns t.
func (t Threat) WithValues(vals []float64) Threat {
	if t.build == nil || len(vals) != len(t.params) {
		return t
	}
	v := make([]float64, len(vals))
	for i, p := range t.params {
		v[i] = min(max(vals[i], p.Min), p.Max)
		if p.Duration || p.Integer {
			v[i] = float64(int64(v[i]))
		}
	}
	return t.build(v)
}

package vaultdata

import (
	"fmt"
	"time"

	"github.com/rafaelabs/rafael/faults"
	"github.com/rafaelabs/rafael/scenarios"
)

// Threat is a threat a pattern was verified against, declared as data. Kind
// says which fields it takes:
//
//	{"kind": "db-outage", "outage": "2s"}
//	{"kind": "latency", "delay": "300ms", "jitter": "50ms", "inject": "2s"}
//	{"kind": "flood", "callers": 16, "rate": 400, "inject": "2s"}
//	{"kind": "error-rate", "rate": 0.2, "inject": "3s"}
//	{"kind": "cascade", "delay": "400ms", "inject": "2s", "target": "cache", "second": "postgres"}
//
// Target names the dependency of the pattern's [Model] the faults act on
// (default: the first); a cascade's Second is the one it drags down (default:
// the last). Inject is the inject phase (default 5s, 3s for error-rate).
type Threat struct {
	Kind    string        // "db-outage", "latency", "flood", "error-rate" or "cascade"
	Target  string        // the dependency the faults act on; "" means the model's first
	Second  string        // cascade: the dependency taken down; "" means the model's last
	Outage  time.Duration // db-outage: how long the dependency is down
	Delay   time.Duration // latency, cascade: the added delay
	Jitter  time.Duration // latency: ± this much, at most Delay
	Inject  time.Duration // latency, flood, error-rate, cascade: the inject phase; 0 means the default
	Callers int           // flood: extra concurrent callers
	Rate    float64       // flood: extra calls per second; error-rate: the fraction of calls that fail
}

// Scenarios builds p's threats as scenarios.Threat values whose faults act on
// the targets target returns for the names of p's dependencies: in-process
// hooks (faults.NewHook) on the simulated tier, proxies (toxiproxy.Start, package faults/toxiproxy) on the
// wire tier. A threat that leaves its target unnamed acts on the model's
// first dependency; a cascade's second is then the model's last.
func (p *Pattern) Scenarios(target func(dependency string) faults.Target) ([]scenarios.Threat, error) {
	var out []scenarios.Threat
	for i, th := range p.Threats {
		s, err := th.resolve(p.Model.Dependencies).scenario(target)
		if err != nil {
			return nil, fmt.Errorf("vaultdata: %s: threats[%d]: %w", p.ID, i, err)
		}
		out = append(out, s)
	}
	return out, nil
}

// scenario builds th against the targets target returns.
func (th Threat) scenario(target func(dependency string) faults.Target) (scenarios.Threat, error) {
	first, second := target(th.Target), target(th.Second)
	if th.Kind != "flood" && first == nil {
		return scenarios.Threat{}, fmt.Errorf("%s: no target for dependency %q", th.Kind, th.Target)
	}
	var opts []scenarios.Option
	if th.Inject > 0 {
		opts = append(opts, scenarios.InjectFor(th.Inject))
	}
	var s scenarios.Threat
	switch th.Kind {
	case "db-outage":
		s = scenarios.DBOutage(first, th.Outage)
	case "latency":
		if th.Jitter > 0 {
			opts = append(opts, scenarios.Jitter(th.Jitter))
		}
		s = scenarios.Latency(first, th.Delay, opts...)
	case "flood":
		s = scenarios.Flood(th.Callers, th.Rate, opts...)
	case "error-rate":
		inject := th.Inject
		if inject == 0 {
			inject = 3 * time.Second
		}
		sev := scenarios.Medium
		switch {
		case th.Rate >= 0.5:
			sev = scenarios.Critical
		case th.Rate >= 0.1:
			sev = scenarios.High
		}
		s = scenarios.Compose("error-rate", sev, inject, scenarios.Step{Target: first, Fault: faults.Error{Rate: th.Rate}})
	case "cascade":
		if second == nil {
			return scenarios.Threat{}, fmt.Errorf("cascade: no target for dependency %q", th.Second)
		}
		s = scenarios.Cascade(first, second, th.Delay, opts...)
	default:
		return scenarios.Threat{}, fmt.Errorf("unknown threat kind %q: want %s", th.Kind, list(threatKinds))
	}
	if err := s.Validate(); err != nil {
		return scenarios.Threat{}, fmt.Errorf("%s: %w", th.Kind, err)
	}
	return s, nil
}

var threatKinds = []string{"db-outage", "latency", "flood", "error-rate", "cascade"}

// threatFields says which JSON fields each kind takes besides kind, and
// which of them it requires.
var threatFields = map[string]struct{ takes, needs []string }{
	"db-outage":  {[]string{"target", "outage"}, []string{"outage"}},
	"latency":    {[]string{"target", "delay", "jitter", "inject"}, []string{"delay"}},
	"flood":      {[]string{"callers", "rate", "inject"}, []string{"callers", "rate"}},
	"error-rate": {[]string{"target", "rate", "inject"}, []string{"rate"}},
	"cascade":    {[]string{"target", "second", "delay", "inject"}, []string{"delay"}},
}

// check reports the problems of th against the model's dependencies, each
// as a field relative to the threat ("delay", "target").
func (th Threat) check(deps []Dependency, bad func(field, format string, args ...any)) {
	has := func(name string) bool {
		for _, d := range deps {
			if d.Name == name {
				return true
			}
		}
		return false
	}
	if th.Target != "" && !has(th.Target) {
		bad("target", "%q is not a dependency of the model", th.Target)
	}
	if th.Second != "" && !has(th.Second) {
		bad("second", "%q is not a dependency of the model", th.Second)
	}
	span := func(field string, d, lo, hi time.Duration) {
		if d != 0 && (d < lo || d > hi) {
			bad(field, "%v is outside %v–%v", d, lo, hi)
		}
	}
	span("outage", th.Outage, time.Millisecond, time.Minute)
	span("delay", th.Delay, time.Millisecond, time.Minute)
	span("inject", th.Inject, time.Millisecond, time.Minute)
	if th.Jitter < 0 || th.Jitter > th.Delay {
		bad("jitter", "%v is outside 0–delay (%v)", th.Jitter, th.Delay)
	}
	switch th.Kind {
	case "flood":
		if th.Callers < 1 || th.Callers > 1024 {
			bad("callers", "%d is outside 1–1024", th.Callers)
		}
		if !(th.Rate >= 1 && th.Rate <= 100_000) {
			bad("rate", "%v is outside 1–100000 calls per second", th.Rate)
		}
	case "error-rate":
		if !(th.Rate > 0 && th.Rate <= 1) {
			bad("rate", "%v is outside (0, 1]: write 0.2 for 20 %% of calls failing", th.Rate)
		}
	}
}

// resolve returns the threat with Target and Second filled from the model.
func (th Threat) resolve(deps []Dependency) Threat {
	if len(deps) == 0 {
		return th
	}
	if th.Target == "" && th.Kind != "flood" {
		th.Target = deps[0].Name
	}
	if th.Second == "" && th.Kind == "cascade" {
		th.Second = deps[len(deps)-1].Name
	}
	return th
}

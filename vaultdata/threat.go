package vaultdata

import (
	"errors"
	"fmt"

	"github.com/rafaelabs/rafael/faults"
	"github.com/rafaelabs/rafael/scenarios"
)

// Scenarios builds p's threats ([scenarios.Build]) against targets named
// as the pattern's dependencies: in-process hooks (faults.NewHook) on the
// simulated tier, proxies (package faults/toxiproxy) on the wire tier, or
// both under one name, each fault going to the first target of its name
// that can carry it. A threat that no target given can carry — an error
// rate offered only a proxy — is left out of threats and returned in
// skipped, an [*scenarios.UnsupportedError] that says what it needs; any
// other problem (a name no target answers to) is err, naming the threat.
func (p *Pattern) Scenarios(targets ...faults.Target) (threats []scenarios.Threat, skipped []*scenarios.UnsupportedError, err error) {
	for i, d := range p.Threats {
		th, err := scenarios.Build(d, targets...)
		var un *scenarios.UnsupportedError
		switch {
		case errors.As(err, &un):
			skipped = append(skipped, un)
		case err != nil:
			return nil, nil, fmt.Errorf("vaultdata: %s: threats[%d]: %w", p.ID, i, err)
		default:
			threats = append(threats, th)
		}
	}
	return threats, skipped, nil
}

// resolve returns d with its target and a cascade's second filled from the
// model's dependencies: the first, and the last.
func resolve(d scenarios.Decl, deps []Dependency) scenarios.Decl {
	if len(deps) == 0 {
		return d
	}
	switch d.Kind {
	case "flood", "memory-pressure":
		return d
	}
	if d.Target == "" {
		d.Target = deps[0].Name
	}
	if d.Second == "" && d.Kind == "cascade" {
		d.Second = deps[len(deps)-1].Name
	}
	return d
}

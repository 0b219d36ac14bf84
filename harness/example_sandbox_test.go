//go:build linux

package harness_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/rafaelabs/rafael/faults"
	"github.com/rafaelabs/rafael/genome"
	"github.com/rafaelabs/rafael/harness"
	"github.com/rafaelabs/rafael/scenarios"
)

// A sandbox's settings are checked with the rest of the spec: only a
// loopback address can be handed in, and a test binary needs more than a
// few MiB to start.
func ExampleSandbox() {
	db := faults.NewHook("db", 1)
	spec := harness.Spec{
		Module:  "checkout",
		Threats: []scenarios.Threat{scenarios.MemoryPressure(64 << 20)},
		Workload: func(ctx context.Context, p *genome.Policy) error {
			return p.Do(ctx, faults.FuncErr(db, func(context.Context) error { return nil }))
		},
		Tier:    harness.Wire,
		Sandbox: &harness.Sandbox{Memory: 8 << 20, Hand: []string{"10.0.0.7:5432"}},
	}
	for _, line := range strings.Split(spec.Validate().Error(), "\n") {
		if !strings.Contains(line, "not available here") { // where the kernel cannot make one, a line says why
			fmt.Println(line)
		}
	}
	// Output:
	// harness: invalid spec: Sandbox.Memory = 8388608 bytes is below 32 MiB: a test binary needs more to start
	// harness: invalid spec: Sandbox.Hand: sandbox: hand "10.0.0.7:5432": only a loopback address (127.0.0.1:port, [::1]:port) can be handed to a sandbox
}

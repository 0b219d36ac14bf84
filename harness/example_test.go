package harness_test

import (
	"context"
	"fmt"
	"time"

	"github.com/rafaelabs/rafael/faults"
	"github.com/rafaelabs/rafael/genome"
	"github.com/rafaelabs/rafael/harness"
	"github.com/rafaelabs/rafael/scenarios"
)

// A spec is checked before any trial runs; every problem is listed at once.
func ExampleSpec_Validate() {
	proxy, err := faults.NewToxiproxy("postgres", "127.0.0.1:5432")
	if err != nil {
		panic(err)
	}
	defer proxy.Close()
	spec := harness.Spec{
		Module:   "checkout",
		Threats:  []scenarios.Threat{scenarios.DBOutage(proxy, 2*time.Second)},
		Workload: func(ctx context.Context, p *genome.Policy) error { return nil },
		SLO:      harness.SLO{SuccessRate: 99},
		Tier:     harness.Simulated,
	}
	fmt.Println(spec.Validate())
	// Output:
	// harness: invalid spec: SLO.SuccessRate = 99 is outside 0–1: write 0.99 for 99 %
	// harness: invalid spec: Threats[0] "db-outage" step 0: target "postgres" is a network proxy (real TCP to 127.0.0.1:5432), which cannot run inside a testing/synctest bubble: use an in-process hook (faults.NewHook) on the simulated tier, or set Tier: harness.Wire
}

func ExampleParseTier() {
	for _, s := range []string{"simulated", "wire", "cloud"} {
		tier, err := harness.ParseTier(s)
		fmt.Println(tier, err)
	}
	// Output:
	// simulated <nil>
	// wire <nil>
	// auto harness: unknown tier "cloud": want simulated or wire
}

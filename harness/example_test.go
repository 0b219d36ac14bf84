package harness_test

import (
	"context"
	"fmt"
	"time"

	"github.com/rafaelabs/rafael/faults"
	"github.com/rafaelabs/rafael/faults/toxiproxy"
	"github.com/rafaelabs/rafael/genome"
	"github.com/rafaelabs/rafael/harness"
	"github.com/rafaelabs/rafael/scenarios"
)

// A spec is checked before any trial runs; every problem is listed at once.
// Here the simulated tier is forced on two targets that reach real servers —
// a Toxiproxy, and a hook in front of a real dialer — which cannot run inside
// a testing/synctest bubble (left at Auto, the tier would be wire).
func ExampleSpec_Validate() {
	proxy, err := toxiproxy.New("postgres", "127.0.0.1:5432")
	if err != nil {
		panic(err)
	}
	defer proxy.Close()
	cache := faults.NewHook("redis", 1)
	dial := faults.Dialer(cache, nil) // a net.Dialer: real sockets
	spec := harness.Spec{
		Module: "checkout",
		Threats: []scenarios.Threat{
			scenarios.DBOutage(proxy, 2*time.Second),
			scenarios.Latency(cache, 300*time.Millisecond),
		},
		Workload: func(ctx context.Context, p *genome.Policy) error {
			c, err := dial(ctx, "tcp", "127.0.0.1:6379")
			if err != nil {
				return err
			}
			return c.Close()
		},
		SLO:  harness.SLO{SuccessRate: 99},
		Tier: harness.Simulated,
	}
	fmt.Println(spec.Validate())
	// Output:
	// harness: invalid spec: SLO.SuccessRate = 99 is outside 0–1: write 0.99 for 99 %
	// harness: invalid spec: Threats[0] "db-outage" step 0: target "postgres" (*toxiproxy.Proxy) reaches outside the process (its Networked method reports true: a network proxy, real sockets), which cannot run inside a testing/synctest bubble: set Tier: harness.Wire, or leave Tier zero (auto picks wire for it), or use an in-process hook (faults.NewHook) on the simulated tier
	// harness: invalid spec: Threats[1] "latency" step 0: target "redis" is a hook in front of a real driver, dialer, transport or socket (faults.Connector, Dialer, RoundTripper or Conn), which cannot run inside a testing/synctest bubble (a real driver there is a fatal error that ends the test binary): set Tier: harness.Wire, or leave Tier zero (auto picks wire for it); if what the hook wraps is in this process (a fake driver, a net.Pipe), declare it with faults.NewHook("redis", seed).InProcess()
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

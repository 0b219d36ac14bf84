package trial_test

import (
	"context"
	"fmt"
	"time"

	"github.com/rafaelabs/rafael/faults"
	"github.com/rafaelabs/rafael/genome"
	"github.com/rafaelabs/rafael/internal/trial"
	"github.com/rafaelabs/rafael/scenarios"
	"github.com/rafaelabs/rafael/slo"
)

// One trial in real time, with no *testing.T: a 100ms outage of an
// in-process dependency in a 300ms trial, against a workload with no
// resilience, judged against a 99 % success rate.
func ExampleRun() {
	db := faults.NewHook("db", 1)
	th := scenarios.Compose("blip", scenarios.High, 100*time.Millisecond, scenarios.Step{Target: db, Fault: faults.Down{}})
	work := func(ctx context.Context, p *genome.Policy) error {
		return p.Do(ctx, db.Before)
	}
	res := trial.Run(trial.Config{Workload: work, Requests: 30, Drain: 100 * time.Millisecond}, th, &genome.Genome{Module: "m"}, 7)
	for _, v := range res.Violations(slo.SLO{SuccessRate: 0.99}) {
		fmt.Println(v.Kind)
	}
	fmt.Println(res.Metrics.Requests, "requests,", res.Metrics.Succeeded < res.Metrics.Requests)
	// Output:
	// successRate
	// 30 requests, true
}

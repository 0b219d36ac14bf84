package evolve_test

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/rafaelabs/rafael/evolve"
	"github.com/rafaelabs/rafael/faults"
	"github.com/rafaelabs/rafael/genome"
	"github.com/rafaelabs/rafael/scenarios"
)

// A search over a made-up problem: fitness peaks at six attempts.
func ExampleSearch() {
	start := &genome.Genome{Module: "checkout", Retry: &genome.Retry{MaxAttempts: 1, BaseDelay: 100 * time.Millisecond, MaxDelay: time.Second, Multiplier: 2}}
	eval := func(_ context.Context, g *genome.Genome, trials []evolve.Trial) ([]evolve.Outcome, error) {
		out := make([]evolve.Outcome, len(trials))
		for i := range trials {
			f := 0.0
			if g.Retry != nil {
				f = 1 - math.Abs(float64(g.Retry.MaxAttempts-6))/10
			}
			out[i] = evolve.Outcome{Fitness: f, Passed: f >= 0.9, Shortfall: max(0, 0.9-f)}
		}
		return out, nil
	}
	res, err := evolve.Search(context.Background(), evolve.Problem{Start: start, Weights: []float64{1}, Evaluate: eval, Seed: 7}, evolve.Options{})
	if err != nil {
		panic(err)
	}
	fmt.Println("passed:", res.Passed, "attempts:", res.Champion.Retry.MaxAttempts >= 5 && res.Champion.Retry.MaxAttempts <= 7)
	// Output: passed: true attempts: true
}

// A campaign over a declared threat, judged by a made-up rule: a genome
// survives the outage when it retries for longer than it lasts. The probe
// finds nothing smaller that breaks the champion.
func ExampleEvolve() {
	db := faults.NewHook("db", 1)
	judge := func(_ context.Context, g *genome.Genome, cases []evolve.Case) ([]evolve.Outcome, error) {
		out := make([]evolve.Outcome, len(cases))
		for i, c := range cases {
			retried := time.Duration(0)
			if g.Retry != nil {
				retried = time.Duration(g.Retry.MaxAttempts) * g.Retry.BaseDelay
			}
			ok := retried > c.Threat.Inject
			out[i] = evolve.Outcome{Passed: ok, Fitness: map[bool]float64{true: 0.9, false: 0.3}[ok], Shortfall: map[bool]float64{true: 0, false: 1}[ok]}
		}
		return out, nil
	}
	ev, err := evolve.Evolve(context.Background(), evolve.Campaign{
		Start:   &genome.Genome{Module: "checkout"},
		Threats: []scenarios.Threat{scenarios.DBOutage(db, 2*time.Second)},
		Seed:    7,
		Judge:   judge,
		Probe:   true,
	}, evolve.Options{})
	if err != nil {
		panic(err)
	}
	fmt.Println("passed:", ev.Passed, "rounds:", ev.Rounds)
	// Output: passed: true rounds: 2
}

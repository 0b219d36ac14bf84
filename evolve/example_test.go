package evolve_test

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/rafaelabs/rafael/evolve"
	"github.com/rafaelabs/rafael/genome"
)

func ExampleWeights_Fitness() {
	var w evolve.Weights // the default: 0.6·success + 0.2·recovery + 0.2·efficiency
	// 95 % of requests succeeded, recovery took half the recover phase, and
	// each request cost two attempts.
	fmt.Printf("%.2f\n", w.Fitness(0.95, 0.5, 1.0/2))
	strict := evolve.Weights{Success: 1}
	fmt.Printf("%.2f\n", strict.Fitness(0.95, 0.5, 1.0/2))
	// Output:
	// 0.77
	// 0.95
}

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

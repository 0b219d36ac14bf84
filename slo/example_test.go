package slo_test

import (
	"fmt"
	"time"

	"github.com/rafaelabs/rafael/slo"
)

// A trial that breaks one term of its objective is broken, says by how
// much, and scores below 50.
func Example() {
	objective := slo.SLO{SuccessRate: 0.99, P99: 2 * time.Second}
	measured := slo.Metrics{Requests: 100, Succeeded: 100, SuccessRate: 1, P99: 2580 * time.Millisecond, Recovered: true}
	vs := slo.Check(objective, measured)
	for _, v := range vs {
		fmt.Println(v)
	}
	fmt.Printf("score %.1f (met at %.0f)\n", slo.Score(vs, 1), slo.Met)
	// Output:
	// p99 latency 2.58s is above the required 2s (+29 %)
	// score 45.2 (met at 50)
}

// A team's own term weighs beside the built-in ones: here a cache-hit
// ratio the workload counted, and the latency against a 150ms p99.
func ExampleTerm() {
	hits := slo.Term{Name: "cache hits", Weight: 2, Of: func(m slo.Metrics) float64 {
		return m.Counts["cache.hit"] / float64(m.Requests)
	}}
	w := slo.Weights{Success: 0.6, Recovery: 0.2, Efficiency: 0.2, Latency: 1}
	for _, m := range []slo.Metrics{
		{Requests: 100, SuccessRate: 1, P99: 12 * time.Millisecond, Counts: map[string]float64{"cache.hit": 48}},
		{Requests: 100, SuccessRate: 1, P99: 57 * time.Millisecond, Counts: map[string]float64{"cache.hit": 60}},
	} {
		latency := slo.LatencyScore(m.P99, 150*time.Millisecond)
		fitness := w.FitnessWith(m.SuccessRate, 1, 1, latency, slo.Weighed{Weight: hits.Weight, Value: hits.Of(m)})
		fmt.Printf("p99 %v, hits %.2f: latency %.2f, fitness %.3f\n", m.P99, hits.Of(m), latency, fitness)
	}
	// Output:
	// p99 12ms, hits 0.48: latency 0.93, fitness 0.721
	// p99 57ms, hits 0.60: latency 0.72, fitness 0.731
}

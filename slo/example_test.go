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

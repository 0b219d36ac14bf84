package evolve_test

import (
	"fmt"

	"github.com/rafaelabs/rafael/evolve"
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

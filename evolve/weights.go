package evolve

import (
	"fmt"
	"math"
)

// Weights are the weights of the fitness of a trial: how much its success
// rate, its recovery and its efficiency count. The zero value means the
// default, [DefaultWeights]: 0.6·success + 0.2·recovery + 0.2·efficiency.
type Weights struct {
	Success    float64 // weight of the success rate (0–1)
	Recovery   float64 // weight of recovery after the fault is removed (0–1)
	Efficiency float64 // weight of resource efficiency: 1 / attempts per request (0–1)
}

// DefaultWeights are the weights used when none are given.
var DefaultWeights = Weights{Success: 0.6, Recovery: 0.2, Efficiency: 0.2}

// IsZero reports whether w is the zero value, which stands for [DefaultWeights].
func (w Weights) IsZero() bool { return w == Weights{} }

// Validate reports a negative or non-finite weight, naming the field.
func (w Weights) Validate() error {
	if w.IsZero() {
		return nil
	}
	for _, f := range []struct {
		name string
		v    float64
	}{{"Success", w.Success}, {"Recovery", w.Recovery}, {"Efficiency", w.Efficiency}} {
		if f.v < 0 || math.IsNaN(f.v) || math.IsInf(f.v, 0) {
			return fmt.Errorf("evolve: Weights.%s = %v: a weight must be a finite number ≥ 0", f.name, f.v)
		}
	}
	return nil
}

// Fitness combines the three components of a trial, each in [0, 1] (values
// outside are clamped), into a fitness in [0, 1]: their weighted mean.
func (w Weights) Fitness(success, recovery, efficiency float64) float64 {
	if w.IsZero() {
		w = DefaultWeights
	}
	sum := w.Success + w.Recovery + w.Efficiency
	if sum <= 0 {
		return 0
	}
	return (w.Success*unit(success) + w.Recovery*unit(recovery) + w.Efficiency*unit(efficiency)) / sum
}

// unit clamps v into [0, 1]; NaN is 0.
func unit(v float64) float64 {
	if !(v > 0) {
		return 0
	}
	return min(v, 1)
}

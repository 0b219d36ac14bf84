package slo

import (
	"fmt"
	"math"
)

// Weights are the weights of a trial's fitness: how much its success rate,
// its recovery and its efficiency count. The zero value means
// [DefaultWeights]: 0.6·success + 0.2·recovery + 0.2·efficiency.
type Weights struct {
	Success    float64 // weight of the success rate (≥ 0)
	Recovery   float64 // weight of recovery after the fault is removed (≥ 0)
	Efficiency float64 // weight of resource efficiency: 1 / attempts per request (≥ 0)
}

// DefaultWeights are the weights used when none are given.
var DefaultWeights = Weights{Success: 0.6, Recovery: 0.2, Efficiency: 0.2}

// IsZero reports whether w is the zero value, which stands for [DefaultWeights].
func (w Weights) IsZero() bool { return w == Weights{} }

// Validate reports a negative or non-finite weight, or weights that sum to
// zero, naming the field.
func (w Weights) Validate() error {
	if w.IsZero() {
		return nil
	}
	for _, f := range []struct {
		name string
		v    float64
	}{{"Success", w.Success}, {"Recovery", w.Recovery}, {"Efficiency", w.Efficiency}} {
		if f.v < 0 || math.IsNaN(f.v) || math.IsInf(f.v, 0) {
			return fmt.Errorf("%w: Weights.%s = %v: a weight must be a finite number ≥ 0", ErrInvalid, f.name, f.v)
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

// Score is a trial's score from 0 to 100, one scale with its verdict: a
// trial that meets its objective (no violations) scores 50 + 50·fitness, so
// 50 or more; one that breaks it scores 50·(1 − shortfall/3), below 50 and
// falling to 0 as it nears a trial that never ran (a shortfall of 3 or
// more). A trial that breaks its p99 therefore never scores 100, and one
// that meets every term never scores below one that does not.
func Score(vs []Violation, fitness float64) float64 {
	if len(vs) == 0 {
		return 50 + 50*unit(fitness)
	}
	return min(49.9, 50*max(0, 1-Shortfall(vs)/3))
}

// Met is the score at and above which a trial met its objective.
const Met = 50.0

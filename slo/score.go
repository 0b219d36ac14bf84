package slo

import (
	"fmt"
	"math"
	"time"
)

// Weights are the weights of a trial's built-in fitness terms: how much its
// success rate, its recovery, its efficiency and its latency count. The
// zero value means [DefaultWeights]: 0.6·success + 0.2·recovery +
// 0.2·efficiency, latency not counted. A team's own terms ([Term]) are
// weighed beside these.
type Weights struct {
	Success  float64 // weight of the success rate (≥ 0)
	Recovery float64 // weight of recovery after the fault is removed (≥ 0)
	// Efficiency weighs the load a request puts on its dependency, the
	// retry amplification: 1 / attempts per request (hedges included), so a
	// genome that turns one call into three scores a third (≥ 0).
	Efficiency float64
	// Latency weighs the successes' p99 against a reference (the SLO's p99,
	// or one second): [LatencyScore] (≥ 0). 0 by default: a latency within
	// the SLO then does not count, and one beyond it is a violation anyway.
	Latency float64
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
	}{{"Success", w.Success}, {"Recovery", w.Recovery}, {"Efficiency", w.Efficiency}, {"Latency", w.Latency}} {
		if f.v < 0 || math.IsNaN(f.v) || math.IsInf(f.v, 0) {
			return fmt.Errorf("%w: Weights.%s = %v: a weight must be a finite number ≥ 0", ErrInvalid, f.name, f.v)
		}
	}
	return nil
}

// Fitness combines the three components of a trial, each in [0, 1] (values
// outside are clamped), into a fitness in [0, 1]: their weighted mean, the
// latency (when weighted) counted as perfect. [Weights.FitnessWith] takes
// the latency and a team's terms as well.
func (w Weights) Fitness(success, recovery, efficiency float64) float64 {
	return w.FitnessWith(success, recovery, efficiency, 1)
}

// FitnessWith is the weighted mean, in [0, 1], of a trial's built-in
// components and of terms (each value clamped into [0, 1], NaN counting
// 0): success, recovery, efficiency and latency weighed by w, each term by
// its own weight.
func (w Weights) FitnessWith(success, recovery, efficiency, latency float64, terms ...Weighed) float64 {
	if w.IsZero() {
		w = DefaultWeights
	}
	sum := w.Success + w.Recovery + w.Efficiency + w.Latency
	total := w.Success*unit(success) + w.Recovery*unit(recovery) + w.Efficiency*unit(efficiency) + w.Latency*unit(latency)
	for _, t := range terms {
		sum += t.Weight
		total += t.Weight * unit(t.Value)
	}
	if !(sum > 0) {
		return 0
	}
	return total / sum
}

// Weighed is one term's value in a trial and its weight.
type Weighed struct{ Weight, Value float64 }

// LatencyScore is the latency component of a fitness: ref / (ref + p99),
// 1 for an instant answer, ½ at a p99 of ref, falling towards 0 beyond, so
// every millisecond counts however far within the SLO. ref ≤ 0 means one
// second.
func LatencyScore(p99, ref time.Duration) float64 {
	if ref <= 0 {
		ref = time.Second
	}
	return float64(ref) / float64(ref+max(0, p99))
}

// Term is a fitness term a team chooses beside the built-in ones: a
// function of a trial's measurements, higher being better, and its weight.
// What a workload counts with harness.Count is in [Metrics.Counts]; a
// cache-hit ratio is
//
//	slo.Term{Name: "cache hits", Weight: 0.4, Of: func(m slo.Metrics) float64 {
//		return m.Counts["cache.hit"] / float64(m.Requests)
//	}}
//
// and a cost, where fewer is better, a value such as 1 − cost / budget.
type Term struct {
	Name   string                  // named in the report: letters, digits, spaces, '.', '_', '-'
	Weight float64                 // > 0, on the scale of [Weights] (the defaults sum to 1)
	Of     func(m Metrics) float64 // the term's value in a trial, in [0, 1] (clamped; NaN counts 0)
}

// ValidateTerms reports a term without a name or a function, a name given
// twice, or a weight that is not a finite number > 0, naming the term.
func ValidateTerms(terms []Term) error {
	seen := map[string]bool{}
	for i, t := range terms {
		switch {
		case t.Name == "":
			return fmt.Errorf("%w: Terms[%d] has no Name: name it, as the report will", ErrInvalid, i)
		case seen[t.Name]:
			return fmt.Errorf("%w: Terms[%d]: the name %q is given twice: names must be unique", ErrInvalid, i, t.Name)
		case t.Of == nil:
			return fmt.Errorf("%w: term %q has no Of: give the function of a trial's Metrics it measures", ErrInvalid, t.Name)
		case !(t.Weight > 0) || math.IsInf(t.Weight, 0):
			return fmt.Errorf("%w: term %q has Weight %v: a weight must be a finite number > 0", ErrInvalid, t.Name, t.Weight)
		}
		seen[t.Name] = true
	}
	return nil
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

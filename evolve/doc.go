// Package evolve holds the search over genomes and the fitness it climbs.
//
// # Fitness
//
// A trial's fitness is the weighted mean of three components, each in
// [0, 1]: its success rate, its recovery after the fault is removed, and its
// efficiency (one over the attempts each request cost). [Weights] holds the
// weights; the zero value means 0.6·success + 0.2·recovery + 0.2·efficiency.
// The harness reports fitness × 100 as a score from 0 to 100.
package evolve

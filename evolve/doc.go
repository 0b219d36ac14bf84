// Package evolve will hold the search over genomes: mutation, crossover, gene
// addition and removal, selection, the fitness evaluator, the adoption rule and
// property-based trials with rapid. It arrives with issue 6; this file only
// reserves its place.
package evolve

// Package slo is RAFAEL's one vocabulary for judging a trial: the service
// level objective ([SLO]), what a trial measured ([Metrics]), how it broke
// the objective ([Violation], found by [Check]), how far from the objective
// it was ([Shortfall]), the stricter objective evolution aims at
// ([SLO.WithMargin]), and how a trial is scored ([Weights.Fitness],
// [Score]).
//
// The harness, the search, the report and the vault all judge with these, so
// that a verdict, a score and an evolved champion never disagree on what
// "met" means. The package imports only the standard library.
//
// # The rules
//
//   - Every term of the SLO counts: a trial that breaks any term is broken,
//     and its [Score] is below 50; a trial that meets every term scores 50 or
//     more, rising with its fitness.
//   - A request that never returns is a failure, timed at the drain deadline.
//   - Latency is judged on the requests that succeeded; failures are timed
//     apart, so that fast errors never make a genome look quick.
package slo

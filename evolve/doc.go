// Package evolve holds the search over genomes and the fitness it climbs.
// It runs no trial itself: the harness hands it an [Evaluator], so the same
// search drives the simulated tier, the wire tier and child processes.
//
// # Fitness
//
// A trial's fitness is the weighted mean of three components, each in
// [0, 1]: its success rate, its recovery after the fault is removed, and its
// efficiency (one over the attempts each request cost). [Weights] holds the
// weights; the zero value means 0.6·success + 0.2·recovery + 0.2·efficiency.
// The harness reports fitness × 100 as a score from 0 to 100.
//
// # The search
//
// [Search] is a constrained genetic search over a [Problem] (a starting
// genome, one weight per threat, an evaluator, a seed), shaped by
// [Options] whose zero value works (population 16, 20 generations):
//
//   - Variation: a mutation moves parameters by about ±20 % of their value
//     (so a 2s delay moves by up to 400ms and a 5ms one by up to 1ms), one
//     move in ten jumps anywhere in the parameter's range, and a gene from
//     [DefaultGenes] (every gene but the fallback) is added or removed now
//     and then; crossover takes each parameter from either parent. Every
//     child is Normalized and its values rounded to three significant digits.
//   - Selection: the incumbent and an elite carry over; parents come from
//     tournaments; one immigrant a generation (two on a plateau) brings
//     fresh values; steps widen, up to 8×, while nothing is adopted.
//   - Ranking: meeting the SLO in more trials first, then a smaller
//     shortfall from it, then fitness — a feasibility-first search, so that
//     the SLO is reached before efficiency is traded.
//   - Adoption: every candidate runs the same trials (each threat with
//     Options.Seeds seeds), and replaces the incumbent only when it meets the
//     SLO in more of them, or when its paired gain over those trials beats
//     both Options.MinGain and Options.Z standard errors of the gains. Each
//     [Generation] records its best, mean, decision and reason.
//   - Stopping: after Options.Generations, or once the incumbent meets the
//     SLO everywhere and nothing better came for Options.Patience
//     generations, or when the context ends.
//
// The same problem, options and seed give the same history and champion.
//
// # Isolation
//
// [Goroutine] (the default) runs trials in the test process; [Subprocess]
// runs each candidate's trials in a fresh copy of the test binary, so that
// a workload that crashes its process fails only that candidate. [Container]
// and [VM] are reserved and report [ErrIsolationUnavailable].
package evolve

// Package evolve holds the search over genomes. It runs no trial itself:
// the harness hands it a [Judge] (or an [Evaluator]), so the same search
// drives the simulated tier, the wire tier and child processes. A trial's
// fitness and its verdict come from package slo.
//
// # A campaign
//
// [Evolve] runs a [Campaign]: a [Search] over the declared threats; with
// Campaign.Probe a deterministic [Probe] of the champion with smaller
// variants of those threats, each breaking variant [Shrink]ed to the
// smallest that still breaks it; and up to two more searches that also face
// what the probe found. [Property] then checks a champion with rapid over
// every threat up to a declared one, recording rapid's verdict through a TB
// of its own instead of failing a test or touching rapid's flags.
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
//   - Racing: a candidate's trials run a seed at a time, and its further
//     seeds are skipped once it has failed the SLO in more trials than the
//     incumbent did in all — it can then be neither adopted nor ranked
//     above the incumbent, so the decision is the one a full evaluation
//     makes (Options.EveryTrial turns it off; Generation.Raced counts it).
//   - Stopping: after Options.Generations, or once the incumbent meets the
//     SLO everywhere and nothing better came for Options.Patience
//     generations, or when the context ends.
//   - Constraints: Options.Feasible refuses genomes outright (the
//     guardian's rules, on a run that proposes): they are never evaluated
//     nor adopted.
//   - Explanation: after the last round, [Evolve] removes the champion's
//     genes that cost nothing on its trials, sets each parameter to the
//     roundest value that costs nothing (1.15s → 1s; Evolution.Rounded)
//     and measures what each remaining gene is worth (Evolution.Removed,
//     Evolution.Costs).
//     Candidates are [genome.Genome.Normalize]d, so none carries a dead
//     parameter (a per-attempt timeout above the overall one, attempts the
//     overall deadline never reaches).
//
// The same problem, options and seed give the same history and champion,
// whatever Options.Workers: a generation's candidates are evaluated on that
// many goroutines at once (GOMAXPROCS by default), then scored in order.
// The evaluator must then give outcomes that depend only on the genome and
// the trials; the harness's does, by running each trial in its own bubble
// and fault scope (faults.Scope) — a workload's own fakes must keep their
// state per trial too (keyed by faults.ScopeOf), or set Workers: 1.
//
// # Adversarial rounds
//
// With Options.Adversarial, [Evolve] alternates the search with an
// adversary ([Adversary]): within the envelope of the declared threats —
// each parameter at most its declared value, each step no longer than
// declared and placed anywhere in the inject phase
// ([scenarios.Threat.Timed]), two threats at once with Options.Combine
// ([scenarios.Together]) — it looks for the threat that hurts the champion
// most, shrinks the worst that breaks it, and the next round faces it. The
// rounds end when the adversary finds nothing that breaks the champion,
// only what it found before, or when they run out (Evolution.Attacks,
// Evolution.Holds, Evolution.Settled). The adversary is deterministic for
// the seed, so the determinism above covers it.
//
// # Adaptive forms
//
// A gene with an adaptive form (a retry budget, an adaptive concurrency
// limit, a hedge at a latency quantile: see [genome.AdaptiveSwitch]) is
// switched between its forms as genes are added and removed; the
// simplification makes static a form that gains nothing
// (Evolution.Static), and an adaptive gene's cost says what its static form
// would cost (GeneCost.Adaptive).
//
// # Isolation
//
// Each level protects against more than the one before it, at a cost
// (BENCHMARKS.md measures one candidate's evaluation at each):
//
//   - [Goroutine] (the default) runs trials in the test process: fastest,
//     candidates side by side on the simulated tier; a workload that
//     crashes the process ends the search.
//   - [Subprocess] runs each candidate's trials in a fresh copy of the
//     test binary: a workload that calls os.Exit or panics on a goroutine
//     of its own fails only that candidate. Nothing is limited.
//   - [Sandbox] (alias [Container]: what a container would give, without a
//     runtime) adds what the kernel enforces: its own network namespace
//     with only loopback up, so a stray connection to another host or an
//     unhanded port fails; a cgroup memory limit, so memory without bound
//     ends in an OOM kill named as such ("killed: out of memory (limit
//     256 MiB)") instead of taking the machine; a limit on tasks against a
//     thread or fork storm; and a wall-clock bound against a hang. On the
//     wire tier a MemoryPressure threat then lowers the cgroup's limit
//     instead of holding a ballast. Linux, as root or rootless with user
//     namespaces and a delegated cgroup; [Isolation.Available] says why
//     not elsewhere. It guards against accidents, not malice: the child
//     runs as the same user in the same file system.
//   - [VM] (a kernel of its own) is not available here and reports
//     [ErrIsolationUnavailable]: a workload that needs that much runs its
//     threats on a cluster with faults/chaosmesh, where a pod is the unit.
package evolve

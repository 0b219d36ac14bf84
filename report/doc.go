// Package report holds the resilience report of a harness run and what is
// done with it: how resilient a module was before, how resilient it is
// after evolution, which threats are mitigated, which still break it (the
// smallest breaking threat and the command that replays it), and what
// changed in the genome. It records; it decides nothing.
//
// # Catalogue
//
//   - The model: [Report], one [Threat] row per threat, one [Trial] per
//     seed with its [Metrics]; [Score], [SLO], [Generation],
//     [Counterexample], [AuditRef], [Bucket]; the verdicts [Mitigated],
//     [Held], [Regressed], [Vulnerable].
//   - Scores: [ScoreOf] scores trials, [Overall] weighs threats by severity.
//     The harness fills reports with these, and [Merge] recomputes with them.
//   - Files: [Report.WriteFile] and [ReadFile] (JSON, the contract),
//     [Report.WriteFiles] (JSON, Markdown and HTML side by side). Every
//     write is atomic: a temporary file in the same directory, synced, then
//     renamed.
//   - Renderings: [Report.Markdown] for a pull-request comment,
//     [Report.AppendStepSummary] for GitHub Actions, [Report.HTML] for one
//     self-contained page with SVG charts. Text renderings are for people
//     and may change in any version; only the JSON is a contract.
//   - Across runs: [Merge] and [MergeFiles] join the reports of packages,
//     tests and CI shards into a [Summary]; [Diff] compares two summaries
//     and gates regressions ([DiffResult.Err], [ErrRegression]).
//
// # JSON schema, version 1
//
// A report file is one JSON object. Durations are integers in nanoseconds
// (Go's time.Duration); on the simulated tier they are virtual time. Times
// are RFC 3339 in UTC. Scores are points from 0 to 100; fitness and rates
// are fractions from 0 to 1. Digests are "sha256:<hex>".
//
//	schemaVersion  int      1; see the policy below
//	module         string   the module under test
//	seed           uint64   the run's seed: go test -rafael.seed=<seed> replays it
//	tier           string   "simulated" or "wire"
//	goVersion      string   the test binary's runtime.Version()
//	start, end     time     wall clock of the run
//	slo            object   successRate (fraction), p99 (ns), recoverWithin (ns); 0 = not checked
//	genome         string   digest of the starting genome
//	baseline       Score    {score, low, high, trials}: the starting genome, 95 % interval
//	threats        []Threat one per threat, in the order they ran
//	  name, threat, severity     "db-outage", "db-outage(outage=2s) [high]", "medium" | "high" | "critical"
//	  passed                     every trial met the SLO
//	  score                      Score of the trials
//	  trials []Trial             {seed, genome, passed, violations[], replay, metrics}
//	    metrics                  requests, succeeded, hung, successRate, p50, p90, p99, max (ns),
//	                             recovered, recovery (ns), attemptsPerRequest, peakInFlight,
//	                             peakGoroutines, floodCalls, floodErrors, errors[], fitness
//	  latency []Bucket           {upTo (ns), count}: requests with latency ≤ upTo and > the previous upTo
//	  verdict                    with evolution: "mitigated" | "held" | "regressed" | "vulnerable"
//	  evolved, evolvedPassed, evolvedTrials, evolvedLatency: the champion's, on the same seeds
//	evolved        Score    the champion's overall score (absent without evolution)
//	improvement    float    evolved − baseline, in points
//	champion       string   digest of the champion genome
//	genomeDiff     []string the changes from the starting genome, one per line
//	startGenome, championGenome  the genomes' own JSON
//	history        []Generation {index, best, mean, bestGenome, adopted, reason, evaluations}
//	counterexamples []Counterexample {name, threat, seed, replay, violations[]}: shrunk breaking threats
//	audit          AuditRef {status, seq, hash, impact, trusted}: the guardian's entry
//
// A threat's score is the mean fitness of its trials ×100 with a 95 %
// normal-approximation interval (1.96·sd/√n, sample sd, zero width for one
// trial, clamped to 0–100). The overall score and its bounds are the
// per-threat ones weighted by severity: medium 1, high 2, critical 3.
//
// Schema policy: SchemaVersion changes when a field is removed, renamed or
// changes meaning or unit. Adding an optional field does not change it,
// but [ReadFile] refuses unknown fields, so a reader older than the writer
// says so instead of dropping data. A reader reads exactly its own
// version and names the file and both versions when it meets another.
//
// # Exit codes
//
// A command built on this package (rafael report) exits 0 when the inputs
// were read and nothing regressed, 1 when [Diff] found a regression
// (errors.Is(err, [ErrRegression])), and 2 for bad input: a file missing,
// truncated or of another schema version ([ErrSchema]), reports that claim
// to be shards of one run but disagree, or a bad threshold — any other
// error of [ReadFile], [MergeFiles], [Merge] or [Diff].
package report

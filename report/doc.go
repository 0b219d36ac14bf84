// Package report holds the resilience report of a harness run and what is
// done with it: how resilient a module was before, how resilient it is
// after evolution, which threats are mitigated, which still break it (the
// smallest breaking threat and the command that replays it), and what
// changed in the genome. It records; it decides nothing.
//
// # Catalogue
//
//   - The model: [Report], one [Threat] row per threat, one [Trial] per
//     seed with its [Metrics] (an alias of [slo.Metrics]) and, on the wire
//     tier, a [Measurement] per rerun; [Score], [Generation],
//     [Counterexample], [AuditRef], [Bucket]. The objective is an
//     [slo.SLO] and a violation an [slo.Violation].
//   - Judgements: [Report.Derive] sets, in one place, every status, score
//     and verdict from the measurements: a [Status] per trial and per
//     threat ([Met], [Broken], [Unstable], [NotRun]) and, with evolution, a
//     verdict per threat ([Mitigated], [Held], [Regressed], [Vulnerable],
//     or "unstable" or "not run"). [ScoreOf] scores trials, [Overall]
//     weighs threats by severity. The harness derives every report it
//     writes, and [Merge] every report it returns.
//   - Files: [Report.WriteFile] and [ReadFile] (JSON, the contract),
//     [Report.WriteFiles] (JSON, Markdown and HTML side by side). Every
//     write is atomic: a temporary file in the same directory, synced, then
//     renamed.
//   - Renderings: [Report.Markdown] for a pull-request comment,
//     [Report.AppendStepSummary] for GitHub Actions, [Report.HTML] for one
//     self-contained page with SVG charts; [Summary.Markdown],
//     [Summary.HTML] and [Summary.Text] (a terminal's table) for several
//     runs. Each shows the threats counted by verdict, and for every threat
//     a genome broke, was unstable under or did not run: the broken terms of
//     the SLO and by how much, the trial's seed, what it measured (the
//     latency of successes apart from that of failures; both measurements
//     of an unstable trial) and the command that replays it, or why it did
//     not run. A threat that did not run is shown as "not run", never as
//     met and never with a score. The HTML page adds, per threat, a verdict
//     block (each SLO term required against the worst trial of each genome,
//     the violated term marked in words, the worst trial's replay command,
//     the counterexample, the evidence) and a timeline from the trials'
//     [Timeline]s (success rate and p99 per time bucket, the fault's window
//     shaded, the SLO drawn, the starting genome beside the champion);
//     every chart has titled axes and its data as a table. A summary leads
//     with a headline and one row per run, worst [Report.Status] first, its
//     reports folded below. Text renderings are for people and may change
//     in any version; only the JSON is a contract.
//   - Across runs: [Merge] and [MergeFiles] join the reports of packages,
//     tests and CI shards into a [Summary]; [Diff] compares two summaries
//     and gates regressions ([DiffResult.Err], [ErrRegression]) beyond a
//     threshold and the measured noise, and renders the comparison as text
//     or as a Markdown table ([DiffResult.Markdown]).
//
// # Scores
//
// Scores are on the verdict's scale: 50 and above means the SLO was met.
// A trial's score is [slo.Score] of its first measurement: 50 + 50·fitness
// when it met every term, and 50·(1 − shortfall/3), below 50, when it broke
// one, where the shortfall is the sum of by how much each term broke
// ([slo.Shortfall]). A threat's score is the mean of its trials' scores,
// or of its broken trials' alone when any broke (unstable ones count as
// broken: their first measurement broke the SLO), with a 95 %
// normal-approximation interval (1.96·sd/√n, sample sd, zero width for one
// trial, clamped to 0–100); so a threat scores 50 or more exactly when it
// is met. The overall score and its bounds are the per-threat ones weighted
// by severity (medium 1, high 2, critical 3); threats not run count for
// nothing, neither for nor against.
//
// # JSON schema, version 2
//
// A report file is one JSON object. Durations are integers in nanoseconds
// (Go's time.Duration); on the simulated tier they are virtual time. Times
// are RFC 3339 in UTC. Scores are points from 0 to 100 (see Scores);
// fitness and rates are fractions from 0 to 1. Digests are "sha256:<hex>".
//
//	schemaVersion  int      2; see the policy below
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
//	  status                     "met" | "broken" | "unstable" | "not run"
//	  notRun                     why no trial ran (only when status is "not run")
//	  score                      Score of the trials; trials 0 (no score) when not run
//	  trials []Trial             null when not run
//	    seed, genome, replay     replay: the command that replays the trial, pasted at the module root
//	    status                   "met" | "broken" | "unstable"
//	    score                    the trial's score (see Scores)
//	    violations []Violation   {kind, got, want, detail}: kind "successRate" | "p99" | "recovery" |
//	                             "neverRecovered" | "hung" | "setup" | "aborted"; got and want in the
//	                             term's unit (fraction, ns, count), see slo.Kind
//	    metrics                  requests, succeeded, hung, successRate,
//	                             p50, p90, p99, max (ns): the latency of the successful requests,
//	                             failedP50, failedP99, failedMax (ns): the latency of the failed ones,
//	                             recovered, recovery (ns), attemptsPerRequest, peakInFlight,
//	                             peakGoroutines, floodCalls, floodErrors, lag (ns), errors[], fitness
//	    reruns []Measurement     {violations, metrics}: re-measurements of a broken trial (wire tier);
//	                             any that met the SLO makes the trial unstable
//	  latency []Bucket           {upTo (ns), count}: successful requests with latency ≤ upTo and > the previous upTo
//	  failedLatency []Bucket     the same of the failed requests
//	  verdict                    with evolution "mitigated" | "held" | "regressed" | "vulnerable" |
//	                             "unstable" | "not run"; without, the status
//	  evolved, evolvedStatus, evolvedTrials, evolvedLatency, evolvedFailedLatency:
//	                             the champion's, on the same seeds ("not run" when it did not face the threat)
//	evolved        Score    the champion's overall score (absent without evolution)
//	improvement    float    evolved − baseline, in points
//	champion       string   digest of the champion genome
//	genomeDiff     []string the changes from the starting genome, one per line
//	startGenome, championGenome  the genomes' own JSON
//	history        []Generation {index, best, mean, bestGenome, adopted, reason, evaluations}
//	counterexamples []Counterexample {name, threat, seed, replay, violations[]}: shrunk breaking threats
//	audit          AuditRef {status, seq, hash, impact, trusted}: the guardian's entry
//
// Changes from version 1: violations are typed objects instead of
// sentences; a trial has a status, a score and reruns, and its "passed" is
// gone; a threat's "passed" and "evolvedPassed" are replaced by "status"
// and "evolvedStatus", with "notRun" saying why nothing ran, and "verdict"
// is always set; p50–max are the latency of the successful requests only
// (version 1 mixed in the failures), failedP50–failedMax and
// failedLatency/evolvedFailedLatency are new, and so is lag; scores are on
// the verdict's scale instead of mean fitness ×100. [ReadFile] refuses
// version 1 files rather than converting them: their scores, latencies and
// verdicts meant other things, so a conversion would report numbers the
// run never measured. Run the tests again to write version 2.
//
// Schema policy: SchemaVersion changes when a field is removed, renamed or
// changes meaning or unit. Adding an optional field does not change it,
// but [ReadFile] refuses unknown fields, so a reader older than the writer
// says so instead of dropping data. A reader reads exactly its own
// version and names the file and both versions when it meets another.
//
// # Regression gate
//
// [Diff] compares each run's baseline score, severity-weighted over its
// threats, in the old and the new summary, and the run regresses when it
// dropped by more than the threshold. Two kinds of threat are left out of
// both scores and listed instead: a threat unstable on either side (its
// score is the machine's load as much as the code's, and a gate must not
// flip with the load), and a threat that ran before and is "not run" now,
// which is a regression by itself, whatever the threshold: a threat that
// stops running must not pass for one that is met.
//
// # Exit codes
//
// A command built on this package (rafael report) exits 0 when the inputs
// were read and nothing regressed, 1 when [Diff] found a regression
// (errors.Is(err, [ErrRegression])), and 2 for bad input: a file missing,
// truncated or of another schema version ([ErrSchema]; version 1 files
// included), reports that claim
// to be shards of one run but disagree, or a bad threshold — any other
// error of [ReadFile], [MergeFiles], [Merge] or [Diff].
package report

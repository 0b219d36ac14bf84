package report

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/rafaelabs/rafael/scenarios"
	"github.com/rafaelabs/rafael/slo"
)

// SchemaVersion is the version of the report JSON this package writes.
//
// Version 2 (from version 1): a trial's violations are typed objects
// ({kind, got, want, detail}) instead of sentences; a trial has a status
// ("met", "broken", "unstable") and a score of its own, and may carry the
// re-measurements that made it unstable; a threat's "passed" and
// "evolvedPassed" are replaced by "status" and "evolvedStatus" ("met",
// "broken", "unstable" or "not run", with "notRun" saying why); p50–max are
// the latency of the successes, failedP50–failedMax that of the failures;
// scores are on the verdict's scale (50 and above: the SLO was met).
const SchemaVersion = 2

// Report is the outcome of one harness run of a module: what was measured
// under each threat, and how it compares with the SLO.
type Report struct {
	SchemaVersion int       `json:"schemaVersion"`
	Module        string    `json:"module"`
	Test          string    `json:"test,omitempty"`    // the test that ran it: "TestCheckout"
	Package       string    `json:"package,omitempty"` // its package, as go test names it from the module root: "./examples_test"
	Seed          uint64    `json:"seed"`              // the run's seed: -rafael.seed replays it
	Tier          string    `json:"tier"`              // "simulated" or "wire"
	GoVersion     string    `json:"goVersion"`         // runtime.Version() of the test binary
	Start         time.Time `json:"start"`             // wall clock, UTC
	End           time.Time `json:"end"`               // wall clock, UTC
	SLO           slo.SLO   `json:"slo"`

	Genome   string   `json:"genome"`   // digest of the starting genome
	Baseline Score    `json:"baseline"` // the starting genome's score
	Threats  []Threat `json:"threats"`

	// What evolution found, when the run evolved the genome (else empty).
	Evolved         *Score           `json:"evolved,omitempty"`         // the champion's score
	Improvement     float64          `json:"improvement,omitempty"`     // evolved − baseline, in points
	Champion        string           `json:"champion,omitempty"`        // digest of the champion genome
	GenomeDiff      []string         `json:"genomeDiff,omitempty"`      // the changes from the starting genome, one per line
	StartGenome     json.RawMessage  `json:"startGenome,omitempty"`     // the starting genome's JSON
	ChampionGenome  json.RawMessage  `json:"championGenome,omitempty"`  // the champion's JSON
	History         []Generation     `json:"history,omitempty"`         // one entry per generation
	Counterexamples []Counterexample `json:"counterexamples,omitempty"` // the smallest threats that still break the champion
	Attacks         []Attack         `json:"attacks,omitempty"`         // threats the adversary found within the declared threats' envelope, in order
	Settled         string           `json:"settled,omitempty"`         // why the adversarial rounds ended
	Removed         []string         `json:"removed,omitempty"`         // genes the search's champion had that cost nothing, removed
	Static          []string         `json:"static,omitempty"`          // genes the search's champion had in an adaptive form that gained nothing, made static: "bulkhead (limit aimd)"
	Rounded         []string         `json:"rounded,omitempty"`         // parameters set to a rounder value that costs nothing: "retry.baseDelay 1.15s → 1s"
	GeneCosts       []GeneCost       `json:"geneCosts,omitempty"`       // what removing each of the champion's genes would cost: why it is there

	Audit *AuditRef `json:"audit,omitempty"` // the guardian's record of the change, when it made one

	// Files are where the harness wrote this report; not part of the JSON.
	Files []string `json:"-"`
}

// ImprovementPercent is the improvement relative to the baseline score, in
// percent (0 when there is no evolved score or the baseline is 0).
func (r *Report) ImprovementPercent() float64 {
	if r.Evolved == nil || r.Baseline.Score == 0 {
		return 0
	}
	return 100 * (r.Evolved.Score - r.Baseline.Score) / r.Baseline.Score
}

// Generation is one generation of an evolution.
type Generation struct {
	Index       int     `json:"index"`           // 0 is the starting population
	Best        float64 `json:"best"`            // best fitness, 0–1
	Mean        float64 `json:"mean"`            // mean fitness of the population, 0–1
	BestGenome  string  `json:"bestGenome"`      // digest of the generation's best
	Adopted     bool    `json:"adopted"`         // the best replaced the incumbent
	Reason      string  `json:"reason"`          // why it was or was not adopted
	Evaluations int     `json:"evaluations"`     // trials run in this generation
	Raced       int     `json:"raced,omitempty"` // candidates whose further seeds were skipped, having already lost to the incumbent
}

// Attack is a threat the adversary found within the envelope of the
// declared threats (evolve.Adversary) that broke a champion of the
// search, which the next round faced; Trials are the final champion's
// under it, with the seeds it was found on.
type Attack struct {
	Threat  string  `json:"threat"`  // the shrunk threat: its parameters and its steps' timing
	From    string  `json:"from"`    // the declared threat (or threats, "a+b") whose envelope it is in
	Broke   string  `json:"broke"`   // the digest of the champion it broke
	Fitness float64 `json:"fitness"` // that champion's mean fitness under it, 0–1
	Trials  []Trial `json:"trials,omitempty"`
}

// Counterexample is a threat that still breaks the champion, shrunk to the
// smallest one found, with the command that replays it.
type Counterexample struct {
	Name       string          `json:"name"`   // the threat's name
	Threat     string          `json:"threat"` // the shrunk threat with its parameters
	Seed       uint64          `json:"seed"`
	Replay     string          `json:"replay"`
	Violations []slo.Violation `json:"violations,omitempty"`
}

// GeneCost is what removing one gene of the champion costs, threat by
// threat, on the search's own trials.
//
// With Adaptive set it is the cost of the gene's static form in place of
// the champion's adaptive one: why the adaptive form won.
type GeneCost struct {
	Gene     string           `json:"gene"`
	Adaptive string           `json:"adaptive,omitempty"` // the champion's adaptive form, "limit aimd", that the static form is measured against
	Threats  []GeneThreatCost `json:"threats"`
}

// GeneThreatCost is one threat's search trials with and without a gene.
type GeneThreatCost struct {
	Threat         string  `json:"threat"`
	Trials         int     `json:"trials"`
	Passed         int     `json:"passed"`        // trials that met the SLO with the gene
	PassedWithout  int     `json:"passedWithout"` // without it
	Fitness        float64 `json:"fitness"`       // mean fitness with the gene, 0–1
	FitnessWithout float64 `json:"fitnessWithout"`
}

// String is the gene's worth in a line: "without retry: db-outage meets
// the SLO in 0 of 2 trials (2 with it), fitness 30.0 (90.0 with it)", or
// its adaptive form's: "static bulkhead instead of limit aimd: blip meets
// the SLO in 0 of 2 trials (2 adaptive), …".
func (c GeneCost) String() string {
	with, head := "with it", "without "+c.Gene
	if c.Adaptive != "" {
		with, head = "adaptive", "static "+c.Gene+" instead of "+c.Adaptive
	}
	var parts []string
	for _, t := range c.Threats {
		parts = append(parts, fmt.Sprintf("%s meets the SLO in %d of %d trials (%d %s), fitness %.1f (%.1f %s)",
			t.Threat, t.PassedWithout, t.Trials, t.Passed, with, 100*t.FitnessWithout, 100*t.Fitness, with))
	}
	return head + ": " + strings.Join(parts, "; ")
}

// AuditRef points at the guardian's audit entry for the change.
type AuditRef struct {
	Status  string `json:"status"`  // "adopted", "pending" or "rejected"
	Seq     int    `json:"seq"`     // the entry's sequence number in audit.jsonl
	Hash    string `json:"hash"`    // the entry's hash
	Impact  string `json:"impact"`  // "low", "medium" or "high"
	Trusted bool   `json:"trusted"` // signed by a configured key, not an ephemeral one
}

// Bucket is one bar of a latency distribution: Count requests took at most
// UpTo (and more than the previous bucket's UpTo).
type Bucket struct {
	UpTo  time.Duration `json:"upTo"`
	Count int64         `json:"count"`
}

// Score is a score from 0 to 100 with a 95 % confidence interval over trials.
type Score struct {
	Score  float64 `json:"score"`
	Low    float64 `json:"low"`
	High   float64 `json:"high"`
	Trials int     `json:"trials"`
}

// Threat is what was measured under one threat.
type Threat struct {
	Name     string `json:"name"`     // the threat's name: "db-outage"
	Threat   string `json:"threat"`   // the threat with its parameters: "db-outage(outage=2s) [high]"
	Severity string `json:"severity"` // "medium", "high" or "critical"
	// Decl is the threat as data, when it has a data form (a named threat):
	// what `rafael vault export` carries into a pattern, and what
	// scenarios.Build builds again against targets of the same names.
	Decl *scenarios.Decl `json:"decl,omitempty"`

	// The starting genome's trials, their status and score.
	Status        Status   `json:"status"`                  // met, broken, unstable or not run
	NotRun        string   `json:"notRun,omitempty"`        // why no trial ran, when none did
	Score         Score    `json:"score"`                   // the starting genome's score under this threat
	Trials        []Trial  `json:"trials"`                  // the starting genome's trials
	Latency       []Bucket `json:"latency,omitempty"`       // the latency of its successful requests over its trials
	FailedLatency []Bucket `json:"failedLatency,omitempty"` // the latency of its failed requests

	// Verdict is the threat's verdict: with evolution, "held", "mitigated",
	// "regressed" or "vulnerable" from the two statuses (or "unstable" or
	// "not run" when either is); without, the starting genome's status.
	Verdict string `json:"verdict"`

	// With evolution: the champion's trials under the same threat and seeds.
	Evolved              *Score   `json:"evolved,omitempty"`
	EvolvedStatus        Status   `json:"evolvedStatus,omitempty"`
	EvolvedTrials        []Trial  `json:"evolvedTrials,omitempty"`
	EvolvedLatency       []Bucket `json:"evolvedLatency,omitempty"`
	EvolvedFailedLatency []Bucket `json:"evolvedFailedLatency,omitempty"`

	// Fired sums up, fault by fault, the evidence of the trials'
	// injections; Untouched warns when the faults were applied but acted
	// on nothing (set by [Report.Derive]).
	Fired     []string `json:"fired,omitempty"`
	Untouched string   `json:"untouched,omitempty"`
}

// Status is how a genome fared under a threat, or in one trial.
type Status string

// The statuses.
const (
	Met      Status = "met"      // every trial met the SLO
	Broken   Status = "broken"   // a trial broke the SLO, and broke it again when re-measured
	Unstable Status = "unstable" // a trial broke the SLO, then met it when re-measured: see its reruns
	NotRun   Status = "not run"  // no trial ran (the test's deadline, a skip)
)

// The verdicts of a threat after evolution; without evolution the verdict
// is the starting genome's [Status].
const (
	Mitigated  = "mitigated"  // broken before, met now
	Vulnerable = "vulnerable" // broken before and now
	Regressed  = "regressed"  // met before, broken now
	Held       = "held"       // met before and now
)

// Trial is one run of one threat against one genome with one seed.
type Trial struct {
	Seed       uint64          `json:"seed"`
	Genome     string          `json:"genome"` // digest of the genome it ran
	Status     Status          `json:"status"` // met, broken or unstable; see [Report.Derive]
	Score      float64         `json:"score"`  // 0–100: [slo.Score] of the first measurement
	Violations []slo.Violation `json:"violations,omitempty"`
	Replay     string          `json:"replay"` // the command that replays it, pasted at the module root
	Metrics    slo.Metrics     `json:"metrics"`

	// Reruns are re-measurements of a trial that broke the SLO on the wire
	// tier, where time is real and a busy machine can break a trial the
	// genome would survive: if any of them met the SLO the trial is
	// unstable, else broken.
	Reruns []Measurement `json:"reruns,omitempty"`

	// Injections are the evidence that the threat's faults fired: one per
	// step, in the threat's order.
	Injections []Injection `json:"injections,omitempty"`

	// Timeline is the trial over time: its requests by when they started,
	// in equal buckets across the threat's phases.
	Timeline *Timeline `json:"timeline,omitempty"`
}

// Timeline is a trial over time, on virtual time on the simulated tier and
// real time on the wire tier: its regular requests by when they started,
// in equal buckets across the steady, inject and recover phases (the fault
// is in force from Steady to Steady+Inject).
type Timeline struct {
	Steady  time.Duration `json:"steady"`
	Inject  time.Duration `json:"inject"`
	Recover time.Duration `json:"recover"`
	Bucket  time.Duration `json:"bucket"` // each point's width
	Points  []TimePoint   `json:"points"`
}

// TimePoint is one bucket of a [Timeline].
type TimePoint struct {
	Requests  int           `json:"requests"`      // requests that started in it
	Succeeded int           `json:"succeeded"`     // of those, how many succeeded
	P99       time.Duration `json:"p99,omitempty"` // the 99th percentile latency of those that succeeded; 0: none did
	// Attempts are the attempts the policy started in it — retries,
	// hedges and a flood's calls included: the load the workload put on its
	// dependency, which a metastable trial keeps high after the fault.
	Attempts int `json:"attempts,omitempty"`
}

// Injection is the evidence of what one of a threat's faults did in a
// trial (Polly's "on injected", Chaos Mesh's AllInjected): whether and when
// it was in force, and how many calls or connections it acted on when its
// target counts them (a hook counts calls; an embedded proxy, connections;
// a proxy's Down and an external toxiproxy-server cannot count).
type Injection struct {
	Target  string        `json:"target"`
	Fault   string        `json:"fault"`
	Applied bool          `json:"applied"`
	At      time.Duration `json:"at,omitempty"`      // from the trial's start
	For     time.Duration `json:"for,omitempty"`     // how long it was in force
	Touched *int64        `json:"touched,omitempty"` // calls or connections it acted on; absent when not counted
	Unit    string        `json:"unit,omitempty"`    // what Touched counts: "calls", "operations", "connections"
	Detail  string        `json:"detail,omitempty"`  // what the backend reported of it: "injected in 3 of 3 pods, recovered" (a cluster)
}

// Measurement is one more measurement of a trial.
type Measurement struct {
	Violations []slo.Violation `json:"violations,omitempty"`
	Metrics    slo.Metrics     `json:"metrics"`
}

// Metrics are the measurements of one trial.
type Metrics = slo.Metrics

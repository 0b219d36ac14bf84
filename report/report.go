package report

import (
	"encoding/json"
	"time"
)

// SchemaVersion is the version of the report JSON this package writes.
const SchemaVersion = 1

// Report is the outcome of one harness run of a module: what was measured
// under each threat, and how it compares with the SLO.
type Report struct {
	SchemaVersion int       `json:"schemaVersion"`
	Module        string    `json:"module"`
	Seed          uint64    `json:"seed"`      // the run's seed: -rafael.seed replays it
	Tier          string    `json:"tier"`      // "simulated" or "wire"
	GoVersion     string    `json:"goVersion"` // runtime.Version() of the test binary
	Start         time.Time `json:"start"`     // wall clock, UTC
	End           time.Time `json:"end"`       // wall clock, UTC
	SLO           SLO       `json:"slo"`

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
	Index       int     `json:"index"`       // 0 is the starting population
	Best        float64 `json:"best"`        // best fitness, 0–1
	Mean        float64 `json:"mean"`        // mean fitness of the population, 0–1
	BestGenome  string  `json:"bestGenome"`  // digest of the generation's best
	Adopted     bool    `json:"adopted"`     // the best replaced the incumbent
	Reason      string  `json:"reason"`      // why it was or was not adopted
	Evaluations int     `json:"evaluations"` // trials run in this generation
}

// Counterexample is a threat that still breaks the champion, shrunk to the
// smallest one found, with the command that replays it.
type Counterexample struct {
	Name       string   `json:"name"`   // the threat's name
	Threat     string   `json:"threat"` // the shrunk threat with its parameters
	Seed       uint64   `json:"seed"`
	Replay     string   `json:"replay"`
	Violations []string `json:"violations,omitempty"`
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

// SLO is the objective each trial was held to; a zero field was not checked.
type SLO struct {
	SuccessRate   float64       `json:"successRate"`
	P99           time.Duration `json:"p99"`           // nanoseconds
	RecoverWithin time.Duration `json:"recoverWithin"` // nanoseconds
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
	Name     string   `json:"name"`              // the threat's name: "db-outage"
	Threat   string   `json:"threat"`            // the threat with its parameters: "db-outage(outage=2s) [high]"
	Severity string   `json:"severity"`          // "medium", "high" or "critical"
	Passed   bool     `json:"passed"`            // every trial of the starting genome met the SLO
	Score    Score    `json:"score"`             // the starting genome's score under this threat
	Trials   []Trial  `json:"trials"`            // the starting genome's trials
	Latency  []Bucket `json:"latency,omitempty"` // the starting genome's latency distribution over its trials

	// With evolution: the champion's trials under the same threat and seeds.
	Verdict        string   `json:"verdict,omitempty"` // "mitigated", "vulnerable", "regressed" or "held"
	Evolved        *Score   `json:"evolved,omitempty"`
	EvolvedPassed  bool     `json:"evolvedPassed,omitempty"`
	EvolvedTrials  []Trial  `json:"evolvedTrials,omitempty"`
	EvolvedLatency []Bucket `json:"evolvedLatency,omitempty"`
}

// The verdicts of a threat after evolution.
const (
	Mitigated  = "mitigated"  // failed before, passes now
	Vulnerable = "vulnerable" // fails now
	Regressed  = "regressed"  // passed before, fails now
	Held       = "held"       // passed before and now
)

// Trial is one run of one threat against one genome with one seed.
type Trial struct {
	Seed       uint64   `json:"seed"`
	Genome     string   `json:"genome"` // digest of the genome it ran
	Passed     bool     `json:"passed"`
	Violations []string `json:"violations,omitempty"` // how it broke the SLO
	Replay     string   `json:"replay"`               // the command that replays it
	Metrics    Metrics  `json:"metrics"`
}

// Metrics are the measurements of one trial. Durations are in nanoseconds;
// on the simulated tier they are virtual time.
type Metrics struct {
	Requests    int     `json:"requests"`  // regular requests issued
	Succeeded   int     `json:"succeeded"` // of those, how many returned nil
	Hung        int     `json:"hung"`      // of those, how many never returned, even after their context ended
	SuccessRate float64 `json:"successRate"`

	P50 time.Duration `json:"p50"`
	P90 time.Duration `json:"p90"`
	P99 time.Duration `json:"p99"`
	Max time.Duration `json:"max"`

	Recovered bool          `json:"recovered"` // every request from some point after the fault's removal succeeded
	Recovery  time.Duration `json:"recovery"`  // from the fault's removal until then

	AttemptsPerRequest float64 `json:"attemptsPerRequest"` // calls into the dependency per workload call
	PeakInFlight       int     `json:"peakInFlight"`       // most regular requests in flight at once
	PeakGoroutines     int     `json:"peakGoroutines"`     // most goroutines above the trial's start

	FloodCalls  int64 `json:"floodCalls,omitempty"`  // extra calls of a flood
	FloodErrors int64 `json:"floodErrors,omitempty"` // of those, how many failed

	Errors []string `json:"errors,omitempty"` // the most frequent distinct errors, with counts

	Fitness float64 `json:"fitness"` // 0–1
}

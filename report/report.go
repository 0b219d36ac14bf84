package report

import (
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
	Name     string  `json:"name"`     // the threat's name: "db-outage"
	Threat   string  `json:"threat"`   // the threat with its parameters: "db-outage(outage=2s) [high]"
	Severity string  `json:"severity"` // "medium", "high" or "critical"
	Passed   bool    `json:"passed"`   // every trial met the SLO
	Score    Score   `json:"score"`    // the starting genome's score under this threat
	Trials   []Trial `json:"trials"`
}

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

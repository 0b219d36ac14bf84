package vaultdata

import (
	"slices"
	"strings"
	"time"

	"github.com/rafaelabs/rafael/genome"
)

// Pattern is one proven starting point: a genome for a technology stack, the
// threats and objective it was verified against, the simulated dependency it
// was verified on, and where its score came from.
type Pattern struct {
	ID       string   // unique in its vault: lowercase letters, digits and '-', e.g. "pgx-outage-retry"
	Name     string   // a title for people
	Summary  string   // one or two sentences: what it survives and how
	Category Category // the kind of resilience
	Stack    string   // the technology stack, one of [Stacks]
	Tags     []string // lowercase words for search

	Genome  *genome.Genome // the starting genome (schemaVersion 1)
	Example string         // a short Go example of the pattern in use

	Threats []Threat // what it was verified against; at least one
	SLO     SLO      // the objective every trial met
	Model   Model    // the simulated dependencies the trials ran against

	Status     Status     // how far it has been proven
	Score      int        // declared reliability score, 0–100: at most what the harness measured
	Provenance Provenance // the run that measured it
}

// SLO is the objective a pattern was verified against; it mirrors the
// harness's SLO. A zero field is not checked.
type SLO struct {
	SuccessRate   float64       // fraction of requests that succeeded: 0–1
	P99           time.Duration // the 99th percentile latency did not exceed it
	RecoverWithin time.Duration // requests succeeded again this soon after the fault was removed
}

// Model describes the dependencies of the simulated tier a pattern was
// verified on: one request calls each dependency in turn, through the
// pattern's policy.
type Model struct {
	Dependencies []Dependency // at least one; threats name their target among them
}

// Dependency is one in-process dependency of a [Model]: every call takes
// Service, and at most Capacity calls are served at once; a call beyond that
// is refused at once, as an overloaded server would.
type Dependency struct {
	Name     string        // lowercase letters, digits and '-': "postgres", "cache"
	Service  time.Duration // time to serve one call: 1µs–10s
	Capacity int           // calls served at once: 1–100000
}

// Provenance records the harness run that measured a pattern's score.
type Provenance struct {
	Seed   uint64    // the run's seed (Spec.Seed): the same seed measures the same
	Tier   string    // "simulated" or "wire"
	Date   time.Time // when the run ended (the report's End), UTC
	Report string    // "sha256:<hex>" of the report's JSON file
}

// stacks are the technology stacks a pattern may name, sorted.
var stacks = []string{
	"grpc",
	"kafka",
	"mysql/database-sql",
	"nats",
	"net/http",
	"postgres/database-sql",
	"postgres/pgx",
	"redis/go-redis",
	"s3",
}

// Stacks returns the technology stacks a pattern may name, sorted.
func Stacks() []string { return slices.Clone(stacks) }

// inStack reports whether stack is q or below it: "postgres" matches
// "postgres/pgx".
func inStack(stack, q string) bool {
	return stack == q || strings.HasPrefix(stack, q) && stack[len(q)] == '/'
}

// clone returns a deep copy of p, so a vault's patterns stay as loaded.
func (p *Pattern) clone() Pattern {
	c := *p
	c.Tags = slices.Clone(p.Tags)
	c.Threats = slices.Clone(p.Threats)
	c.Model.Dependencies = slices.Clone(p.Model.Dependencies)
	if p.Genome != nil {
		c.Genome = p.Genome.Clone()
	}
	return c
}

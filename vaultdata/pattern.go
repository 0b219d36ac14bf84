package vaultdata

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/rafaelabs/rafael/genome"
	"github.com/rafaelabs/rafael/scenarios"
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

	Threats []scenarios.Decl // what it was verified against, as data; at least one
	SLO     SLO              // the objective every trial met
	Model   Model            // the simulated dependencies of its model proof; empty when it has none

	Status  Status    // how far it has been proven
	Score   int       // declared reliability score, 0–100: at most what every proof measured
	Proofs  []Proof   // the runs that proved it, oldest first; at least one
	Adopted *Adoption // the audit entry that adopted its genome, for a pattern exported from an adopted champion
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

// Proof records one harness run that proved a pattern: where it ran, what
// it measured, and how to run it again.
type Proof struct {
	// Where says what the trials ran against, plainly: "simulated model"
	// (in-process dependencies built from the pattern's [Model]), or
	// "wire: pgx v5.12.0 on PostgreSQL 15.19" (the named client against
	// a real server, through a real proxy).
	Where  string
	Tier   string    // "simulated" or "wire"
	Score  float64   // the score the run measured (the report's baseline score), to two decimals
	Genome string    // the digest of the genome it proved: the pattern's, else it backs nothing
	Seed   uint64    // the run's seed (Spec.Seed): the same seed measures the same
	Date   time.Time // when the run ended (the report's End), UTC
	Report string    // "sha256:<hex>" of the report's JSON file
	// Test runs the proof again: go test Package -run Run, from the root of
	// the module that holds it. Nil when the run was not a test that can be
	// named.
	Test *Test
}

// Test names the Go test that proves a pattern, as `rafael vault verify`
// runs it: go -C Dir test -count=1 -run Run Package, from the repository's
// root.
type Test struct {
	Dir     string // the module's directory, relative to the repository's root: "clients"; "" for the root
	Package string // a package of that module, relative to it: "./vaultdata/vaulttest", "."
	Run     string // the -run pattern: "^TestVaultProofs$/^pgx-outage-retry$"
}

// check says what is wrong with t, or "": `rafael vault verify` runs it, so
// it names a package of the module (no flag, no path out of it) and a -run
// pattern that is not a flag.
func (t Test) check() string {
	switch {
	case t.Dir != "" && (strings.HasPrefix(t.Dir, "/") || strings.HasPrefix(t.Dir, "-") || slices.Contains(strings.Split(t.Dir, "/"), "..")):
		return fmt.Sprintf("dir %q: want a directory of the repository, relative to its root, such as \"clients\"", t.Dir)
	case t.Package != "." && !strings.HasPrefix(t.Package, "./"):
		return fmt.Sprintf("package %q: want a package of the module, relative to its root, such as \"./clients\"", t.Package)
	case slices.Contains(strings.Split(t.Package, "/"), ".."):
		return fmt.Sprintf("package %q leaves the module", t.Package)
	case strings.Contains(t.Package, "..."):
		return fmt.Sprintf("package %q: a proof is one package's test, not a pattern of packages", t.Package)
	case t.Run == "" || strings.HasPrefix(t.Run, "-"):
		return fmt.Sprintf("run %q: want a -run pattern such as \"^TestVaultProofs$/^pgx-outage-retry$\"", t.Run)
	case strings.ContainsAny(t.Dir+t.Package+t.Run, "\n\r\x00' "):
		return "a line break, NUL or quote in the package or the run pattern"
	}
	return ""
}

// Command returns the test as a command to paste at the repository's root.
func (t Test) Command() string {
	c := "go "
	if t.Dir != "" {
		c += "-C " + t.Dir + " "
	}
	return c + "test -count=1 -run '" + t.Run + "' " + t.Package
}

// Args are the arguments of the go command that runs the test.
func (t Test) Args() []string {
	var a []string
	if t.Dir != "" {
		a = append(a, "-C", t.Dir)
	}
	return append(a, "test", "-count=1", "-run", t.Run, t.Package)
}

// Adoption is the audit entry that adopted a genome: a pattern exported
// from an adopted champion carries it, so a reader can check who approved it.
type Adoption struct {
	Module string // the module the genome was adopted for
	Digest string // the adopted genome's digest
	Seq    int    // the entry's sequence number in the audit log
	Entry  string // the entry's hash: "sha256:<hex>"
}

// Reliability is what backs a pattern's score, measured, not declared: the
// score of its last proof, how many proofs back it and where they ran.
type Reliability struct {
	Score  float64  // what the last proof (by date) measured
	Proofs int      // how many proofs back the pattern
	Where  []string // where they ran, distinct, in the order first proven
}

// Reliability returns what backs p's score.
func (p *Pattern) Reliability() Reliability {
	var r Reliability
	var last time.Time
	for _, pr := range p.Proofs {
		r.Proofs++
		if !slices.Contains(r.Where, pr.Where) {
			r.Where = append(r.Where, pr.Where)
		}
		if !pr.Date.Before(last) {
			last, r.Score = pr.Date, pr.Score
		}
	}
	return r
}

// Tier is the tier p claims: "wire" when a proof ran on the wire, else
// "simulated".
func (p *Pattern) Tier() string {
	if slices.ContainsFunc(p.Proofs, func(pr Proof) bool { return pr.Tier == "wire" }) {
		return "wire"
	}
	return "simulated"
}

// The environment variables through which `rafael vault verify` points a
// proof's test (package vaultdata/vaulttest) at a vault directory:
// DirEnv, the vault to prove; UpdateEnv, the vault to write the proofs to.
const (
	DirEnv    = "RAFAEL_VAULT_DIR"
	UpdateEnv = "RAFAEL_VAULT_UPDATE"
)

// ModelProof is where a proof on a pattern's [Model] ran.
const ModelProof = "simulated model"

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
	c.Proofs = slices.Clone(p.Proofs)
	for i, pr := range c.Proofs {
		if pr.Test != nil {
			t := *pr.Test
			c.Proofs[i].Test = &t
		}
	}
	if p.Adopted != nil {
		a := *p.Adopted
		c.Adopted = &a
	}
	c.Model.Dependencies = slices.Clone(p.Model.Dependencies)
	if p.Genome != nil {
		c.Genome = p.Genome.Clone()
	}
	return c
}

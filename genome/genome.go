package genome

import (
	"bytes"
	"regexp"
)

// SchemaVersion is the genome JSON schema this package reads and writes.
const SchemaVersion = 1

// Genome is a module's resilience configuration as data: which genes it has
// and their parameters. A nil gene pointer means the gene is absent.
//
// The zero Genome is a valid, empty configuration except for its Module,
// which [Genome.Validate] requires.
type Genome struct {
	Module     string // the module it configures: letters, digits, '.', '_', '-'
	Generation int    // evolution generation that produced it; 0 for a hand-written one
	Parent     string // digest of the genome it was derived from, or "" for a root

	Fallback       *Fallback
	RateLimit      *RateLimit
	Bulkhead       *Bulkhead
	Timeout        *Timeout
	Retry          *Retry
	CircuitBreaker *CircuitBreaker
	Hedge          *Hedge
}

var moduleRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)

// Clone returns a deep copy of g.
func (g *Genome) Clone() *Genome {
	c := *g
	if g.Fallback != nil {
		f := *g.Fallback
		f.Value = bytes.Clone(f.Value)
		c.Fallback = &f
	}
	c.RateLimit = clonePtr(g.RateLimit)
	c.Bulkhead = clonePtr(g.Bulkhead)
	c.Timeout = clonePtr(g.Timeout)
	c.Retry = clonePtr(g.Retry)
	c.CircuitBreaker = clonePtr(g.CircuitBreaker)
	c.Hedge = clonePtr(g.Hedge)
	return &c
}

func clonePtr[T any](p *T) *T {
	if p == nil {
		return nil
	}
	c := *p
	return &c
}

// Has reports whether g has a gene of kind k.
func (g *Genome) Has(k GeneKind) bool {
	switch k {
	case GeneFallback:
		return g.Fallback != nil
	case GeneRateLimit:
		return g.RateLimit != nil
	case GeneBulkhead:
		return g.Bulkhead != nil
	case GeneTimeout:
		return g.Timeout != nil
	case GeneRetry:
		return g.Retry != nil
	case GeneCircuitBreaker:
		return g.CircuitBreaker != nil
	case GeneHedge:
		return g.Hedge != nil
	}
	return false
}

// Genes returns the kinds of the genes g has, outermost first.
func (g *Genome) Genes() []GeneKind {
	var ks []GeneKind
	for k := range numGenes {
		if g.Has(k) {
			ks = append(ks, k)
		}
	}
	return ks
}

// Add gives g a gene of kind k with [DefaultGene] parameters, unless it has
// one already.
func (g *Genome) Add(k GeneKind) {
	if g.Has(k) {
		return
	}
	switch v := DefaultGene(k).(type) {
	case *Fallback:
		g.Fallback = v
	case *RateLimit:
		g.RateLimit = v
	case *Bulkhead:
		g.Bulkhead = v
	case *Timeout:
		g.Timeout = v
	case *Retry:
		g.Retry = v
	case *CircuitBreaker:
		g.CircuitBreaker = v
	case *Hedge:
		g.Hedge = v
	}
}

// Remove takes the gene of kind k out of g.
func (g *Genome) Remove(k GeneKind) {
	switch k {
	case GeneFallback:
		g.Fallback = nil
	case GeneRateLimit:
		g.RateLimit = nil
	case GeneBulkhead:
		g.Bulkhead = nil
	case GeneTimeout:
		g.Timeout = nil
	case GeneRetry:
		g.Retry = nil
	case GeneCircuitBreaker:
		g.CircuitBreaker = nil
	case GeneHedge:
		g.Hedge = nil
	}
}

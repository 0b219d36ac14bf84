package evolve

import (
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/rafaelabs/rafael/genome"
	"github.com/rafaelabs/rafael/internal/seed"
)

// The search's variation operators. Each returns a new, Normalized genome
// and draws every random choice from r.

// mutate returns a copy of g with about rate of its parameters moved by up
// to ±scale of their value (never fewer than one), and, with probability
// geneRate, a gene from genes added or one of its genes removed.
func mutate(g *genome.Genome, r *seed.Rand, rate, scale, geneRate float64, genes []genome.GeneKind) *genome.Genome {
	c := g.Clone()
	var added genome.GeneKind = 255
	if r.Float64() < geneRate {
		added = addOrRemove(c, r, genes)
	}
	var ps []genome.Param
	for _, p := range genome.Params() {
		if c.Has(p.Gene) && !offAdaptive(c, p) {
			ps = append(ps, p)
		}
	}
	moved := false
	for _, p := range ps {
		switch {
		case p.Gene == added && r.Float64() < 0.5:
			// A new gene's defaults are a guess: spread its parameters
			// over their ranges half the time.
			c.SetValue(p, tidy(p, logUniform(p, r)))
			moved = true
		case r.Float64() < rate:
			moveParam(c, p, r, scale)
			moved = true
		}
	}
	switch {
	case !moved && len(ps) > 0:
		moveParam(c, ps[r.IntN(len(ps))], r, scale)
	case !moved && added == 255:
		addOrRemove(c, r, genes) // nothing to move: change the genes instead
	}
	c.Normalize()
	return c
}

// offAdaptive reports whether p is a parameter of its gene's adaptive
// form while g's gene is static: it does nothing there, and is not moved
// (switching the form is a change of genes, see addOrRemove).
func offAdaptive(g *genome.Genome, p genome.Param) bool {
	if !p.Adaptive {
		return false
	}
	v, _ := g.Value(p)
	return v == 0
}

// moveParam moves parameter p of g. A positive value is multiplied by a
// factor within 1 ± scale (so durations move in proportion to their size);
// a count moves by at least one; a choice takes another choice; one move in
// ten is a jump to a log-uniform point of p's whole range, so the search is
// not held in a local optimum; a parameter that is off (0) is switched on
// that way. A parameter that may be off is switched off one move in twenty.
func moveParam(g *genome.Genome, p genome.Param, r *seed.Rand, scale float64) {
	v, _ := g.Value(p)
	switch {
	case p.Kind == genome.KindChoice:
		n := int(p.Max-p.Min) + 1
		if n > 1 {
			v = p.Min + float64((int(v-p.Min)+1+r.IntN(n-1))%n)
		}
	case p.ZeroOff && v > 0 && r.Float64() < 0.05:
		v = 0
	case v <= 0 || r.Float64() < 0.1:
		v = logUniform(p, r)
	default:
		nv := v * (1 + scale*(2*r.Float64()-1))
		if p.Kind == genome.KindInt || p.Kind == genome.KindDuration {
			nv = math.Round(nv)
			if p.Kind == genome.KindInt && nv == v {
				nv = v + float64(2*r.IntN(2)-1)
			}
		}
		v = nv
	}
	g.SetValue(p, tidy(p, v))
}

// tidy rounds a drawn value to three significant digits (durations to at
// least a microsecond), so that genome files read 2.94s, not 2.937041301s:
// a finer step than that is below the trials' noise.
func tidy(p genome.Param, v float64) float64 {
	if p.Kind == genome.KindChoice || p.Kind == genome.KindInt || v <= 0 {
		return v
	}
	if p.Kind == genome.KindDuration {
		unit := max(math.Pow(10, math.Floor(math.Log10(v))-2), float64(time.Microsecond))
		return math.Round(v/unit) * unit
	}
	r, _ := strconv.ParseFloat(strconv.FormatFloat(v, 'g', 3, 64), 64) // 0.0141, not 0.014100000000000001
	return r
}

// immigrant returns g with every parameter of its genes redrawn
// log-uniformly over its whole range (choices uniformly).
func immigrant(g *genome.Genome, r *seed.Rand) *genome.Genome {
	c := g.Clone()
	for _, p := range genome.Params() {
		if !c.Has(p.Gene) || offAdaptive(c, p) {
			continue
		}
		if p.Kind == genome.KindChoice {
			c.SetValue(p, p.Min+float64(r.IntN(int(p.Max-p.Min)+1)))
		} else {
			c.SetValue(p, tidy(p, logUniform(p, r)))
		}
	}
	c.Normalize()
	return c
}

// logUniform draws a value of p's range, uniform in its logarithm, from a
// floor of 1ms, 0.01 or 1 when the range starts at 0.
func logUniform(p genome.Param, r *seed.Rand) float64 {
	lo := p.Min
	if lo <= 0 {
		switch p.Kind {
		case genome.KindDuration:
			lo = float64(time.Millisecond)
		case genome.KindInt:
			lo = 1
		default:
			lo = 0.01
		}
	}
	hi := max(lo, p.Max)
	return math.Exp(math.Log(lo) + r.Float64()*(math.Log(hi)-math.Log(lo)))
}

// addOrRemove adds a gene of genes that g lacks, or removes one g has, with
// equal odds when both are possible, and returns the gene it added (255
// when it added none). One change in [adaptiveShare] instead switches a
// gene g has between its static and adaptive forms (see
// [genome.AdaptiveSwitch]), when one of its genes has both.
func addOrRemove(g *genome.Genome, r *seed.Rand, genes []genome.GeneKind) genome.GeneKind {
	var absent, present, forms []genome.GeneKind
	for _, k := range genes {
		if !g.Has(k) {
			absent = append(absent, k)
			continue
		}
		present = append(present, k)
		if _, ok := genome.AdaptiveSwitch(k); ok {
			forms = append(forms, k)
		}
	}
	if len(forms) > 0 && r.Float64() < adaptiveShare {
		switchForm(g, forms[r.IntN(len(forms))], r)
		return 255
	}
	switch {
	case len(absent) > 0 && (len(present) == 0 || r.Float64() < 0.5):
		k := absent[r.IntN(len(absent))]
		g.Add(k)
		return k
	case len(present) > 0:
		g.Remove(present[r.IntN(len(present))])
	}
	return 255
}

// adaptiveShare is the share of gene changes that switch a gene between
// its static and adaptive forms.
const adaptiveShare = 0.1

// switchForm makes g's gene k adaptive, its switch drawn over its range
// and the rest of the form at its defaults, or static again.
func switchForm(g *genome.Genome, k genome.GeneKind, r *seed.Rand) {
	sw, _ := genome.AdaptiveSwitch(k)
	switch v, _ := g.Value(sw); {
	case v != 0:
		g.SetValue(sw, 0)
	case sw.Kind == genome.KindChoice:
		g.SetValue(sw, sw.Min+1+float64(r.IntN(int(sw.Max-sw.Min))))
	default:
		g.SetValue(sw, tidy(sw, logUniform(sw, r)))
	}
	g.Normalize()
}

// crossover returns a child of a and b: a gene both have takes each
// parameter from either parent; a gene only one has is inherited half the
// time. The child keeps a's module and lineage.
func crossover(a, b *genome.Genome, r *seed.Rand) *genome.Genome {
	c := a.Clone()
	for _, k := range genome.Catalogue() {
		inA, inB := a.Has(k), b.Has(k)
		switch {
		case inA && inB:
			for _, p := range genome.ParamsOf(k) {
				if r.Float64() < 0.5 {
					v, _ := b.Value(p)
					c.SetValue(p, v)
				}
			}
		case inA != inB && r.Float64() < 0.5:
			if inA {
				c.Remove(k)
			} else {
				c.Add(k)
				for _, p := range genome.ParamsOf(k) {
					v, _ := b.Value(p)
					c.SetValue(p, v)
				}
			}
		}
	}
	c.Normalize()
	return c
}

// DefaultGenes are the genes evolution may add when Options.Genes is empty:
// every gene but the fallback, which turns failures into answers and so is
// the user's decision, not the search's.
func DefaultGenes() []genome.GeneKind {
	return slices.DeleteFunc(genome.Catalogue(), func(k genome.GeneKind) bool { return k == genome.GeneFallback })
}

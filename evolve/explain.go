package evolve

import (
	"context"
	"fmt"
	"math"
	"strings"

	"github.com/rafaelabs/rafael/genome"
)

// GeneCost is what removing one gene of the champion costs, threat by
// threat, on the search's own trials: why the gene is there.
//
// For a gene in its adaptive form (a retry budget, an adaptive limit, a
// hedge at a quantile) a second GeneCost, with Adaptive set, says what its
// static form would cost instead: why the adaptive one won.
type GeneCost struct {
	Gene     genome.GeneKind
	Adaptive string // "": the cost of removing the gene; else the adaptive form ("limit aimd") the static form is measured against
	Threats  []ThreatCost
}

// ThreatCost is one threat's trials with and without a gene.
type ThreatCost struct {
	Threat                  int // its index in Evolution.Faced
	Trials                  int
	Passed, PassedWithout   int     // trials that met the SLO
	Fitness, FitnessWithout float64 // mean fitness of its trials, 0–1
}

// String says it in a line: "db-outage: meets the SLO in 2 of 2 trials
// (0 without), fitness 0.94 (0.61 without)", with names from faced.
func (c GeneCost) String(faced []Facing) string {
	var parts []string
	for _, t := range c.Threats {
		name := fmt.Sprint(t.Threat)
		if t.Threat < len(faced) {
			name = faced[t.Threat].Name
		}
		parts = append(parts, fmt.Sprintf("%s: meets the SLO in %d of %d trials (%d without), fitness %.2f (%.2f without)",
			name, t.Passed, t.Trials, t.PassedWithout, t.Fitness, t.FitnessWithout))
	}
	if c.Adaptive != "" {
		return "static " + c.Gene.String() + " instead of " + c.Adaptive + " (\"without\"): " + strings.Join(parts, "; ")
	}
	return "without " + c.Gene.String() + ": " + strings.Join(parts, "; ")
}

// staticForm returns g with gene k in its static form, and the adaptive
// form it had ("limit aimd", "budget 0.2"); "" when k has none or is
// static already.
func staticForm(g *genome.Genome, k genome.GeneKind) (*genome.Genome, string) {
	sw, ok := genome.AdaptiveSwitch(k)
	if !ok {
		return nil, ""
	}
	v, has := g.Value(sw)
	if !has || v == 0 {
		return nil, ""
	}
	w := g.Clone()
	w.SetValue(sw, 0)
	w.Normalize()
	return w, sw.Name + " " + sw.Format(v)
}

// simplified is what explain made of a champion.
type simplified struct {
	g       *genome.Genome
	score   *score
	removed []genome.GeneKind
	static  []string // "bulkhead (limit aimd)": made static, as the adaptive form gained nothing
	rounded []string // "retry.baseDelay 1.15s → 1s"
	costs   []GeneCost
}

// explain simplifies champion on p's trials — each gene whose removal the
// champion does not beat (it meets the SLO in no more trials, and its
// fitness gain is within the noise, as the search decides adoption) is
// removed, in the catalogue's order; then each gene in an adaptive form
// its static form does as well as is made static; then each parameter is set to the
// roundest value (see roundings) the simplified champion does not beat in
// the same way — and returns the simplified genome, what was removed, made
// static and rounded, and what removing each remaining gene (and making an
// adaptive one static) would cost.
func explain(ctx context.Context, p Problem, o Options, champion *genome.Genome) (simplified, error) {
	s := newSearch(p, o.withDefaults())
	cur, err := s.eval(ctx, champion)
	if err != nil {
		return simplified{}, err
	}
	without := func(g *genome.Genome, k genome.GeneKind) *genome.Genome {
		w := g.Clone()
		w.Remove(k)
		w.Normalize()
		return w
	}
	var removed []genome.GeneKind
	for _, k := range champion.Genes() {
		if ctx.Err() != nil {
			break
		}
		w := without(cur.g, k)
		if s.o.Feasible != nil && s.o.Feasible(w) != nil {
			continue // the rules need this gene
		}
		sc, err := s.eval(ctx, w)
		if err != nil {
			return simplified{}, err
		}
		if adopted, _ := s.better(cur, sc); !adopted && sc.passes >= cur.passes {
			cur, removed = sc, append(removed, k)
		}
	}
	var static []string
	for _, k := range cur.g.Genes() {
		w, form := staticForm(cur.g, k)
		if w == nil || ctx.Err() != nil || s.o.Feasible != nil && s.o.Feasible(w) != nil {
			continue
		}
		sc, err := s.eval(ctx, w)
		if err != nil {
			return simplified{}, err
		}
		if adopted, _ := s.better(cur, sc); !adopted && sc.passes >= cur.passes {
			cur, static = sc, append(static, k.String()+" ("+form+")")
		}
	}
	cur, rounded, err := round(ctx, s, cur)
	if err != nil {
		return simplified{}, err
	}
	var costs []GeneCost
	for _, k := range cur.g.Genes() {
		alts := []GeneCost{{Gene: k}}
		if _, form := staticForm(cur.g, k); form != "" {
			alts = append(alts, GeneCost{Gene: k, Adaptive: form})
		}
		for _, c := range alts {
			if ctx.Err() != nil {
				break
			}
			alt := without(cur.g, k)
			if c.Adaptive != "" {
				alt, _ = staticForm(cur.g, k)
			}
			c, err := cost(ctx, s, p, cur, alt, c)
			if err != nil {
				return simplified{}, err
			}
			costs = append(costs, c)
		}
	}
	return simplified{cur.g, cur, removed, static, rounded, costs}, nil
}

// cost fills c with what alt, in place of cur, does on the search's
// trials, threat by threat; the rules are not asked: it is what a gene or
// its form is worth, whether or not the rules allow going without.
func cost(ctx context.Context, s *search, p Problem, cur *score, alt *genome.Genome, c GeneCost) (GeneCost, error) {
	o := s.o
	s.o.Feasible = nil
	sc, err := s.eval(ctx, alt)
	s.o = o
	if err != nil {
		return c, err
	}
	for t := range p.Weights {
		tc := ThreatCost{Threat: t}
		for i, cell := range s.cells {
			if cell.Threat != t {
				continue
			}
			tc.Trials++
			if cur.short[i] == 0 {
				tc.Passed++
			}
			if sc.short[i] == 0 {
				tc.PassedWithout++
			}
			tc.Fitness += cur.cells[i]
			tc.FitnessWithout += sc.cells[i]
		}
		if tc.Trials > 0 {
			tc.Fitness /= float64(tc.Trials)
			tc.FitnessWithout /= float64(tc.Trials)
		}
		c.Threats = append(c.Threats, tc)
	}
	return c, nil
}

// round sets each parameter of cur's genome to the first of its roundings
// that cur does not beat — meeting the SLO in as many trials, the fitness
// within the noise — each measured against cur as it was before any
// rounding, so that the losses within the noise do not add up.
func round(ctx context.Context, s *search, cur *score) (*score, []string, error) {
	ref := cur
	var rounded []string
	for _, prm := range genome.Params() {
		v, ok := cur.g.Value(prm)
		if !ok {
			continue
		}
		for _, r := range roundings(prm, v) {
			if ctx.Err() != nil {
				return cur, rounded, nil
			}
			w := cur.g.Clone()
			w.SetValue(prm, r)
			w.Normalize()
			if got, _ := w.Value(prm); got != r || s.o.Feasible != nil && s.o.Feasible(w) != nil {
				continue // Normalize moved it (a relation needs the value), or the rules refuse it
			}
			sc, err := s.eval(ctx, w)
			if err != nil {
				return nil, nil, err
			}
			if adopted, _ := s.better(ref, sc); !adopted && sc.passes >= ref.passes {
				rounded = append(rounded, fmt.Sprintf("%s %s → %s", prm.Path(), prm.Format(v), prm.Format(r)))
				cur = sc
				break
			}
		}
	}
	return cur, rounded, nil
}

// roundings are the rounder values of parameter p than v, roundest first:
// zero where zero switches p off (one kind of timeout only), then v to one
// significant digit, then to two (1.15s → 1s, 1.2s; a multiplier 4.92 →
// 5, 4.9). Counts and choices are round already. A jitter is never zeroed:
// what it protects against (retries in step) the trials may not show.
func roundings(p genome.Param, v float64) []float64 {
	if p.Kind != genome.KindDuration && p.Kind != genome.KindFloat || v == 0 {
		return nil
	}
	var out []float64
	if p.ZeroOff {
		out = append(out, 0)
	}
	for digits := 1; digits <= 2; digits++ {
		mag := math.Pow(10, math.Floor(math.Log10(math.Abs(v)))-float64(digits)+1)
		r := math.Round(v/mag) * mag
		if p.Kind == genome.KindDuration {
			r = math.Round(r)
		}
		if r != v && r >= p.Min && r <= p.Max && (len(out) == 0 || out[len(out)-1] != r) {
			out = append(out, r)
		}
	}
	return out
}

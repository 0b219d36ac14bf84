package evolve

import (
	"context"
	"fmt"
	"strings"

	"github.com/rafaelabs/rafael/genome"
)

// GeneCost is what removing one gene of the champion costs, threat by
// threat, on the search's own trials: why the gene is there.
type GeneCost struct {
	Gene    genome.GeneKind
	Threats []ThreatCost
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
	return "without " + c.Gene.String() + ": " + strings.Join(parts, "; ")
}

// explain simplifies champion on p's trials — each gene whose removal the
// champion does not beat (it meets the SLO in no more trials, and its
// fitness gain is within the noise, as the search decides adoption) is
// removed, in the catalogue's order — and returns the simplified genome,
// the genes removed, and what removing each remaining gene would cost.
func explain(ctx context.Context, p Problem, o Options, champion *genome.Genome) (*genome.Genome, *score, []genome.GeneKind, []GeneCost, error) {
	s := newSearch(p, o.withDefaults())
	cur, err := s.eval(ctx, champion)
	if err != nil {
		return nil, nil, nil, nil, err
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
			return nil, nil, nil, nil, err
		}
		if adopted, _ := s.better(cur, sc); !adopted && sc.passes >= cur.passes {
			cur, removed = sc, append(removed, k)
		}
	}
	var costs []GeneCost
	for _, k := range cur.g.Genes() {
		if ctx.Err() != nil {
			break
		}
		o := s.o
		s.o.Feasible = nil // what a gene is worth, whether or not the rules allow going without it
		sc, err := s.eval(ctx, without(cur.g, k))
		s.o = o
		if err != nil {
			return nil, nil, nil, nil, err
		}
		c := GeneCost{Gene: k}
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
		costs = append(costs, c)
	}
	return cur.g, cur, removed, costs, nil
}

package evolve

import (
	"context"
	"math"
	"slices"

	"github.com/rafaelabs/rafael/genome"
	"github.com/rafaelabs/rafael/internal/seed"
	"github.com/rafaelabs/rafael/scenarios"
)

// AdversaryTries is how many threats [Adversary] measures in each part of
// the envelope: the declared threat itself, then draws over the whole
// envelope, then steps around the worst so far.
const AdversaryTries = 24

// Attack is a threat the adversary found within the declared envelope that
// broke a champion of the campaign.
type Attack struct {
	Facing                 // the threat, shrunk: its parameters, its steps' timing
	Broke   *genome.Genome // the champion it broke
	Fitness float64        // that champion's mean fitness under it (before shrinking), 0–1
	Seeds   []uint64       // the trial seeds it was measured with
}

// Adversary searches the envelope of the declared threats for the threat
// that hurts g most: every threat no larger than a declared one — each
// generated parameter at most its declared value, each step starting no
// later and lasting no longer than declared ([scenarios.Threat.Timed],
// [scenarios.Threat.AtMost]) — and, with combine, two declared threats at
// once ([scenarios.Together]). In each part of the envelope it measures
// the declared corner, draws, then steps around the worst so far, on the
// trial seeds seeds, and ranks threats by how far g falls short of the SLO,
// then by g's fitness. If the worst breaks g it is [Shrink]ed to the
// smallest that still falls at least half as far short — not to the edge
// of the SLO, where a threat that breaks the search's stricter objective
// may not break the SLO itself — and returned (origin: the first declared
// threat it came from); if no threat of the envelope breaks g, it returns
// nil: the adversary cannot gain. It is deterministic for s.
func Adversary(ctx context.Context, j Judge, g *genome.Genome, declared []scenarios.Threat, combine bool, seeds []uint64, s uint64) (*Attack, error) {
	type part struct {
		th     scenarios.Threat
		origin int
	}
	var parts []part
	for i, th := range declared {
		parts = append(parts, part{th.Timed().AtMost(), i})
	}
	if combine {
		for i := range declared {
			for k := i + 1; k < len(declared); k++ {
				parts = append(parts, part{scenarios.Together(declared[i].Timed(), declared[k].Timed()).AtMost(), i})
			}
		}
	}
	rnd := seed.New(s)
	// measure runs th on every seed: its damage (the shortfall summed, then
	// one minus the mean fitness), whether it broke g, and on which seed.
	measure := func(th scenarios.Threat, origin int) (damage, fitness float64, broke bool, on uint64, err error) {
		cs := make([]Case, len(seeds))
		for i, sd := range seeds {
			cs[i] = Case{Facing{th, origin}, sd}
		}
		out, err := j(ctx, g, cs)
		if err != nil {
			return 0, 0, false, 0, err
		}
		short := 0.0
		for i, o := range out {
			short += o.Shortfall
			fitness += o.Fitness / float64(len(out))
			if !o.Passed && !broke {
				broke, on = true, seeds[i]
			}
		}
		return short + (1 - fitness), fitness, broke, on, nil
	}
	var (
		worst      *Attack
		worstDmg   = math.Inf(-1)
		worstVals  []float64
		worstPart  part
		worstBroke bool
		worstSeed  uint64
	)
	for _, pt := range parts {
		ps := pt.th.Params()
		if len(ps) == 0 {
			continue
		}
		best, bestDmg := []float64(nil), math.Inf(-1)
		for try := range AdversaryTries {
			if ctx.Err() != nil {
				return nil, nil
			}
			vals := make([]float64, len(ps))
			switch {
			case try == 0: // the declared threat: the envelope's corner
				for i, p := range ps {
					vals[i] = p.Max
				}
			case try < AdversaryTries/3: // anywhere in the envelope
				for i, p := range ps {
					vals[i] = p.Min + rnd.Float64()*(p.Max-p.Min)
				}
			default: // a step around the worst so far
				copy(vals, best)
				for i, p := range ps {
					if rnd.Float64() < 0.5 {
						vals[i] = min(p.Max, max(p.Min, vals[i]+(p.Max-p.Min)*0.25*(2*rnd.Float64()-1)))
					}
				}
			}
			th := pt.th.WithValues(vals)
			dmg, fit, broke, on, err := measure(th, pt.origin)
			if err != nil {
				return nil, err
			}
			if dmg > bestDmg {
				best, bestDmg = th.ParamValues(), dmg
			}
			if dmg > worstDmg {
				worstDmg, worstVals, worstPart, worstBroke, worstSeed = dmg, th.ParamValues(), pt, broke, on
				worst = &Attack{Facing: Facing{th, pt.origin}, Broke: g, Fitness: fit, Seeds: slices.Clone(seeds)}
			}
		}
	}
	if worst == nil || !worstBroke {
		return nil, nil
	}
	ps := worstPart.th.Params()
	out, err := j(ctx, g, []Case{{worst.Facing, worstSeed}})
	if err != nil {
		return nil, err
	}
	floor := out[0].Shortfall / 2
	breaks := func(vals []float64) (bool, error) {
		out, err := j(ctx, g, []Case{{Facing{worstPart.th.WithValues(vals), worstPart.origin}, worstSeed}})
		return err == nil && !out[0].Passed && out[0].Shortfall >= floor, err
	}
	small, err := Shrink(ps, worstVals, breaks)
	if err != nil {
		return nil, err
	}
	worst.Facing = Facing{worstPart.th.WithValues(small), worstPart.origin}
	return worst, nil
}

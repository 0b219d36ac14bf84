package evolve

import (
	"context"
	"slices"

	"github.com/rafaelabs/rafael/genome"
	"github.com/rafaelabs/rafael/internal/seed"
	"github.com/rafaelabs/rafael/scenarios"
)

// ProbeVariants is how many smaller variants of each threat [Probe] tries.
const ProbeVariants = 16

// Probe tries g against variants of each declared threat no larger than
// declared: the smallest one first, then variants drawn from seed s. It
// [Shrink]s the first variant that breaks g toward the smallest that still
// does, and returns at most one such threat per declared threat, leaving out
// threats already faced. It is deterministic for s.
func Probe(ctx context.Context, j Judge, g *genome.Genome, declared []scenarios.Threat, faced []Facing, s uint64) ([]Facing, error) {
	rnd := seed.New(s)
	var found []Facing
	for origin, th := range declared {
		capped := th.AtMost()
		ps := capped.Params()
		if len(ps) == 0 {
			continue
		}
		for v := range ProbeVariants + 1 {
			if ctx.Err() != nil {
				return found, nil
			}
			vals := make([]float64, len(ps))
			ts := rnd.Uint64()
			for i, p := range ps {
				vals[i] = p.Min + rnd.Float64()*(p.Max-p.Min)
				if v == 0 { // the smallest corner first, where rapid starts too
					vals[i] = p.Min
				}
			}
			if v%2 == 0 {
				ts = 0 // rapid draws small seeds first; so does half the probe
			}
			breaks := func(vals []float64) (bool, error) {
				out, err := j(ctx, g, []Case{{Facing{capped.WithValues(vals), origin}, ts}})
				return err == nil && !out[0].Passed, err
			}
			broke, err := breaks(vals)
			if err != nil {
				return nil, err
			}
			if !broke {
				continue
			}
			if vals, err = Shrink(ps, vals, breaks); err != nil {
				return nil, err
			}
			small := capped.WithValues(vals)
			if !slices.ContainsFunc(faced, func(f Facing) bool { return f.String() == small.String() }) {
				found = append(found, Facing{small, origin})
			}
			break
		}
	}
	return found, nil
}

// Shrink is the campaign's one shrinker: given parameter values that
// break a genome, it bisects each parameter in turn between its minimum and
// its breaking value, keeping the smaller value whenever breaks still holds,
// and returns the smallest breaking values it found (to 1 % of each
// parameter's range, at most 8 steps each).
func Shrink(ps []scenarios.Param, vals []float64, breaks func([]float64) (bool, error)) ([]float64, error) {
	vals = slices.Clone(vals)
	for i, p := range ps {
		lo, hi := p.Min, vals[i]
		for step := 0; step < 8 && hi-lo > (p.Max-p.Min)/100; step++ {
			mid := (lo + hi) / 2
			try := slices.Clone(vals)
			try[i] = mid
			broke, err := breaks(try)
			if err != nil {
				return nil, err
			}
			if broke {
				hi, vals = mid, try
			} else {
				lo = mid
			}
		}
	}
	return vals, nil
}

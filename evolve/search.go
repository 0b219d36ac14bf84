package evolve

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"sync"

	"github.com/rafaelabs/rafael/genome"
	"github.com/rafaelabs/rafael/internal/seed"
)

// Outcome is what one trial of one genome under one threat with one seed
// gave: its fitness (0–1), whether it met the SLO, and by how much it
// missed it (0 when it passed; the sum of each objective's relative
// shortfall otherwise), which guides the search toward the SLO before
// fitness counts.
type Outcome struct {
	Fitness   float64
	Passed    bool
	Shortfall float64
}

// Trial names one trial: a threat (by its index in the problem) and a seed.
type Trial struct {
	Threat int
	Seed   uint64
}

// Evaluator runs trials of g and returns one outcome per trial, in order.
// It must be deterministic: the same genome and trials give the same
// outcomes. An error stops the search. A candidate that cannot be run (its
// workload crashed, say) is an outcome of fitness 0, not an error.
type Evaluator func(ctx context.Context, g *genome.Genome, trials []Trial) ([]Outcome, error)

// Problem is what a search climbs: a starting genome, the weights of the
// threats (their severities) and the evaluator that runs trials.
type Problem struct {
	Start    *genome.Genome
	Weights  []float64 // one per threat, > 0
	Evaluate Evaluator
	Seed     uint64 // the run's seed: the whole search derives from it

	// OnGeneration, when set, is told of each generation as it ends, so
	// that a long search can be watched live.
	OnGeneration func(Generation)
}

// Result is the outcome of a search.
type Result struct {
	Champion    *genome.Genome // the incumbent when the search ended
	Fitness     float64        // its fitness over the search's trials, 0–1
	Passed      bool           // it met the SLO in every trial of the search
	History     []Generation
	Evaluations int // trials run
	Stopped     string
}

// Generation is one generation of a search.
type Generation struct {
	Index       int
	Best, Mean  float64 // the best and mean fitness of the population
	BestGenome  string  // digest of the generation's best
	Adopted     bool    // the best replaced the incumbent
	Reason      string  // why it did or did not
	Evaluations int     // trials run in this generation
	Raced       int     // candidates whose further seeds were skipped: they had already lost (see [Options].EveryTrial)
}

// score is a genome's trials over the search's fixed (threat, seed) pairs.
type score struct {
	g          *genome.Genome
	cells      []float64 // fitness per (threat, seed), threat-major
	short      []float64 // shortfall per (threat, seed)
	passes     int       // trials that met the SLO
	passed     bool      // every trial met it
	fitness    float64   // severity-weighted mean fitness
	shortfall  float64   // severity-weighted mean shortfall
	raced      bool      // some trials did not run: it had already lost to the incumbent
	infeasible bool      // Options.Feasible refused it: no trial ran
}

// ahead orders candidates as a constrained search does: more trials meeting
// the SLO first, then a smaller shortfall from it, then fitness.
func (a *score) ahead(b *score) bool {
	switch {
	case a.passes != b.passes:
		return a.passes > b.passes
	case a.shortfall != b.shortfall:
		return a.shortfall < b.shortfall
	}
	return a.fitness > b.fitness
}

// Search evolves p.Start with o and returns the champion. It evaluates every
// candidate on the same trials (each threat with o.Seeds seeds derived from
// p.Seed), so that candidates are compared pair by pair; a candidate replaces
// the incumbent only when it beats it by more than the trials' noise (see
// [Options]). It stops after o.Generations, when the incumbent has met the
// SLO in every trial and nothing better was adopted for o.Patience
// generations, or when ctx is done (keeping what it found). The same
// problem, options and seed give the same history and champion.
func Search(ctx context.Context, p Problem, o Options) (*Result, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	if p.Start == nil || p.Evaluate == nil || len(p.Weights) == 0 {
		return nil, errors.New("evolve: Problem needs Start, Evaluate and one weight per threat")
	}
	o = o.withDefaults()
	s := newSearch(p, o)
	start := p.Start.Clone()
	start.Normalize()
	inc, err := s.eval(ctx, start)
	if err != nil {
		return nil, err
	}
	s.inc = inc
	res := &Result{}
	pop := []*genome.Genome{start}
	for tries := 0; len(pop) < o.Population; tries++ {
		// The first generation spreads out: genes are added or removed
		// half the time, so the search sees more than small moves.
		c := mutate(start, s.r, o.MutationRate, o.Scale, max(o.GeneRate, 0.5), o.Genes)
		if c.Digest() != start.Digest() || tries > 10*o.Population {
			pop = append(pop, c)
		}
	}
	quiet := 0
	for gen := range o.Generations {
		if ctx.Err() != nil {
			res.Stopped = "the time budget ran out"
			break
		}
		before := s.evaluations
		scored, err := s.evalAll(ctx, pop)
		if err != nil {
			return nil, err
		}
		sort.SliceStable(scored, func(i, j int) bool { return scored[i].ahead(scored[j]) })
		best := scored[0]
		h := Generation{Index: gen, Best: best.fitness, BestGenome: best.g.Digest()}
		for _, sc := range scored {
			h.Mean += sc.fitness / float64(len(scored))
		}
		for _, sc := range scored {
			if sc.raced {
				h.Raced++
			}
		}
		h.Adopted, h.Reason = s.better(best, inc)
		if h.Adopted {
			inc = best
			s.inc = inc
			quiet = 0
		} else {
			quiet++
		}
		h.Evaluations = s.evaluations - before
		res.History = append(res.History, h)
		if s.p.OnGeneration != nil {
			s.p.OnGeneration(h)
		}
		if inc.passed && quiet >= o.Patience {
			res.Stopped = fmt.Sprintf("the incumbent met the SLO in every trial and nothing better was found for %d generations", o.Patience)
			break
		}
		// A plateau widens the steps: each generation without adoption
		// doubles them, up to 8×, until something better is found.
		s.scale = s.o.Scale * float64(int(1)<<min(quiet, 3))
		s.stalled = quiet
		pop = s.next(scored, inc)
	}
	if res.Stopped == "" && len(res.History) == o.Generations {
		res.Stopped = fmt.Sprintf("%d generations ran", o.Generations)
	}
	res.Champion, res.Fitness, res.Passed, res.Evaluations = inc.g, inc.fitness, inc.passed, s.evaluations
	return res, nil
}

// newSearch is the search of p with o (defaults applied): its trials, each
// threat with o.Seeds seeds derived from p.Seed.
func newSearch(p Problem, o Options) *search {
	s := &search{p: p, o: o, memo: map[string]*score{}, r: seed.New(seed.Mix(p.Seed, 0xE7))}
	for t := range p.Weights {
		for j := range o.Seeds {
			s.cells = append(s.cells, Trial{t, seed.Mix(p.Seed, 0x5EED, uint64(t), uint64(j))})
		}
	}
	return s
}

type search struct {
	p           Problem
	o           Options
	cells       []Trial
	memo        map[string]*score // by digest
	inc         *score            // the incumbent; nil while the start is scored
	r           *seed.Rand
	scale       float64 // the mutation step now
	stalled     int     // generations since the last adoption
	evaluations int
}

// eval runs g's trials, once per distinct genome.
func (s *search) eval(ctx context.Context, g *genome.Genome) (*score, error) {
	scored, err := s.evalAll(ctx, []*genome.Genome{g})
	if err != nil {
		return nil, err
	}
	return scored[0], nil
}

// evalAll scores pop, in order: the genomes not scored before are
// evaluated on o.Workers goroutines at once, then scored and remembered in
// pop's order, so the search is the same as one that evaluates them one by
// one.
func (s *search) evalAll(ctx context.Context, pop []*genome.Genome) ([]*score, error) {
	var todo []*genome.Genome
	seen := map[string]bool{}
	for _, g := range pop {
		if d := g.Digest(); s.memo[d] == nil && !seen[d] {
			seen[d] = true
			if s.o.Feasible != nil && s.o.Feasible(g) != nil {
				s.memo[d] = s.infeasible(g)
				continue
			}
			todo = append(todo, g)
		}
	}
	outs := make([][]*Outcome, len(todo))
	errs := make([]error, len(todo))
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(s.o.Workers, len(todo)) {
		wg.Go(func() {
			for i := range next {
				outs[i], errs[i] = s.race(ctx, todo[i])
			}
		})
	}
	for i := range todo {
		next <- i
	}
	close(next)
	wg.Wait()
	for i, g := range todo {
		sc, err := s.score(g, outs[i], errs[i])
		if err != nil {
			return nil, err
		}
		s.memo[g.Digest()] = sc
	}
	scored := make([]*score, len(pop))
	for i, g := range pop {
		scored[i] = s.memo[g.Digest()]
	}
	return scored, nil
}

// infeasible is the score of a genome o.Feasible refuses: below every
// feasible one (no trial meets the SLO, passes -1), without a trial run.
func (s *search) infeasible(g *genome.Genome) *score {
	sc := &score{g: g, cells: make([]float64, len(s.cells)), short: make([]float64, len(s.cells)), passes: -1, shortfall: math.Inf(1), infeasible: true}
	for i := range sc.short {
		sc.short[i] = 1
	}
	return sc
}

// race runs g's trials a seed at a time — each threat's first seed, then
// each threat's second… — and stops once g has failed the SLO in more
// trials than the incumbent did in all of its own: it can then meet the SLO
// in fewer trials than the incumbent whatever its other trials give, so it
// cannot be adopted nor rank above the incumbent. The incumbent does not
// change while a generation is evaluated, so the outcome depends only on g
// and the incumbent. It returns one outcome per trial of the search, nil
// for those skipped.
func (s *search) race(ctx context.Context, g *genome.Genome) ([]*Outcome, error) {
	out := make([]*Outcome, len(s.cells))
	stages := [][]int{}
	if s.inc == nil || s.o.EveryTrial {
		all := make([]int, len(s.cells))
		for i := range all {
			all[i] = i
		}
		stages = append(stages, all)
	} else {
		for j := range s.o.Seeds {
			var st []int
			for t := range s.p.Weights {
				st = append(st, t*s.o.Seeds+j)
			}
			stages = append(stages, st)
		}
	}
	failed := 0
	for _, st := range stages {
		if s.inc != nil && failed > len(s.cells)-s.inc.passes {
			break
		}
		trials := make([]Trial, len(st))
		for k, i := range st {
			trials[k] = s.cells[i]
		}
		outs, err := s.p.Evaluate(ctx, g, trials)
		if err != nil {
			return nil, err
		}
		if len(outs) != len(trials) {
			return nil, fmt.Errorf("%d outcomes for %d trials", len(outs), len(trials))
		}
		for k, i := range st {
			out[i] = &outs[k]
			if !outs[k].Passed {
				failed++
			}
		}
	}
	return out, nil
}

// score scores g's outcomes over the search's trials (nil for a trial
// that did not run: its fitness and shortfall are those of the trials that
// did).
func (s *search) score(g *genome.Genome, outs []*Outcome, err error) (*score, error) {
	d := g.Digest()
	sc := &score{g: g, cells: make([]float64, len(s.cells)), short: make([]float64, len(s.cells)), passed: true}
	if err != nil {
		return nil, fmt.Errorf("evolve: evaluate %s: %w", d, err)
	}
	wsum := 0.0
	for i, c := range s.cells {
		if outs[i] == nil {
			sc.raced, sc.passed = true, false
			continue
		}
		s.evaluations++
		sc.cells[i] = outs[i].Fitness
		sc.short[i] = outs[i].Shortfall
		if !outs[i].Passed && sc.short[i] <= 0 {
			sc.short[i] = 1 // a failed trial is never on the SLO
		}
		sc.shortfall += s.p.Weights[c.Threat] * sc.short[i]
		sc.passed = sc.passed && outs[i].Passed
		if outs[i].Passed {
			sc.passes++
		}
		w := s.p.Weights[c.Threat]
		sc.fitness += w * outs[i].Fitness
		wsum += w
	}
	sc.fitness /= wsum
	sc.shortfall /= wsum
	return sc, nil
}

// better decides whether cand replaces inc. Meeting the SLO comes first: a
// candidate that meets it in more of the same trials wins, one that meets it
// in fewer loses. Otherwise it is a paired comparison of fitness over the
// same trials: the mean weighted difference must exceed both o.MinGain and
// z standard errors of the differences.
func (s *search) better(cand, inc *score) (bool, string) {
	if cand.g.Digest() == inc.g.Digest() {
		return false, "the incumbent is still the best"
	}
	switch {
	case cand.passes > inc.passes:
		return true, fmt.Sprintf("meets the SLO in %d of %d trials, the incumbent in %d", cand.passes, len(s.cells), inc.passes)
	case cand.passes < inc.passes:
		return false, fmt.Sprintf("meets the SLO in fewer trials than the incumbent (%d < %d)", cand.passes, inc.passes)
	}
	if !inc.passed {
		// Neither meets the SLO everywhere: closer to it is better.
		gain, noise := s.paired(inc.short, cand.short)
		if gain > s.o.MinGain && gain > noise {
			return true, fmt.Sprintf("closer to the SLO: shortfall %.4f → %.4f (gain %.4f beats the noise ±%.4f)", inc.shortfall, cand.shortfall, gain, noise)
		}
		if gain < -s.o.MinGain || cand.shortfall > inc.shortfall {
			return false, fmt.Sprintf("no closer to the SLO (shortfall %.4f vs %.4f)", cand.shortfall, inc.shortfall)
		}
	}
	gain, noise := s.paired(cand.cells, inc.cells)
	switch {
	case gain > s.o.MinGain && gain > noise:
		return true, fmt.Sprintf("fitness %+.4f beats the noise (±%.4f over %d paired trials)", gain, noise, len(s.cells))
	case gain <= 0:
		return false, fmt.Sprintf("no better than the incumbent (fitness %+.4f)", gain)
	}
	return false, fmt.Sprintf("fitness %+.4f is within the noise (±%.4f, at least %.4f needed)", gain, noise, max(noise, s.o.MinGain))
}

// paired returns the severity-weighted mean of a[i]−b[i] over the trials and
// the noise bound: z standard errors of those differences.
func (s *search) paired(a, b []float64) (mean, noise float64) {
	n := float64(len(s.cells))
	wmean := 0.0
	for _, w := range s.p.Weights {
		wmean += w
	}
	wmean /= float64(len(s.p.Weights))
	diffs := make([]float64, len(s.cells))
	for i, c := range s.cells {
		diffs[i] = (a[i] - b[i]) * s.p.Weights[c.Threat] / wmean
		mean += diffs[i] / n
	}
	sd := 0.0
	for _, d := range diffs {
		sd += (d - mean) * (d - mean)
	}
	if n > 1 {
		sd = math.Sqrt(sd / (n - 1))
	}
	return mean, s.o.Z * sd / math.Sqrt(n)
}

// next breeds the next population: the incumbent and the elite carry over,
// the rest are children of tournament-selected parents, crossed over half
// the time, then mutated.
func (s *search) next(scored []*score, inc *score) []*genome.Genome {
	pop := []*genome.Genome{inc.g}
	seen := map[string]bool{inc.g.Digest(): true}
	for _, sc := range scored {
		if len(pop) >= 1+s.o.Elite {
			break
		}
		if d := sc.g.Digest(); !seen[d] {
			seen[d] = true
			pop = append(pop, sc.g)
		}
	}
	// Immigrants keep the population diverse: one genome a generation
	// (two on a plateau) is the incumbent with every parameter redrawn
	// over its whole range.
	for i := 0; i < 1+min(1, s.stalled) && len(pop) < s.o.Population-1; i++ {
		pop = append(pop, immigrant(inc.g, s.r))
	}
	for tries := 0; len(pop) < s.o.Population; tries++ {
		a := s.tournament(scored)
		child := a.g
		if s.r.Float64() < s.o.CrossoverRate {
			child = crossover(a.g, s.tournament(scored).g, s.r)
		}
		child = mutate(child, s.r, s.o.MutationRate, s.scale, s.o.GeneRate, s.o.Genes)
		if d := child.Digest(); (!seen[d] && s.memo[d] == nil) || tries > 10*s.o.Population {
			seen[d] = true
			pop = append(pop, child)
		}
	}
	return pop
}

// tournament returns the fittest of o.Tournament members drawn at random.
func (s *search) tournament(scored []*score) *score {
	best := scored[s.r.IntN(len(scored))]
	for range s.o.Tournament - 1 {
		if c := scored[s.r.IntN(len(scored))]; c.ahead(best) {
			best = c
		}
	}
	return best
}

package evolve

import (
	"context"
	"errors"
	"math"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rafaelabs/rafael/faults"
	"github.com/rafaelabs/rafael/genome"
	"github.com/rafaelabs/rafael/internal/seed"
	"github.com/rafaelabs/rafael/scenarios"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"
)

// each adapts a per-trial function to an Evaluator.
func each(f func(ctx context.Context, g *genome.Genome, threat int, s uint64) (Outcome, error)) Evaluator {
	return func(ctx context.Context, g *genome.Genome, trials []Trial) ([]Outcome, error) {
		out := make([]Outcome, len(trials))
		for i, tr := range trials {
			o, err := f(ctx, g, tr.Threat, tr.Seed)
			if err != nil {
				return nil, err
			}
			out[i] = o
		}
		return out, nil
	}
}

// bowl is a synthetic problem: fitness peaks at 6 attempts and a 200ms base
// delay with a breaker, plus seeded noise of sd noise per trial. It passes
// the "SLO" above 0.9.
func bowl(noise float64) Evaluator { return each(bowlAt(noise)) }

func bowlAt(noise float64) func(context.Context, *genome.Genome, int, uint64) (Outcome, error) {
	return func(_ context.Context, g *genome.Genome, threat int, s uint64) (Outcome, error) {
		f := 0.2
		if g.Retry != nil {
			da := float64(g.Retry.MaxAttempts-6) / 6
			dd := math.Log(float64(g.Retry.BaseDelay) / float64(200*time.Millisecond))
			f = 1 - 0.3*da*da - 0.1*dd*dd
		}
		if g.CircuitBreaker == nil {
			f -= 0.15
		}
		f += noise * seed.New(seed.Mix(s, seed.String(g.Digest()))).Norm()
		f = max(0, min(1, f))
		return Outcome{Fitness: f, Passed: f > 0.9}, nil
	}
}

func start() *genome.Genome {
	return &genome.Genome{Module: "m", Retry: &genome.Retry{MaxAttempts: 1, BaseDelay: 10 * time.Millisecond, MaxDelay: time.Second, Multiplier: 2}}
}

func TestSearchClimbsAndIsDeterministic(t *testing.T) {
	p := Problem{Start: start(), Weights: []float64{2, 1}, Evaluate: bowl(0.01), Seed: 42}
	a, err := Search(context.Background(), p, Options{})
	require.NoError(t, err)
	b, err := Search(context.Background(), p, Options{})
	require.NoError(t, err)
	assert.Equal(t, a.History, b.History, "same seed, same history")
	assert.Equal(t, a.Champion.Digest(), b.Champion.Digest(), "same seed, same champion")
	p.Seed = 43
	c, err := Search(context.Background(), p, Options{})
	require.NoError(t, err)
	assert.NotEqual(t, a.History, c.History, "another seed, another search")

	first := a.History[0]
	assert.Greater(t, a.Fitness, 0.9, "the search reaches the passing region")
	assert.True(t, a.Passed)
	assert.True(t, a.Champion.Has(genome.GeneCircuitBreaker), "it added the breaker the fitness rewards")
	assert.GreaterOrEqual(t, a.Fitness, first.Best)
	assert.Equal(t, "m", a.Champion.Module)
	assert.NoError(t, a.Champion.Validate())
	adopted := 0
	for _, h := range a.History {
		assert.NotEmpty(t, h.Reason)
		if h.Adopted {
			adopted++
		}
	}
	assert.Positive(t, adopted)
	t.Logf("fitness %.3f after %d generations, %d trials: %s", a.Fitness, len(a.History), a.Evaluations, a.Stopped)
}

func TestAdoptionNeedsMoreThanNoise(t *testing.T) {
	// Pure noise: every genome has the same expected fitness. Nothing should
	// be adopted on luck.
	flat := func(_ context.Context, g *genome.Genome, _ int, s uint64) (Outcome, error) {
		return Outcome{Fitness: 0.5 + 0.05*seed.New(seed.Mix(s, seed.String(g.Digest()))).Norm()}, nil
	}
	res, err := Search(context.Background(), Problem{Start: start(), Weights: []float64{1}, Evaluate: each(flat), Seed: 1}, Options{Seeds: 8, Generations: 10})
	require.NoError(t, err)
	adopted := 0
	for _, h := range res.History {
		if h.Adopted {
			adopted++
		}
	}
	assert.LessOrEqual(t, adopted, 1, "at most a rare false adoption over 10 generations of pure noise: %+v", res.History)
}

func TestSearchStopsEarlyAndOnContext(t *testing.T) {
	always := func(context.Context, *genome.Genome, int, uint64) (Outcome, error) {
		return Outcome{Fitness: 1, Passed: true}, nil
	}
	res, err := Search(context.Background(), Problem{Start: start(), Weights: []float64{1}, Evaluate: each(always), Seed: 1}, Options{Patience: 2})
	require.NoError(t, err)
	assert.Len(t, res.History, 2, "met the SLO and nothing better for 2 generations")
	assert.Contains(t, res.Stopped, "met the SLO")

	ctx, cancel := context.WithCancel(context.Background())
	var n atomic.Int64 // candidates are evaluated in parallel
	stopper := func(_ context.Context, g *genome.Genome, th int, s uint64) (Outcome, error) {
		if n.Add(1) == 50 {
			cancel()
		}
		return bowlAt(0)(ctx, g, th, s)
	}
	res, err = Search(ctx, Problem{Start: start(), Weights: []float64{1}, Evaluate: each(stopper), Seed: 1}, Options{})
	require.NoError(t, err)
	assert.Equal(t, "the time budget ran out", res.Stopped)
	assert.Less(t, len(res.History), 20)
	assert.NotNil(t, res.Champion)
}

func TestOptionsAndProblemAreChecked(t *testing.T) {
	err := Options{Population: 1, Generations: -1, Scale: -1, Isolation: 9}.Validate()
	for _, want := range []string{"Population = 1", "Generations = -1", "Scale = -1", "Isolation"} {
		assert.ErrorContains(t, err, want)
	}
	_, err = Search(context.Background(), Problem{}, Options{})
	assert.ErrorContains(t, err, "Problem needs Start")
	assert.NoError(t, Subprocess.Available())
	assert.Equal(t, Sandbox, Container, "a container is what the sandbox gives")
	assert.Equal(t, "sandbox", Container.String())
	if err := Sandbox.Available(); err != nil { // where the kernel cannot give one, it says why and what to use
		assert.ErrorIs(t, err, ErrIsolationUnavailable)
		assert.ErrorContains(t, err, "use evolve.Subprocess")
	}
	assert.ErrorIs(t, VM.Available(), ErrIsolationUnavailable)
	assert.ErrorContains(t, VM.Available(), "faults/chaosmesh")
	_, err = Evolve(context.Background(), Campaign{Start: &genome.Genome{}, Threats: []scenarios.Threat{scenarios.Latency(faults.NewHook("db", 1), time.Second)}, Judge: func(context.Context, *genome.Genome, []Case) ([]Outcome, error) { return nil, nil }}, Options{Isolation: Sandbox})
	if Sandbox.Available() == nil {
		assert.ErrorContains(t, err, "sandbox isolation needs Campaign.Spawn")
	}
}

func genomeGen() *rapid.Generator[*genome.Genome] {
	return rapid.Custom(func(rt *rapid.T) *genome.Genome {
		g := &genome.Genome{Module: "m"}
		for _, k := range genome.Catalogue() {
			if rapid.Bool().Draw(rt, "has "+k.String()) {
				g.Add(k)
			}
		}
		for _, p := range genome.Params() {
			if g.Has(p.Gene) {
				g.SetValue(p, rapid.Float64Range(p.Min, p.Max).Draw(rt, p.Path()))
			}
		}
		g.Normalize()
		return g
	})
}

func TestPropOperatorsKeepGenomesValid(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		a, b := genomeGen().Draw(rt, "a"), genomeGen().Draw(rt, "b")
		r := seed.New(rapid.Uint64().Draw(rt, "seed"))
		for _, c := range []*genome.Genome{
			mutate(a, r, 0.3, 0.2, 0.5, DefaultGenes()),
			mutate(a, r, 1, 10, 1, genome.Catalogue()),
			crossover(a, b, r),
		} {
			require.NoError(rt, c.Validate())
			_, err := genome.Compile(c)
			require.NoError(rt, err)
			assert.Equal(rt, "m", c.Module)
		}
	})
}

func TestMutationIsBoundedAndScaleAware(t *testing.T) {
	r := seed.New(3)
	g := &genome.Genome{Module: "m", Retry: &genome.Retry{MaxAttempts: 5, BaseDelay: time.Second, MaxDelay: 10 * time.Second, Multiplier: 2}}
	far := 0
	for range 2000 {
		c := mutate(g, r, 1, 0.2, 0, nil)
		ratio := float64(c.Retry.BaseDelay) / float64(time.Second)
		if ratio < 0.8-1e-9 || ratio > 1.2+1e-9 {
			far++ // a log-uniform jump, one move in ten
		}
	}
	assert.InDelta(t, 0.1, float64(far)/2000, 0.03, "nine moves in ten stay within ±20 %%")
}

func TestMutatedValuesAreTidy(t *testing.T) {
	r := seed.New(9)
	g := &genome.Genome{Module: "m", Retry: &genome.Retry{MaxAttempts: 5, BaseDelay: time.Second, MaxDelay: 10 * time.Second, Multiplier: 2, Jitter: 0.1}}
	for range 500 {
		c := mutate(g, r, 1, 0.2, 0, nil)
		for _, v := range []float64{float64(c.Retry.BaseDelay), c.Retry.Multiplier, c.Retry.Jitter} {
			if v == 0 {
				continue
			}
			unit := math.Pow(10, math.Floor(math.Log10(v))-2)
			assert.InDelta(t, 0, math.Remainder(v, unit), unit*1e-6, "%v has at most three significant digits", v)
		}
		g = c
	}
}

// Candidates evaluated on several workers give the same search as one at a
// time: the same history, champion and number of trials.
func TestParallelEvaluationIsTheSameSearch(t *testing.T) {
	var busy, most atomic.Int64
	tracked := func(ctx context.Context, g *genome.Genome, th int, s uint64) (Outcome, error) {
		n := busy.Add(1)
		for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
		}
		defer busy.Add(-1)
		time.Sleep(time.Millisecond) // long enough for the workers to overlap
		return bowlAt(0.05)(ctx, g, th, s)
	}
	search := func(workers int) *Result {
		res, err := Search(context.Background(), Problem{Start: start(), Weights: []float64{1, 2}, Evaluate: each(tracked), Seed: 7},
			Options{Generations: 8, Workers: workers})
		require.NoError(t, err)
		return res
	}
	one := search(1)
	require.EqualValues(t, 1, most.Load())
	most.Store(0)
	four := search(4)
	assert.Greater(t, most.Load(), int64(1), "candidates were evaluated at the same time")
	assert.Equal(t, one.History, four.History)
	assert.Equal(t, one.Champion.Digest(), four.Champion.Digest())
	assert.Equal(t, one.Evaluations, four.Evaluations)
}

// Racing runs a candidate's trials a seed at a time and skips the rest
// once it has failed in more trials than the incumbent did in all: not
// before, and never for the starting genome.
func TestRaceStopsOnlyOnceTheCandidateHasLost(t *testing.T) {
	var calls [][]Trial
	failing := map[Trial]bool{}
	eval := func(_ context.Context, _ *genome.Genome, trials []Trial) ([]Outcome, error) {
		calls = append(calls, trials)
		out := make([]Outcome, len(trials))
		for i, tr := range trials {
			out[i] = Outcome{Fitness: 0.5, Passed: !failing[tr]}
		}
		return out, nil
	}
	s := &search{p: Problem{Weights: []float64{1, 1}, Evaluate: eval}, o: Options{Seeds: 3}.withDefaults()}
	for th := range 2 {
		for j := range 3 {
			s.cells = append(s.cells, Trial{th, uint64(10*th + j)})
		}
	}
	run := func() (outs []*Outcome, stages int) {
		calls = nil
		outs, err := s.race(context.Background(), start())
		require.NoError(t, err)
		return outs, len(calls)
	}
	ran := func(outs []*Outcome) (n int) {
		for _, o := range outs {
			if o != nil {
				n++
			}
		}
		return n
	}

	failing[s.cells[0]] = true // threat 0, first seed
	outs, stages := run()
	assert.Equal(t, 1, stages, "the starting genome runs every trial at once")
	assert.Equal(t, 6, ran(outs))

	s.inc = &score{passes: 6} // an incumbent that met the SLO everywhere
	outs, stages = run()
	assert.Equal(t, 1, stages, "one failure is one more than the incumbent's: the other seeds are skipped")
	assert.Equal(t, 2, ran(outs), "each threat's first seed ran")
	assert.Equal(t, []Trial{s.cells[0], s.cells[3]}, calls[0], "the first stage is each threat's first seed")

	s.inc = &score{passes: 5} // it failed once
	outs, stages = run()
	assert.Equal(t, 3, stages, "one failure can still tie: every seed runs, a seed at a time")
	assert.Equal(t, 6, ran(outs))

	failing[s.cells[4]] = true // threat 1, second seed
	outs, stages = run()
	assert.Equal(t, 2, stages, "two failures lose to one")
	assert.Equal(t, 4, ran(outs))

	s.o.EveryTrial = true
	outs, stages = run()
	assert.Equal(t, 1, stages, "EveryTrial runs them all at once")
	assert.Equal(t, 6, ran(outs))
}

// A raced search runs fewer trials than one that runs them all, says which
// candidates it cut short, and still climbs.
func TestRacingSearchRunsFewerTrials(t *testing.T) {
	// A seed on which the search reaches the passing region in its 12
	// generations (about three in four do).
	p := Problem{Start: start(), Weights: []float64{2, 1, 1}, Evaluate: bowl(0.03), Seed: 2}
	o := Options{Seeds: 3, Generations: 12, Patience: 1000}
	raced, err := Search(context.Background(), p, o)
	require.NoError(t, err)
	o.EveryTrial = true
	every, err := Search(context.Background(), p, o)
	require.NoError(t, err)

	cut, sum := 0, 0
	for _, h := range raced.History {
		cut += h.Raced
		sum += h.Evaluations
	}
	assert.Positive(t, cut, "some candidates lost early")
	assert.Equal(t, raced.Evaluations, sum+9, "the generations' trials and the start's")
	assert.Less(t, raced.Evaluations, every.Evaluations, "racing runs fewer trials")
	for _, h := range every.History {
		assert.Zero(t, h.Raced)
	}
	assert.True(t, raced.Passed)
	assert.Greater(t, raced.Fitness, 0.9, "it still climbs")
}

// An infeasible candidate is never evaluated nor adopted: the bowl peaks at
// 6 attempts, the rule allows 3.
func TestSearchNeverAdoptsAnInfeasibleCandidate(t *testing.T) {
	var evaluatedInfeasible atomic.Int64
	rule := func(g *genome.Genome) error {
		if g.Retry != nil && g.Retry.MaxAttempts > 3 {
			return errors.New("max-attempts: above 3")
		}
		return nil
	}
	inner := bowl(0.01)
	eval := func(ctx context.Context, g *genome.Genome, trials []Trial) ([]Outcome, error) {
		if rule(g) != nil {
			evaluatedInfeasible.Add(1)
		}
		return inner(ctx, g, trials)
	}
	p := Problem{Start: start(), Weights: []float64{1}, Evaluate: eval, Seed: 5}
	res, err := Search(context.Background(), p, Options{Generations: 10, Feasible: rule})
	require.NoError(t, err)
	require.NotNil(t, res.Champion.Retry)
	assert.LessOrEqual(t, res.Champion.Retry.MaxAttempts, 3)
	assert.Zero(t, evaluatedInfeasible.Load(), "no trial of an infeasible candidate ran")

	free, err := Search(context.Background(), p, Options{Generations: 20, Patience: 1000})
	require.NoError(t, err)
	assert.Greater(t, free.Champion.Retry.MaxAttempts, 3, "without the rule the search goes past it")
}

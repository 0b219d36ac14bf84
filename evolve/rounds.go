package evolve

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/rafaelabs/rafael/genome"
	"github.com/rafaelabs/rafael/internal/seed"
	"github.com/rafaelabs/rafael/scenarios"
)

// Facing is a threat a campaign's search runs: a declared one (Origin is
// its index), or a smaller variant of declared threat Origin that broke an
// earlier champion.
type Facing struct {
	scenarios.Threat
	Origin int
}

// Case is one trial a [Judge] runs: a threat and a seed.
type Case struct {
	Threat Facing
	Seed   uint64
}

// Judge runs the cases' trials of g and returns one outcome per case, in
// order. Like an [Evaluator] it must be deterministic, and a candidate that
// cannot run is an outcome with a shortfall, not an error.
type Judge func(ctx context.Context, g *genome.Genome, cases []Case) ([]Outcome, error)

// Campaign is what [Evolve] evolves: a starting genome against declared
// threats, judged in this process (Judge) or, with [Subprocess] isolation,
// in a fresh process per candidate (Spawn).
type Campaign struct {
	Start   *genome.Genome
	Threats []scenarios.Threat // the declared threats, at least one
	Seed    uint64             // the run's seed: the whole campaign derives from it
	Judge   Judge              // runs trials in this process; required
	Spawn   Judge              // runs a candidate's trials in a fresh process; required for Subprocess and Sandbox isolation

	// Probe, when set, probes each round's champion with smaller variants
	// of the declared threats (see [Probe]) and runs another round against
	// what broke it, at most two more. Leave it unset where a trial takes
	// real seconds.
	Probe bool

	// Progress, when set, is told of every generation as it ends, numbered
	// across rounds, and of every threat the probe found.
	Progress func(Event)
}

// Event is a campaign's progress: a generation that ended, a smaller
// threat that broke the champion, or a threat the adversary found.
type Event struct {
	Generation *Generation // numbered across rounds
	Found      *Facing
	Attack     *Attack
}

// Evolution is what a campaign found.
type Evolution struct {
	*Result              // the last round's search: its champion, fitness and reason to stop
	History []Generation // every round's generations, numbered across rounds
	Faced   []Facing     // the threats the last round faced: the declared ones, then what the probe and the adversary found
	Rounds  int

	// Attacks are the threats the adversary found (Options.Adversarial),
	// in order: each broke the champion of its round, and the next round
	// faced it. Holds reports whether the champion survives the last one;
	// Settled why the adversarial rounds ended.
	Attacks []Attack
	Holds   bool
	Settled string

	// Removed are the genes the search's champion had that cost nothing:
	// without each, the champion met the SLO in as many of the last
	// round's trials, its fitness within the noise. Champion is without
	// them.
	Removed []genome.GeneKind
	// Static are the genes the search's champion had in an adaptive form
	// that its static form did as well as, made static: "bulkhead (limit
	// aimd)". An adaptive gene that stays is there because its static form
	// costs (see Costs).
	Static []string
	// Rounded are the champion's parameters set to a rounder value that
	// costs nothing in the same way — "retry.baseDelay 1.15s → 1s" — each
	// measured against the champion before any rounding. Champion has them.
	Rounded []string
	// Costs say, gene by gene, what removing it from Champion costs on the
	// last round's trials: why each gene is there.
	Costs []GeneCost
}

// Evolve runs a campaign: a search over the declared threats; then, with
// Probe, a probe of its champion with smaller variants of them and, if one
// broke it, another search that also faces it (at most two more rounds,
// each with half the generations); then, unless o.SkipAblation, the
// champion is simplified and explained on the last round's trials
// (Evolution.Removed, Evolution.Costs). The same campaign, options and seed
// give the same evolution.
func Evolve(ctx context.Context, c Campaign, o Options) (*Evolution, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	if c.Start == nil || c.Judge == nil || len(c.Threats) == 0 {
		return nil, errors.New("evolve: Campaign needs Start, Threats and Judge")
	}
	judge := c.Judge
	switch o.Isolation {
	case Subprocess, Sandbox:
		if err := o.Isolation.Available(); err != nil {
			return nil, err
		}
		if c.Spawn == nil {
			return nil, fmt.Errorf("%w: %v isolation needs Campaign.Spawn (harness.Run provides it)", ErrIsolationUnavailable, o.Isolation)
		}
		judge = c.Spawn
		o.EveryTrial = true // a process per call of the judge: one call per candidate
	default:
		if err := o.Isolation.Available(); err != nil {
			return nil, err
		}
	}
	faced := make([]Facing, len(c.Threats))
	for i, th := range c.Threats {
		faced[i] = Facing{th, i}
	}
	ev := &Evolution{}
	start := c.Start
	probes, attacks := 0, 0
	for round := 0; ; round++ {
		first := len(ev.History)
		p := Problem{Start: start, Weights: severities(faced), Seed: seed.Mix(c.Seed, 0xE0+uint64(round)), Evaluate: cases(judge, faced),
			OnGeneration: func(h Generation) { // live, numbered across rounds
				h.Index += first
				ev.History = append(ev.History, h)
				if c.Progress != nil {
					c.Progress(Event{Generation: &h})
				}
			}}
		res, err := Search(ctx, p, o)
		if err != nil {
			return nil, err
		}
		ev.Result, ev.Faced, ev.Rounds = res, faced, round+1
		if ctx.Err() != nil {
			return ev.explained(ctx, p, o)
		}
		var found []Facing
		if c.Probe && probes < 2 {
			probes++
			if found, err = Probe(ctx, c.Judge, res.Champion, c.Threats, faced, seed.Mix(c.Seed, 0x9B0B, uint64(round))); err != nil {
				return ev, err
			}
			for i := range found {
				if c.Progress != nil {
					c.Progress(Event{Found: &found[i]})
				}
			}
		}
		switch {
		case len(found) > 0 || o.Adversarial == 0:
		case !res.Passed:
			ev.Settled = "the champion does not meet the SLO under every threat it faced, declared or found, so no further adversarial round ran"
		default:
			a, why, err := ev.adversary(ctx, c, o, judge, faced, round, attacks)
			if err != nil {
				return ev, err
			}
			ev.Settled = why
			if a != nil {
				attacks++
				ev.Attacks = append(ev.Attacks, *a)
				if c.Progress != nil {
					c.Progress(Event{Attack: a})
				}
				found = []Facing{a.Facing}
			}
		}
		if len(found) == 0 {
			return ev.explained(ctx, p, o)
		}
		faced = append(faced, found...)
		start = res.Champion
		o.Generations = max(3, cmp.Or(o.Generations, 20)/2)
	}
}

// adversary runs the adversarial round after round's search, the
// attacks-th: the threat that breaks the champion, or nil and why the
// adversarial rounds end.
func (ev *Evolution) adversary(ctx context.Context, c Campaign, o Options, judge Judge, faced []Facing, round, attacks int) (*Attack, string, error) {
	s := newSearch(Problem{Weights: severities(faced), Seed: seed.Mix(c.Seed, 0xE0+uint64(round))}, o.withDefaults())
	seeds := make([]uint64, 0, s.o.Seeds)
	for _, cell := range s.cells {
		if cell.Threat == 0 {
			seeds = append(seeds, cell.Seed)
		}
	}
	a, err := Adversary(ctx, judge, ev.Champion, c.Threats, o.Combine, seeds, seed.Mix(c.Seed, 0xAD, uint64(round)))
	switch {
	case err != nil:
		return nil, "", err
	case a == nil:
		ev.Holds = true
		return nil, "the adversary found no threat within the envelope that breaks the champion", nil
	case slices.ContainsFunc(faced, func(f Facing) bool { return f.String() == a.String() }):
		return nil, "the adversary's worst threat, " + a.String() + ", is one the champion already faced: neither side gains", nil
	case attacks >= o.Adversarial:
		ev.Attacks = append(ev.Attacks, *a)
		return nil, fmt.Sprintf("the adversarial rounds ran out (%d): the last threat found, %s, breaks the champion", o.Adversarial, a), nil
	}
	return a, "", nil
}

// explained simplifies the champion and explains its genes on the last
// round's trials (see explain), unless o.SkipAblation or the time is up.
func (ev *Evolution) explained(ctx context.Context, p Problem, o Options) (*Evolution, error) {
	if o.SkipAblation || ctx.Err() != nil {
		return ev, nil
	}
	x, err := explain(ctx, p, o, ev.Champion)
	if err != nil {
		return nil, err
	}
	if len(x.removed) > 0 || len(x.rounded) > 0 {
		res := *ev.Result
		res.Champion, res.Fitness, res.Passed = x.g, x.score.fitness, x.score.passed
		ev.Result = &res
	}
	ev.Removed, ev.Static, ev.Rounded, ev.Costs = x.removed, x.static, x.rounded, x.costs
	return ev, nil
}

// cases turns a judge over faced threats into the search's evaluator.
func cases(j Judge, faced []Facing) Evaluator {
	return func(ctx context.Context, g *genome.Genome, trials []Trial) ([]Outcome, error) {
		cs := make([]Case, len(trials))
		for i, tr := range trials {
			cs[i] = Case{faced[tr.Threat], tr.Seed}
		}
		return j(ctx, g, cs)
	}
}

// severities are the threats' severity weights.
func severities(ths []Facing) []float64 {
	w := make([]float64, len(ths))
	for i, th := range ths {
		w[i] = th.Severity.Weight()
	}
	return w
}

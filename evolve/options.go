package evolve

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"runtime"

	"github.com/rafaelabs/rafael/genome"
	"github.com/rafaelabs/rafael/internal/sandbox"
)

// Options configure a search. The zero value is a sensible search:
// population 16, 20 generations, two seeds per threat.
type Options struct {
	Generations int // at most this many generations; 0 means 20
	Population  int // candidates per generation; 0 means 16
	Elite       int // best candidates carried over unchanged; 0 means 2
	Tournament  int // candidates per tournament selection; 0 means 3
	Seeds       int // trials per threat per candidate; 0 means 2
	Patience    int // generations without adoption before stopping, once the SLO holds; 0 means 3

	MutationRate  float64 // chance that a mutation moves each parameter; 0 means 0.3
	Scale         float64 // how far a parameter moves: ± this fraction of its value; 0 means 0.2
	GeneRate      float64 // chance that a mutation adds or removes a gene; 0 means 0.15
	CrossoverRate float64 // chance that a child has two parents; 0 means 0.5

	// A candidate replaces the incumbent only when its mean paired fitness
	// gain exceeds both MinGain (0 means 0.002) and Z standard errors of the
	// gains (0 means 1.96: a 95 % one-sided bound is 1.64, 1.96 is stricter).
	MinGain float64
	Z       float64

	Genes     []genome.GeneKind // genes a mutation may add; nil means [DefaultGenes]
	Isolation Isolation         // where candidates' trials run ([Evolve] reads it); zero means [Goroutine]

	// Workers is how many of a generation's candidates are evaluated at
	// once; 0 means GOMAXPROCS, 1 one at a time. The search is the same
	// either way — candidates, trials and seeds are fixed before they run,
	// and results are gathered in order — as long as the evaluator's
	// outcomes depend only on the genome and the trials (see [Evaluator]).
	Workers int

	// EveryTrial runs every candidate's every trial. By default a
	// candidate's trials run a seed at a time (each threat's first seed,
	// then each threat's second…), and its further seeds are skipped once
	// it has failed the SLO in more trials than the incumbent did in all of
	// its own: it can no longer be adopted, nor rank above the incumbent
	// (racing, as in iterated racing). The search stays deterministic
	// either way. [Evolve] sets EveryTrial for [Subprocess] isolation,
	// where each call of the judge starts a process.
	EveryTrial bool

	// Adversarial is how many adversarial rounds [Evolve] may run after the
	// search (0: none): in each, [Adversary] searches the envelope of the
	// declared threats for the worst case of the champion; a threat that
	// breaks it is faced by another search, and the rounds alternate until
	// the adversary finds nothing that breaks the champion, or only what it
	// found before (neither side gains), or the rounds run out — a threat
	// found then is listed among the attacks unfaced, and harness.Run's
	// subtest for it fails if the final champion breaks under it. It searches
	// all the probe does (Campaign.Probe), and more: harness.Run probes
	// only without it.
	Adversarial int
	// Combine lets the adversary run two declared threats at once, each
	// within its own envelope.
	Combine bool

	// SkipAblation skips what [Evolve] does after the search: removing the
	// champion's genes that cost nothing and measuring what each remaining
	// gene is worth (a few evaluations of the champion, on the last
	// round's trials).
	SkipAblation bool

	// Feasible, when set, says whether a genome may be the champion: a
	// candidate for which it returns an error is infeasible — never
	// evaluated, never adopted, ranked below every feasible one — and no
	// gene is removed from the champion if that makes it infeasible.
	// harness.Run sets it from the guardian's rules on a run that proposes
	// its champion (see guardian.RulesCheck), beside the spec's own.
	Feasible func(*genome.Genome) error
}

func (o Options) withDefaults() Options {
	o.Generations = cmp.Or(o.Generations, 20)
	o.Population = cmp.Or(o.Population, 16)
	o.Elite = cmp.Or(o.Elite, 2)
	o.Tournament = cmp.Or(o.Tournament, 3)
	o.Seeds = cmp.Or(o.Seeds, 2)
	o.Patience = cmp.Or(o.Patience, 3)
	o.MutationRate = cmp.Or(o.MutationRate, 0.3)
	o.Scale = cmp.Or(o.Scale, 0.2)
	o.GeneRate = cmp.Or(o.GeneRate, 0.15)
	o.CrossoverRate = cmp.Or(o.CrossoverRate, 0.5)
	o.MinGain = cmp.Or(o.MinGain, 0.002)
	o.Workers = cmp.Or(o.Workers, runtime.GOMAXPROCS(0))
	o.Z = cmp.Or(o.Z, 1.96)
	if len(o.Genes) == 0 {
		o.Genes = DefaultGenes()
	}
	return o
}

// Validate reports every setting out of range at once, naming the field.
func (o Options) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf("evolve: "+format, args...)) }
	for _, f := range []struct {
		name string
		v    int
	}{{"Generations", o.Generations}, {"Population", o.Population}, {"Elite", o.Elite}, {"Tournament", o.Tournament}, {"Seeds", o.Seeds}, {"Patience", o.Patience}, {"Workers", o.Workers}} {
		if f.v < 0 {
			bad("Options.%s = %d is negative", f.name, f.v)
		}
	}
	if o.Population == 1 {
		bad("Options.Population = 1: a search needs at least 2 candidates per generation")
	}
	if o.Elite > 0 && o.Population > 0 && o.Elite >= o.Population {
		bad("Options.Elite = %d must be below Population (%d)", o.Elite, o.Population)
	}
	for _, f := range []struct {
		name string
		v    float64
		hi   float64
	}{{"Adversarial", float64(o.Adversarial), 10}, {"MutationRate", o.MutationRate, 1}, {"Scale", o.Scale, 10}, {"GeneRate", o.GeneRate, 1}, {"CrossoverRate", o.CrossoverRate, 1}, {"MinGain", o.MinGain, 1}, {"Z", o.Z, 10}} {
		if f.v < 0 || f.v > f.hi || math.IsNaN(f.v) {
			bad("Options.%s = %v is outside 0–%v", f.name, f.v, f.hi)
		}
	}
	if o.Isolation > VM {
		bad("Options.Isolation = %v is not an isolation level", o.Isolation)
	}
	return errors.Join(errs...)
}

// Isolation is where a candidate's trials run.
type Isolation uint8

// The isolation levels.
const (
	// Goroutine runs trials in the test process, each in its own
	// testing/synctest bubble (the simulated tier) or goroutines (the wire
	// tier). Fast; a workload that crashes the process ends the search.
	Goroutine Isolation = iota
	// Subprocess runs each candidate's trials in a fresh copy of the test
	// binary, so a workload that calls os.Exit or panics on a goroutine of
	// its own fails that candidate and the search goes on.
	Subprocess
	// Sandbox runs each candidate's trials in a fresh copy of the test
	// binary in a sandbox the kernel enforces: its own network namespace
	// with only loopback up (no other host, and of this one only the ports
	// handed to it), a cgroup memory limit, a limit on its tasks and a
	// wall-clock bound. A candidate that the kernel kills for memory, that
	// crashes or that hangs fails with the cause named ("killed: out of
	// memory (limit 256 MiB)"), and the search goes on. It needs Linux and
	// root, or user namespaces and a delegated cgroup (see
	// [Isolation.Available]). harness.Spec.Sandbox sets its limits.
	Sandbox
	// VM would run each candidate in a virtual machine: a kernel of its
	// own. Not available: a workload that needs that much isolation runs
	// on the cluster tier (faults/chaosmesh), where a pod is the unit.
	VM
)

// Container is [Sandbox]: what a container gives a process — its own
// namespaces and cgroup limits — without a container runtime.
const Container = Sandbox

// ErrIsolationUnavailable is matched by the error for an isolation level
// this build cannot provide.
var ErrIsolationUnavailable = errors.New("evolve: isolation level not available here")

// String returns "goroutine", "subprocess", "sandbox" or "vm".
func (i Isolation) String() string {
	switch i {
	case Goroutine:
		return "goroutine"
	case Subprocess:
		return "subprocess"
	case Sandbox:
		return "sandbox"
	case VM:
		return "vm"
	}
	return fmt.Sprintf("Isolation(%d)", uint8(i))
}

// Available returns nil when i can be used here, or an error matching
// [ErrIsolationUnavailable] that says what to use instead.
func (i Isolation) Available() error {
	switch i {
	case Goroutine, Subprocess:
		return nil
	case Sandbox:
		if err := sandbox.Available(); err != nil {
			return fmt.Errorf("%w: %v; use evolve.Subprocess, which keeps a crashing workload from ending the search but limits nothing", ErrIsolationUnavailable, err)
		}
		return nil
	case VM:
		return fmt.Errorf("%w: vm isolation needs a hypervisor that RAFAEL does not drive; use evolve.Sandbox (namespaces and cgroup limits), or run the threats against a cluster with faults/chaosmesh", ErrIsolationUnavailable)
	}
	return fmt.Errorf("%w: %v is not an isolation level", ErrIsolationUnavailable, i)
}

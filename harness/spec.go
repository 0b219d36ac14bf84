package harness

import (
	"context"
	"errors"
	"fmt"
	"github.com/rafaelabs/rafael/internal/sandbox"
	"math"
	"strings"
	"time"

	"github.com/rafaelabs/rafael/evolve"
	"github.com/rafaelabs/rafael/faults"
	"github.com/rafaelabs/rafael/genome"
	"github.com/rafaelabs/rafael/internal/trial"
	"github.com/rafaelabs/rafael/scenarios"
	"github.com/rafaelabs/rafael/slo"
	"go.uber.org/goleak"
)

// Workload is one request of the code under test: it does one unit of work
// (an insert, a cache read, an HTTP call) through p and returns nil on
// success. It must return when ctx is done. The harness calls it many times
// per trial, from several goroutines at once.
type Workload func(ctx context.Context, p *genome.Policy) error

// Tier says where trials run.
type Tier uint8

// The tiers.
const (
	// Auto (the zero value) is Wire when a threat's target is networked
	// (toxiproxy.Start from faults/toxiproxy, or a faults.Hook in front of a real driver, dialer or
	// transport: see faults.Networked), and Simulated otherwise, so a real
	// client never runs inside a synctest bubble.
	Auto Tier = iota
	// Simulated runs each trial inside a testing/synctest bubble against
	// in-process targets (faults.NewHook): virtual time, thousands of trials a
	// second, and a seed replays a trial exactly.
	Simulated
	// Wire runs trials in real time over real sockets, through Toxiproxy to
	// real servers.
	Wire
)

// String returns "auto", "simulated" or "wire".
func (t Tier) String() string {
	switch t {
	case Auto:
		return "auto"
	case Simulated:
		return "simulated"
	case Wire:
		return "wire"
	}
	return fmt.Sprintf("Tier(%d)", uint8(t))
}

// ParseTier returns the tier named s: "auto", "simulated" (or "sim") or "wire".
func ParseTier(s string) (Tier, error) {
	switch s {
	case "auto", "":
		return Auto, nil
	case "simulated", "sim":
		return Simulated, nil
	case "wire":
		return Wire, nil
	}
	return Auto, fmt.Errorf("harness: unknown tier %q: want simulated or wire", s)
}

// SLO is the objective every trial is held to (see slo.SLO): the fraction
// of requests that must succeed, the bound on the p99 latency of the
// successes, and how soon after the fault every request must succeed
// again. A zero field is not checked, so the zero SLO only measures.
type SLO = slo.SLO

// Spec is what [Run] runs: a module, its starting genome, the threats it must
// survive, a workload and an objective. Only Module, Threats and Workload are
// required; every other zero field has a sensible default.
type Spec struct {
	Module   string             // the module under test: letters, digits, '.', '_', '-'
	Genome   *genome.Genome     // the starting genome; nil means the adopted one (DIR/<Module>.genome.json, which the guardian writes), or an empty one (no resilience) when there is none
	Threats  []scenarios.Threat // at least one
	Workload Workload           // one request; required
	SLO      SLO                // the objective; the zero SLO only measures

	Tier     Tier   // Auto: Wire if a threat's target is networked, else Simulated
	Seed     uint64 // the run's seed; 0: -rafael.seed, $RAFAEL_SEED, or derived from the test's name
	Trials   int    // trials per threat; 0: -rafael.trials, $RAFAEL_TRIALS, or 3 (simulated) / 1 (wire), 1 with -short
	Requests int    // regular requests per trial, spread over the trial; 0 means 100

	// TimeScale multiplies the length of every phase and step on the wire
	// tier (0.1 runs a 2s outage in 200ms); fault parameters such as a
	// latency's delay are not scaled. 0 means 1. Ignored on the simulated
	// tier, where time is virtual anyway.
	TimeScale float64

	// Drain is how long, after a trial's last phase, requests still in flight
	// may take to finish before their context is cancelled; 0 means the
	// recover phase's length, at least one second.
	Drain time.Duration

	// Watchdog is the real time one simulated trial may take before it is
	// declared hung and failed with a goroutine dump; 0 means 20 seconds.
	Watchdog time.Duration

	Weights slo.Weights // fitness weights; zero means 0.6·success + 0.2·recovery + 0.2·efficiency

	// Terms are the team's own fitness terms, weighed beside Weights': a
	// cache-hit ratio, a cost per request — functions of a trial's
	// measurements, what the workload counted with [Count] among them.
	// Evolution then favours the genome that serves them best among those
	// that meet the SLO. Each trial's values are in the report.
	Terms []slo.Term

	// Evolve, when set, evolves the genome after the baseline trials: the
	// starting genome's trials then only record how it fares, and the
	// champion must meet the SLO in trials of its own and in a rapid
	// property check over threats up to the declared ones.
	Evolve *evolve.Options

	// Sandbox, when set, runs every trial of the run — each candidate's and
	// the report's own — in a child process in a sandbox the kernel
	// enforces, within these limits (see [Sandbox]). Evolve.Isolation
	// evolve.Sandbox does the same with the default limits.
	Sandbox *Sandbox

	// Dir holds the module's genome file, the guardian's configuration and
	// the audit log; "" means testdata/rafael. With -rafael.update an
	// evolved champion is proposed to the guardian there.
	Dir string

	// LeakOptions are passed to goleak when the run checks that it left no
	// goroutine behind. The check already ignores the background goroutines
	// of the pooled clients it knows (net/http, database/sql, pgx,
	// go-sql-driver/mysql, go-redis, nats.go); add an option for another
	// client's, such as goleak.IgnoreAnyFunction for its re-dialer.
	LeakOptions []goleak.Option
}

// ErrSpec is matched by every error of [Spec.Validate].
var ErrSpec = errors.New("harness: invalid spec")

// Validate reports every problem of s at once, before any trial runs: an
// empty or malformed module name, no threats or an invalid one, a nil
// workload, an SLO out of range, a network target on the simulated tier, or
// an invalid genome or setting. Each error matches [ErrSpec] and says how to
// fix it.
func (s Spec) Validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: %s", ErrSpec, fmt.Sprintf(format, args...)))
	}
	if s.Module == "" {
		bad("Module is empty: name the module under test, e.g. \"checkout\"")
	} else if !validModule(s.Module) {
		bad("Module %q: use letters, digits, '.', '_' and '-' only", s.Module)
	}
	if s.Workload == nil {
		bad("Workload is nil: give the function that makes one request through the policy")
	}
	if len(s.Threats) == 0 {
		bad("Threats is empty: give at least one, e.g. scenarios.DBOutage(db, 2*time.Second)")
	}
	for i, th := range s.Threats {
		if err := th.Validate(); err != nil {
			bad("Threats[%d]: %v", i, err)
		}
	}
	if r := s.SLO.SuccessRate; r < 0 || r > 1 || math.IsNaN(r) {
		bad("SLO.SuccessRate = %v is outside 0–1: write 0.99 for 99 %%", r)
	}
	if s.SLO.P99 < 0 {
		bad("SLO.P99 = %v is negative", s.SLO.P99)
	}
	if s.SLO.RecoverWithin < 0 {
		bad("SLO.RecoverWithin = %v is negative", s.SLO.RecoverWithin)
	}
	if s.Tier > Wire {
		bad("Tier = %v: use harness.Simulated, harness.Wire or leave it zero (auto)", s.Tier)
	}
	if s.Tier == Simulated {
		for i, th := range s.Threats {
			for j, st := range th.Steps {
				if networked(st.Target) {
					bad("Threats[%d] %q step %d: %s", i, th.Name, j, notInABubble(st.Target))
				}
			}
		}
	}
	if s.Trials < 0 {
		bad("Trials = %d is negative", s.Trials)
	}
	if s.Requests < 0 || s.Requests > maxRequests {
		bad("Requests = %d is outside 0–%d", s.Requests, maxRequests)
	}
	if s.TimeScale < 0 || math.IsNaN(s.TimeScale) || math.IsInf(s.TimeScale, 0) {
		bad("TimeScale = %v: want a positive factor, such as 0.1, or 0 for real durations", s.TimeScale)
	}
	if s.Drain < 0 {
		bad("Drain = %v is negative", s.Drain)
	}
	if s.Watchdog < 0 {
		bad("Watchdog = %v is negative", s.Watchdog)
	}
	if err := s.Weights.Validate(); err != nil {
		bad("%v", strings.TrimPrefix(err.Error(), slo.ErrInvalid.Error()+": "))
	}
	if err := slo.ValidateTerms(s.Terms); err != nil {
		bad("%v", strings.TrimPrefix(err.Error(), slo.ErrInvalid.Error()+": "))
	}
	if s.Evolve != nil {
		if err := s.Evolve.Validate(); err != nil {
			bad("Evolve: %v", err)
		}
		if err := s.Evolve.Isolation.Available(); err != nil {
			bad("Evolve.Isolation: %v", err)
		}
	}
	if b := s.Sandbox; b != nil {
		if b.Memory < 0 || b.Processes < 0 || b.Timeout < 0 {
			bad("Sandbox: Memory (%d), Processes (%d) and Timeout (%v) must not be negative", b.Memory, b.Processes, b.Timeout)
		}
		if b.Memory > 0 && b.Memory < 32<<20 {
			bad("Sandbox.Memory = %d bytes is below 32 MiB: a test binary needs more to start", b.Memory)
		}
		for _, a := range b.Hand {
			if err := sandbox.CheckHand(a); err != nil {
				bad("Sandbox.Hand: %v", err)
			}
		}
		if s.Evolve != nil && s.Evolve.Isolation != evolve.Sandbox && s.Evolve.Isolation != evolve.Goroutine {
			bad("Sandbox is set, so candidates run in sandboxes: Evolve.Isolation = %v says otherwise (leave it zero, or set evolve.Sandbox)", s.Evolve.Isolation)
		}
	}
	if s.sandboxed() && (s.Evolve == nil || s.Evolve.Isolation != evolve.Sandbox) { // else said of Evolve.Isolation
		if err := evolve.Sandbox.Available(); err != nil {
			bad("Sandbox: %v", err)
		}
	}
	if s.Genome != nil {
		if err := s.startGenome().Validate(); err != nil {
			bad("Genome: %v", err)
		}
	}
	return errors.Join(errs...)
}

// maxRequests bounds the regular requests of one trial.
const maxRequests = 100_000

func validModule(m string) bool {
	for _, r := range m {
		ok := r == '.' || r == '_' || r == '-' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z'
		if !ok {
			return false
		}
	}
	return true
}

// tier resolves Auto: Wire when a threat acts on a network proxy.
func (s Spec) tier() Tier {
	if s.Tier != Auto {
		return s.Tier
	}
	for _, th := range s.Threats {
		for _, tg := range th.Targets() {
			if n, ok := tg.(faults.Networked); ok && n.Networked() {
				return Wire
			}
		}
	}
	return Simulated
}

// startGenome returns a copy of the starting genome, named for the module
// (a vault pattern's genome carries the pattern's name).
func (s Spec) startGenome() *genome.Genome {
	g := &genome.Genome{}
	if s.Genome != nil {
		g = s.Genome.Clone()
	}
	g.Module = s.Module
	if g.Module == "" {
		g.Module = "unnamed"
	}
	return g
}

// Count adds v to the count name of the trial that ctx, a regular
// request's context, belongs to: 1 for an event (a cache hit), an amount
// for a cost. A trial's counts are in its metrics (slo.Metrics.Counts) for
// a fitness term ([Spec.Terms]) to read. Outside a trial — in production, or
// in a flood's extra calls — it does nothing, so the workload's code can
// count unconditionally.
func Count(ctx context.Context, name string, v float64) { trial.Count(ctx, name, v) }

package evolve

import (
	"context"
	"testing"
	"time"

	"github.com/rafaelabs/rafael/faults"
	"github.com/rafaelabs/rafael/genome"
	"github.com/rafaelabs/rafael/scenarios"
)

// A judge that rewards retrying for longer than the outage, and nothing
// else: a champion's other genes are dead weight. The campaign removes
// them, and says what the retry is worth.
func TestEvolveRemovesGenesThatCostNothingAndExplainsTheRest(t *testing.T) {
	db := faults.NewHook("db", 1)
	judge := func(_ context.Context, g *genome.Genome, cases []Case) ([]Outcome, error) {
		out := make([]Outcome, len(cases))
		for i, c := range cases {
			ok := g.Retry != nil && time.Duration(g.Retry.MaxAttempts)*g.Retry.BaseDelay > c.Threat.Inject
			f := 0.3
			if ok {
				f = 0.9
			}
			out[i] = Outcome{Passed: ok, Fitness: f}
			if !ok {
				out[i].Shortfall = 1
			}
		}
		return out, nil
	}
	start := &genome.Genome{Module: "checkout",
		Retry:    &genome.Retry{MaxAttempts: 6, BaseDelay: time.Second, MaxDelay: time.Second, Multiplier: 1},
		Bulkhead: &genome.Bulkhead{MaxConcurrent: 50},
		Hedge:    &genome.Hedge{Delay: 100 * time.Millisecond, MaxHedges: 1}}
	c := Campaign{Start: start, Threats: []scenarios.Threat{scenarios.DBOutage(db, 2*time.Second)}, Seed: 7, Judge: judge}
	ev, err := Evolve(context.Background(), c, Options{Generations: 2, Population: 4, GeneRate: 0.0001})
	if err != nil {
		t.Fatal(err)
	}
	if !ev.Champion.Has(genome.GeneRetry) || ev.Champion.Has(genome.GeneBulkhead) || ev.Champion.Has(genome.GeneHedge) {
		t.Fatalf("champion %v (removed %v): want the retry alone", ev.Champion.Genes(), ev.Removed)
	}
	if len(ev.Removed) != 2 {
		t.Fatalf("removed %v, want the bulkhead and the hedge", ev.Removed)
	}
	if len(ev.Costs) != 1 || ev.Costs[0].Gene != genome.GeneRetry {
		t.Fatalf("costs %+v: want the retry's", ev.Costs)
	}
	tc := ev.Costs[0].Threats[0]
	if tc.Passed != tc.Trials || tc.PassedWithout != 0 || tc.Fitness <= tc.FitnessWithout {
		t.Fatalf("the retry's cost %+v: with it every trial meets the SLO, without none", tc)
	}
	if got := ev.Costs[0].String(ev.Faced); got != "without retry: db-outage: meets the SLO in 2 of 2 trials (0 without), fitness 0.90 (0.30 without)" {
		t.Errorf("explanation %q", got)
	}

	skipped, err := Evolve(context.Background(), c, Options{Generations: 2, Population: 4, GeneRate: 0.0001, SkipAblation: true})
	if err != nil {
		t.Fatal(err)
	}
	if skipped.Removed != nil || skipped.Costs != nil {
		t.Fatal("SkipAblation still ablated")
	}
}

// The champion's parameters are rounded only where the rounder value costs
// nothing: a backoff of 1.15s × 3 attempts rounds to 1s (3s still outlasts
// the 2s outage), one of 1.04s × 2 does not (2s would not).
func TestEvolveRoundsParametersThatCostNothing(t *testing.T) {
	db := faults.NewHook("db", 1)
	judge := func(_ context.Context, g *genome.Genome, cases []Case) ([]Outcome, error) {
		out := make([]Outcome, len(cases))
		for i, c := range cases {
			ok := g.Retry != nil && time.Duration(g.Retry.MaxAttempts)*g.Retry.BaseDelay > c.Threat.Inject
			out[i] = Outcome{Passed: ok, Fitness: 0.9}
			if !ok {
				out[i] = Outcome{Fitness: 0.3, Shortfall: 1}
			}
		}
		return out, nil
	}
	for _, tc := range []struct {
		attempts  int
		base      time.Duration
		wantBase  time.Duration
		wantRound bool
	}{
		{3, 1150 * time.Millisecond, time.Second, true},
		{2, 1040 * time.Millisecond, 1040 * time.Millisecond, false},
	} {
		start := &genome.Genome{Module: "checkout", Retry: &genome.Retry{MaxAttempts: tc.attempts, BaseDelay: tc.base, MaxDelay: tc.base, Multiplier: 1}}
		c := Campaign{Start: start, Threats: []scenarios.Threat{scenarios.DBOutage(db, 2*time.Second)}, Seed: 7, Judge: judge}
		ev, err := Evolve(context.Background(), c, Options{Generations: 1, Population: 2, GeneRate: 0.0001, MutationRate: 0.0001})
		if err != nil {
			t.Fatal(err)
		}
		if got := ev.Champion.Retry.BaseDelay; got != tc.wantBase {
			t.Errorf("%d × %v: baseDelay %v, want %v (rounded %q)", tc.attempts, tc.base, got, tc.wantBase, ev.Rounded)
		}
		if !ev.Passed {
			t.Errorf("%d × %v: the rounded champion must still meet the SLO", tc.attempts, tc.base)
		}
		if (len(ev.Rounded) > 0) != tc.wantRound {
			t.Errorf("%d × %v: rounded %q", tc.attempts, tc.base, ev.Rounded)
		}
	}
}

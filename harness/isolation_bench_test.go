package harness

import (
	"context"
	"testing"
	"time"

	"github.com/rafaelabs/rafael/evolve"
	"github.com/rafaelabs/rafael/faults"
	"github.com/rafaelabs/rafael/internal/sandbox"
	"github.com/rafaelabs/rafael/scenarios"
)

// isolationSpec is the run whose candidate BenchmarkCandidateEvaluation
// evaluates: two trials of an outage on the simulated tier.
func isolationSpec() Spec {
	db := faults.NewHook("db", 1)
	return Spec{
		Module:   "isolation",
		Threats:  []scenarios.Threat{scenarios.DBOutage(db, 2*time.Second)},
		Workload: through(store(db)),
		SLO:      SLO{SuccessRate: 0.95},
		Trials:   1,
		Seed:     1,
		Evolve:   &evolve.Options{Seeds: 2},
	}
}

// TestIsolationBenchTarget is what the children of
// BenchmarkCandidateEvaluation run: the same spec, so that a child finds
// the run its job belongs to.
func TestIsolationBenchTarget(t *testing.T) {
	if !InChild() {
		t.Skip("the target of BenchmarkCandidateEvaluation's child processes")
	}
	Run(t, isolationSpec())
}

// BenchmarkCandidateEvaluation measures one candidate's evaluation — its
// two simulated trials, judged — at each isolation level, side by side in
// one process: in this process (goroutine), in a fresh copy of the test
// binary (subprocess), and in one in a sandbox (its own network namespace,
// cgroup memory and task limits).
func BenchmarkCandidateEvaluation(b *testing.B) {
	for _, level := range []evolve.Isolation{evolve.Goroutine, evolve.Subprocess, evolve.Sandbox} {
		b.Run(level.String(), func(b *testing.B) {
			if level == evolve.Sandbox {
				if err := sandbox.Available(); err != nil {
					b.Skipf("no sandbox here: %v", err)
				}
			}
			ok := testing.RunTests(func(string, string) (bool, error) { return true, nil }, []testing.InternalTest{{Name: "TestIsolationBenchTarget", F: func(t *testing.T) {
				r := plan(t, isolationSpec(), settings{})
				var cases []evolve.Case
				for j := range 2 {
					cases = append(cases, evolve.Case{Threat: evolve.Facing{Threat: r.threats[0], Origin: 0}, Seed: r.trialSeed(0, j)})
				}
				g := resilient()
				g.Module = "isolation"
				judge, closeJudge := r.judge(t, 1)
				defer closeJudge()
				switch level {
				case evolve.Subprocess:
					judge = r.spawn(t)
				case evolve.Sandbox:
					r.box = &Sandbox{}
					judge = r.spawn(t)
				}
				b.ResetTimer()
				for range b.N {
					out, err := judge(context.Background(), g, cases)
					if err != nil || len(out) != 2 || !out[0].Passed || !out[1].Passed {
						t.Fatalf("the evaluation: %v %+v", err, out)
					}
				}
				b.StopTimer()
			}}})
			if !ok {
				b.Fatal("the evaluation inside the benchmark failed")
			}
		})
	}
}

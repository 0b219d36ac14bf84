package bench

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/rafaelabs/rafael/evolve"
	"github.com/rafaelabs/rafael/faults"
	"github.com/rafaelabs/rafael/genome"
	"github.com/rafaelabs/rafael/harness"
	"github.com/rafaelabs/rafael/scenarios"
)

// TestSuite is a suite of evolving modules in one go test, as a team's
// repository would have: $RAFAEL_SUITE_MODULES modules (0: the test is
// skipped), each a harness.Run with a 1s outage and a 200ms latency, six
// generations of eight candidates; as parallel subtests when
// $RAFAEL_SUITE_PARALLEL is set. It uses only the public API, so the same
// file measures an older main (BENCHMARKS.md, "A suite of modules"):
//
//	RAFAEL_SUITE_MODULES=100 go test -run '^TestSuite$' -count=1 .
func TestSuite(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("RAFAEL_SUITE_MODULES"))
	if n <= 0 {
		t.Skip("a suite benchmark: set RAFAEL_SUITE_MODULES to the number of modules")
	}
	parallel := os.Getenv("RAFAEL_SUITE_PARALLEL") != ""
	for i := range n {
		t.Run(fmt.Sprintf("module-%d", i), func(t *testing.T) {
			if parallel {
				t.Parallel()
			}
			db := faults.NewHook("db", uint64(i))
			call := faults.FuncErr(db, func(ctx context.Context) error { return serve(ctx, 2*time.Millisecond) })
			harness.Run(t, harness.Spec{
				Module: fmt.Sprintf("module-%d", i),
				Genome: &genome.Genome{
					Timeout: &genome.Timeout{PerAttempt: 100 * time.Millisecond, Overall: 4 * time.Second},
					Retry:   &genome.Retry{MaxAttempts: 12, BaseDelay: 50 * time.Millisecond, MaxDelay: 500 * time.Millisecond, Multiplier: 2, Jitter: 0.2},
				},
				Threats:  []scenarios.Threat{scenarios.DBOutage(db, time.Second), scenarios.Latency(db, 200*time.Millisecond)},
				Workload: func(ctx context.Context, p *genome.Policy) error { return p.Do(ctx, call) },
				SLO:      harness.SLO{SuccessRate: 0.9},
				Evolve:   &evolve.Options{Generations: 6, Population: 8},
			})
		})
	}
}

// serve takes d, or returns ctx's error if ctx ends first: an in-process
// dependency, in virtual time inside a synctest bubble.
func serve(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

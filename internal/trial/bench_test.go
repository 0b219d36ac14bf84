package trial

import (
	"context"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/rafaelabs/rafael/faults"
	"github.com/rafaelabs/rafael/genome"
	"github.com/rafaelabs/rafael/internal/seed"
	"github.com/rafaelabs/rafael/scenarios"
)

// BenchmarkSimulatedTrial measures the simulated tier: one realistic trial
// per iteration, in its own synctest bubble, watchdog included — 100 requests
// through a retry + breaker + timeout policy against a hook with a 2s
// outage (5s of virtual time). trials/s is the figure to read.
//
// synctest.Test takes a *testing.T, so the benchmark runs its loop inside a
// test made with testing.RunTests (and counts b.N itself: b.Loop checks
// it is called from the benchmark's own goroutine).
func BenchmarkSimulatedTrial(b *testing.B) {
	b.Run("trial", func(b *testing.B) { benchTrial(b, nil) })
	b.Run("floor", benchFloor)
	// The flood of the five-threat benchmark (16 callers, 400 calls/s for
	// 2s: 800 extra calls), through the same policy.
	b.Run("flood", func(b *testing.B) {
		benchTrial(b, func(db *faults.Hook) scenarios.Threat {
			return scenarios.Flood(16, 400, scenarios.InjectFor(2*time.Second))
		})
	})
}

// benchFloor is the floor a simulated trial is measured against: one
// synctest bubble in which 100 requests arrive at the trial's seeded times,
// each a goroutine that does nothing.
func benchFloor(b *testing.B) {
	ran := false
	testing.RunTests(func(string, string) (bool, error) { return true, nil }, []testing.InternalTest{{
		Name: b.Name(),
		F: func(t *testing.T) {
			b.ReportAllocs()
			b.ResetTimer()
			b.StartTimer()
			for n := 1; n <= b.N; n++ {
				synctest.Test(t, func(*testing.T) {
					start := time.Now()
					var wg sync.WaitGroup
					for _, at := range arrivalTimes(100, 5*time.Second, seed.New(uint64(n))) {
						time.Sleep(at - time.Since(start))
						wg.Go(func() {})
					}
					wg.Wait()
				})
			}
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "trials/s")
			ran = true
		},
	}})
	if !ran {
		b.Fatal("the floor loop did not run")
	}
}

// benchTrial is one realistic trial per iteration: a 2s outage of the
// dependency, or the threat of threat.
func benchTrial(b *testing.B, threat func(*faults.Hook) scenarios.Threat) {
	db := faults.NewHook("db", 1)
	th := scenarios.DBOutage(db, 2*time.Second)
	if threat != nil {
		th = threat(db)
	}
	g := resilient()
	g.Module = "checkout"
	g.CircuitBreaker = &genome.CircuitBreaker{Threshold: 5, OpenDuration: 500 * time.Millisecond, HalfOpenProbes: 1, Window: 10, FailureRate: 0.5}
	work := func(ctx context.Context, p *genome.Policy) error {
		return p.Do(ctx, func(ctx context.Context) error { return db.Before(ctx) })
	}
	ran := false
	testing.RunTests(func(string, string) (bool, error) { return true, nil }, []testing.InternalTest{{
		Name: b.Name(),
		F: func(t *testing.T) {
			b.ReportAllocs()
			b.ResetTimer()
			b.StartTimer()  // the timer is off inside RunTests
			sim := NewSim() // as harness.Run does: one for the run
			defer sim.Close()
			for n := 1; n <= b.N; n++ {
				res := sim.Run(t, Config{Workload: work, Requests: 100, Drain: 2 * time.Second}, th, g, uint64(n))
				if !res.Finished || res.Metrics.Requests != 100 || th.Flood != nil && res.Metrics.FloodCalls != 800 {
					b.Fatalf("trial %d did not finish: %+v", n, res)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "trials/s")
			ran = true
		},
	}})
	if !ran {
		b.Fatal("the trial loop did not run")
	}
}

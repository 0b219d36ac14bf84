package examples

// The workers walkthrough: a worker pool that resizes images. Each job
// holds an 8 MiB buffer while it works, and the pool admits a job only if
// the process's heap stays within its memory budget; otherwise the job is
// refused at once (as a container near its memory limit must refuse work or
// be killed). Under memory pressure — 96 MiB held by something else in the
// process for a second — jobs are refused, and only a genome that backs off
// and retries rides it out. Memory pressure is measured by reading the real
// heap, so this walkthrough runs on the wire tier: real time, a real
// ballast held during the inject phase only. It measures a naive pool, then
// proves a genome with a retry whose backoff outlasts the pressure. (It does
// not evolve: each wire trial takes two seconds, and on the simulated tier
// the harness keeps one ballast for the whole run, so a workload that reads
// the heap would see the pressure all along.)

import (
	"context"
	"errors"
	"runtime"
	"runtime/metrics"
	"sync"
	"testing"
	"time"

	"github.com/rafaelabs/rafael/genome"
	"github.com/rafaelabs/rafael/harness"
	"github.com/rafaelabs/rafael/report"
	"github.com/rafaelabs/rafael/scenarios"
	"github.com/stretchr/testify/assert"
)

// errNoMemory is what the pool answers when a job would not fit.
var errNoMemory = errors.New("workers: memory budget exceeded, job refused")

// Pool runs jobs within a memory budget above the heap it started with.
type Pool struct {
	budget uint64
	base   uint64
	mu     sync.Mutex
	held   uint64 // bytes the running jobs hold
}

const jobBytes = 8 << 20

// NewPool returns a pool that lets the heap grow by at most budget bytes.
func NewPool(budget uint64) *Pool {
	runtime.GC()
	return &Pool{budget: budget, base: liveHeap()}
}

// liveHeap is the heap that was reachable at the last garbage collection:
// what the process really holds, without the garbage since.
func liveHeap() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// Resize runs one job: it takes 8 MiB for 20ms, if that fits the budget
// with what the heap and the running jobs already hold.
func (p *Pool) Resize(ctx context.Context) error {
	p.mu.Lock()
	live := liveHeap()
	used := live - min(live, p.base) + p.held
	if used+jobBytes > p.budget {
		p.mu.Unlock()
		return errNoMemory
	}
	p.held += jobBytes
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		p.held -= jobBytes
		p.mu.Unlock()
	}()
	buf := make([]byte, jobBytes)
	for i := 0; i < len(buf); i += 4096 {
		buf[i] = 1
	}
	err := work(ctx, 20*time.Millisecond)
	runtime.KeepAlive(buf)
	return err
}

// Run is the workload: one job through the policy.
func (p *Pool) Run(ctx context.Context, pol *genome.Policy) error {
	return pol.Do(ctx, p.Resize)
}

// pressure is 96 MiB held for a second, on the wire tier's clock.
var pressure = scenarios.MemoryPressure(96<<20, scenarios.Steady(250*time.Millisecond), scenarios.InjectFor(time.Second), scenarios.RecoverFor(500*time.Millisecond))

func TestWorkersRideOutMemoryPressure(t *testing.T) {
	if testing.Short() {
		t.Skip("runs on the wire tier, in real time")
	}
	pool := NewPool(64 << 20)

	// Without a retry that waits, jobs refused under pressure are lost. The
	// zero SLO only measures.
	naive := harness.Run(t, harness.Spec{
		Module: "workers", Genome: &genome.Genome{}, Threats: []scenarios.Threat{pressure},
		Workload: pool.Run, Tier: harness.Wire, Requests: 40, Seed: 1,
	})
	lost := naive.Threats[0].Trials[0].Metrics
	assert.Less(t, lost.SuccessRate, 0.9, "the naive pool loses jobs under pressure")

	// A retry whose backoff outlasts the pressure and the rush of refused
	// jobs that follows it (0.1s, 0.2s, then 0.4s apart: 4.7s in all) keeps
	// every job, even on a loaded machine.
	rep := harness.Run(t, harness.Spec{
		Module:   "workers",
		Genome:   &genome.Genome{Retry: &genome.Retry{MaxAttempts: 14, BaseDelay: 100 * time.Millisecond, MaxDelay: 400 * time.Millisecond, Multiplier: 2, Jitter: 0.2}},
		Drain:    6 * time.Second, // a job refused late in the pressure may retry past the trial's end
		Threats:  []scenarios.Threat{pressure},
		Workload: pool.Run,
		SLO:      harness.SLO{SuccessRate: 0.98, RecoverWithin: 500 * time.Millisecond},
		Tier:     harness.Wire, // the pool reads the real heap
		Requests: 40,
		Seed:     1,
	})
	row := rep.Threats[0]
	assert.NotEqual(t, report.Broken, row.Status, row.Threat)
	assert.Greater(t, row.Trials[0].Metrics.AttemptsPerRequest, 1.0, "jobs were refused, then retried")
	kept := row.Trials[0].Metrics
	if row.Status == report.Unstable { // broke on a busy machine, then held: judge the measurement that held
		kept = row.Trials[0].Reruns[len(row.Trials[0].Reruns)-1].Metrics
	}
	// The two runs have different SLOs, so their scores are on different
	// terms: compare what was measured.
	assert.Greater(t, kept.SuccessRate, lost.SuccessRate, "the retry keeps jobs the naive pool lost")
}

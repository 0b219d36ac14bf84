package harness

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"
	"testing/synctest"
	"time"

	"github.com/rafaelabs/rafael/faults"
	"github.com/rafaelabs/rafael/genome"
	"github.com/rafaelabs/rafael/internal/seed"
	"github.com/rafaelabs/rafael/scenarios"
)

// trial is one run of one threat against one genome with one seed. Its
// driver is the same on both tiers: inside a synctest bubble its timers are
// virtual, outside they are real.
type trial struct {
	threat   scenarios.Threat
	genome   *genome.Genome
	workload Workload
	seed     uint64
	requests int
	drain    time.Duration
	bubble   bool                                    // running inside a synctest bubble
	hold     func(n int64, onErr func(error)) func() // holds n bytes of ballast; nil: a ballast of the trial's own
}

// sample is what happened to one regular request.
type sample struct {
	start, end time.Duration // offsets from the trial's start
	err        error
	done       bool // false: it never returned
}

// raw is a trial's record before it becomes metrics.
type raw struct {
	samples        []sample
	attempts       int64 // attempts the policy made, hedges included
	calls          int64 // workload calls, flood included
	flood          faults.LoadResult
	peakGoroutines int
	setupErr       error // the trial could not run as declared (a fault failed to apply, a ballast over its cap)
}

// reseeder is a target whose random decisions can restart from a seed, such
// as a faults.Hook.
type reseeder interface{ Reseed(uint64) }

// run drives the trial: requests at seeded arrival times over the three
// phases, the threat's faults, flood and ballast during the inject phase,
// then a drain for requests in flight.
func (tr *trial) run() raw {
	var out raw
	t0 := time.Now()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	for i, tg := range tr.threat.Targets() {
		if r, ok := tg.(reseeder); ok {
			r.Reseed(seed.Mix(tr.seed, 1, uint64(i)))
		}
	}
	var attempts, calls atomic.Int64
	obs := genome.ObserverFunc(func(e genome.Event) {
		if e.Kind == genome.EventAttempt || e.Kind == genome.EventHedge {
			attempts.Add(1)
		}
	})
	policy, err := genome.Compile(tr.genome, genome.WithSeed(seed.Mix(tr.seed, 2)), genome.WithObserver(obs))
	if err != nil {
		out.setupErr = fmt.Errorf("compile the genome: %w", err)
		return out
	}
	call := func(ctx context.Context) (err error) {
		calls.Add(1)
		defer func() {
			if r := recover(); r != nil {
				err = fmt.Errorf("workload panicked: %v", r)
			}
		}()
		return tr.workload(ctx, policy)
	}

	th := tr.threat
	total := th.Duration()
	arrivals := arrivalTimes(tr.requests, total, seed.New(seed.Mix(tr.seed, 3)))

	var (
		mu      sync.Mutex
		samples = make([]sample, len(arrivals))
		wg      sync.WaitGroup
		setup   []error
		stop    = func() {}
		release = func() {}
	)
	onErr := func(err error) {
		mu.Lock()
		setup = append(setup, err)
		mu.Unlock()
	}
	// Requests run on workers: a request is handed to an idle worker, or to
	// a new one when every worker is busy, so that arrivals never wait
	// (an open system, as real traffic is) and a worker's stack, once grown,
	// serves many requests.
	type job struct {
		k  int
		at time.Duration
	}
	jobs := make(chan job)
	do := func(j job) {
		err := call(ctx)
		end := time.Since(t0)
		mu.Lock()
		samples[j.k] = sample{start: j.at, end: end, err: err, done: true}
		mu.Unlock()
	}
	var idle atomic.Int64 // workers waiting for a request
	worker := func(j job) {
		defer wg.Done()
		for ok := true; ok; {
			do(j)
			idle.Add(1)
			j, ok = <-jobs
			idle.Add(-1)
		}
	}
	dispatch := func(j job) {
		select {
		case jobs <- j:
		default:
			wg.Add(1)
			go worker(j)
		}
	}
	// Idle workers are not counted: whether a request found one idle or
	// started a new one can depend on the order of things due at the same
	// instant, and the count must not.
	baseline := tr.goroutines()
	peak := 0
	sampleGoroutines := func() { peak = max(peak, tr.goroutines()-int(idle.Load())-baseline) }

	// Events in time order: the inject phase's start and end, and arrivals.
	injectAt, recoverAt := th.Steady, th.Steady+th.Inject
	injected, healed := false, false
	for k := 0; k <= len(arrivals); k++ {
		next := total
		if k < len(arrivals) {
			next = arrivals[k]
		}
		if !injected && injectAt <= next {
			sleepUntil(t0, injectAt)
			injected = true
			stop = th.Schedule(onErr)
			if th.Ballast > 0 {
				h := tr.hold
				if h == nil {
					h = hold
				}
				release = h(th.Ballast, onErr)
			}
			if th.Flood != nil {
				wg.Add(1)
				go func() {
					defer wg.Done()
					res, _ := th.Flood.Run(ctx, call)
					mu.Lock()
					out.flood = res
					mu.Unlock()
				}()
			}
		}
		if injected && !healed && recoverAt <= next {
			sleepUntil(t0, recoverAt)
			healed = true
			stop()
			release()
		}
		if k == len(arrivals) {
			break
		}
		sleepUntil(t0, next)
		dispatch(job{k, next})
		if k%sampleEvery == 0 {
			sampleGoroutines()
		}
	}
	close(jobs)
	sampleGoroutines()

	// Drain: wait for requests in flight, then cancel them, then give them a
	// last second to notice before counting them hung.
	all := make(chan struct{})
	go func() { wg.Wait(); close(all) }()
	drain := time.NewTimer(max(0, total+tr.drain-time.Since(t0)))
	select {
	case <-all:
		drain.Stop()
	case <-drain.C:
		cancel()
		last := time.NewTimer(time.Second)
		select {
		case <-all:
		case <-last.C:
		}
		last.Stop()
	}
	stop()
	release()

	mu.Lock()
	defer mu.Unlock()
	for k := range samples {
		if !samples[k].done {
			samples[k].start = arrivals[k]
		}
	}
	out.samples = append([]sample(nil), samples...)
	out.attempts, out.calls = attempts.Load(), calls.Load()
	out.peakGoroutines = peak
	out.setupErr = errors.Join(setup...)
	return out
}

// sampleEvery is how often, in arrivals, the driver counts goroutines: a
// count inside a bubble waits for the bubble to settle, which costs about a
// microsecond.
const sampleEvery = 8

// goroutines counts the process's goroutines. Inside a bubble it first lets
// every goroutine of the bubble run until it blocks, so that the count is
// the same on every replay.
func (tr *trial) goroutines() int {
	if tr.bubble {
		synctest.Wait()
	}
	return runtime.NumGoroutine()
}

// arrivalTimes spreads n requests over total: request k arrives at a seeded
// point of the k-th of n equal slots, so every phase gets its share and no
// two requests arrive at the same instant.
func arrivalTimes(n int, total time.Duration, r *seed.Rand) []time.Duration {
	out := make([]time.Duration, n)
	slot := float64(total) / float64(n)
	for k := range out {
		out[k] = time.Duration((float64(k) + r.Float64()) * slot)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// sleepUntil sleeps until offset at from t0.
func sleepUntil(t0 time.Time, at time.Duration) {
	if d := at - time.Since(t0); d > 0 {
		time.Sleep(d)
	}
}

// hold grows a ballast of n bytes and returns the function that releases it.
func hold(n int64, onErr func(error)) (release func()) {
	b, err := faults.NewBallast(n)
	if err == nil {
		err = b.Grow(n)
	}
	if err != nil {
		onErr(fmt.Errorf("memory pressure: %w", err))
		return func() {}
	}
	return b.Release
}

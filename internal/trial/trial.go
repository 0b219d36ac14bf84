// Package trial runs one trial: one threat against one genome with one
// seed, on either tier. It dispatches the workload's requests at seeded
// arrival times, injects the threat's faults, flood and memory pressure and
// heals them, drains the requests in flight, and measures the trial into
// slo.Metrics. It knows nothing of reports or evolution, and needs a
// *testing.T only to open a synctest bubble ([InBubble]).
package trial

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
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
	"github.com/rafaelabs/rafael/slo"
)

// Workload is one request of the code under test, made through p. It must
// return when ctx is done.
type Workload func(ctx context.Context, p *genome.Policy) error

// Config is what every trial of a run shares.
type Config struct {
	Workload Workload
	Requests int           // regular requests per trial; 0 means 100
	Drain    time.Duration // how long requests may still run after the last phase; 0: the recover phase, at least 1s
	Watchdog time.Duration // the real time a simulated trial may take; 0 means 20s
	Weights  slo.Weights   // of the fitness
	Terms    []slo.Term    // a team's own fitness terms, beside the weights'
	// LatencyRef is the p99 the latency term is measured against
	// (slo.LatencyScore): the SLO's p99; 0 means one second.
	LatencyRef time.Duration
	// RecoverWithin is the SLO's recovery bound: the metastability check
	// looks at the recover phase after it (and after its first half).
	RecoverWithin time.Duration

	// Hold holds n bytes of memory pressure on the wire tier and returns
	// its release, and how it holds it for the evidence ("enforced by the
	// kernel: …"; "" says a ballast); nil gives each trial a ballast of its
	// own. On the simulated tier the pressure is modelled
	// (faults.Pressure), not held.
	Hold func(n int64, onErr func(error)) (release func(), form string)
}

// Run runs one trial of g under th with seed s in real time (the wire
// tier) and measures it.
func Run(cfg Config, th scenarios.Threat, g *genome.Genome, s uint64) Result {
	d := newDriver(cfg, th, g, s, false)
	return finish(cfg, th, d.run(), true)
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
	attempts       int64           // attempts the policy made, hedges included
	attemptAt      []time.Duration // when each attempt started, from the trial's start
	calls          int64           // workload calls, flood included
	flood          faults.LoadResult
	counts         map[string]float64 // what the workload counted (Count)
	peakGoroutines int
	lag            time.Duration // the longest the driver woke late
	deadline       time.Duration // the drain deadline: a request still running then failed then
	setupErr       error         // the trial could not run as declared (a fault failed to apply, a ballast over its cap)
	injections     []Injection   // what each of the threat's faults did
}

// Injection is the evidence of what one of a threat's faults did in a
// trial: when it was in force, from the trial's start, and how many calls
// or connections it acted on, when its target counts them.
type Injection struct {
	Target, Fault string
	Applied       bool          // it was applied
	At, For       time.Duration // from the trial's start; how long it was in force
	Touched       int64         // calls or connections it acted on, when Unit is set
	Unit          string        // what its target counts ("calls", "connections"), or "" (faults.Toucher)
	Detail        string        // what the backend reported of it (faults.Witness), or ""
}

// evidence turns the faults' records into offsets from the trial's start t0.
func evidence(t0 time.Time, evs []faults.Injection) []Injection {
	out := make([]Injection, 0, len(evs))
	for _, e := range evs {
		in := Injection{Target: e.Target, Fault: e.Fault, Applied: !e.Applied.IsZero(), Touched: e.Touched, Unit: e.Unit, Detail: e.Detail}
		if in.Applied {
			in.At, in.For = e.Applied.Sub(t0), e.Removed.Sub(e.Applied)
		}
		out = append(out, in)
	}
	return out
}

// driver runs one trial. It is the same on both tiers: inside a synctest
// bubble its timers are virtual, outside they are real.
type driver struct {
	threat   scenarios.Threat
	genome   *genome.Genome
	workload Workload
	seed     uint64
	requests int
	drain    time.Duration
	bubble   bool // running inside a synctest bubble
	hold     func(n int64, onErr func(error)) (func(), string)

	t0       time.Time
	ctx      context.Context   // the trial's: a flood's calls run in it
	reqCtx   context.Context   // a regular request's: ctx, with the trial's counts
	scope    *faults.Scope     // the trial's fault state
	memory   *faults.Injection // the memory pressure's evidence, once applied
	counts   counts
	call     func(context.Context) error
	attempts atomic.Int64
	calls    atomic.Int64
	idle     atomic.Int64 // workers waiting for a request
	jobs     chan job
	wg       sync.WaitGroup

	mu        sync.Mutex // guards what follows
	samples   []sample
	attemptAt []time.Duration // when each attempt started: the load on the dependency over time
	setup     []error
	flood     faults.LoadResult

	baseline, peak int                       // goroutines at the start, and most above it
	lag            time.Duration             // the longest the driver woke late
	stop           func() []faults.Injection // heal the faults; what they did
	release        func()                    // free the ballast
	injections     []faults.Injection        // what the faults did, once healed
}

// job is one regular request: its index and arrival offset.
type job struct {
	k  int
	at time.Duration
}

func newDriver(cfg Config, th scenarios.Threat, g *genome.Genome, s uint64, bubble bool) *driver {
	drain := cfg.Drain
	if drain == 0 {
		drain = max(th.Recover, time.Second)
	}
	return &driver{threat: th, genome: g, workload: cfg.Workload, seed: s, requests: cmp.Or(cfg.Requests, 100),
		drain: drain, bubble: bubble, hold: cfg.Hold, stop: func() []faults.Injection { return nil }, release: func() {}}
}

// run drives the trial: requests at seeded arrival times over the three
// phases, the threat's faults, flood and ballast during the inject phase,
// then a drain for requests in flight.
func (d *driver) run() raw {
	d.t0 = time.Now()
	// The trial's own fault state: its faults act only on calls that carry
	// its scope, so trials that share targets can run at the same time.
	scope := faults.NewScope()
	defer scope.End()
	d.scope = scope
	d.threat = inScope(d.threat, scope)
	ctx, cancel := context.WithCancel(faults.WithScope(context.Background(), scope))
	defer cancel()
	d.ctx = ctx
	d.reqCtx = context.WithValue(ctx, countsKey{}, &d.counts)
	if err := d.prepare(); err != nil {
		return raw{setupErr: err}
	}
	th := d.threat
	total := th.Duration()
	arrivals := arrivalTimes(d.requests, total, seed.New(seed.Mix(d.seed, 3)))
	d.samples = make([]sample, len(arrivals))
	d.jobs = make(chan job)
	d.baseline = d.goroutines()

	// Events in time order: the inject phase's start and end, and arrivals.
	injectAt, recoverAt := th.Steady, th.Steady+th.Inject
	injected, healed := false, false
	for k := 0; k <= len(arrivals); k++ {
		next := total
		if k < len(arrivals) {
			next = arrivals[k]
		}
		if !injected && injectAt <= next {
			d.sleepUntil(injectAt)
			injected = true
			d.inject()
		}
		if injected && !healed && recoverAt <= next {
			d.sleepUntil(recoverAt)
			healed = true
			d.heal()
			d.release()
		}
		if k == len(arrivals) {
			break
		}
		d.sleepUntil(next)
		d.dispatch(job{k, next})
		if k%sampleEvery == 0 {
			d.sampleGoroutines()
		}
	}
	close(d.jobs)
	d.sampleGoroutines()
	deadline := total + d.drain
	d.wait(deadline, cancel)
	d.heal()
	d.release()
	return d.record(arrivals, deadline)
}

// prepare reseeds the threat's targets and compiles the genome into the
// policy the workload runs through, observed to count attempts.
func (d *driver) prepare() error {
	for i, tg := range d.threat.Targets() {
		if r, ok := tg.(faults.Reseeder); ok {
			r.Reseed(seed.Mix(d.seed, 1, uint64(i)))
		}
		// An upstream already down is the setup's failure, not the threat's
		// damage (it once read as "8× EOF"). Only real time reaches out.
		if r, ok := tg.(faults.Reacher); ok && !d.bubble {
			if err := r.Reach(d.ctx); err != nil {
				return err
			}
		}
	}
	obs := genome.ObserverFunc(func(e genome.Event) {
		if e.Kind == genome.EventAttempt || e.Kind == genome.EventHedge {
			d.attempts.Add(1)
			at := time.Since(d.t0)
			d.mu.Lock()
			d.attemptAt = append(d.attemptAt, at)
			d.mu.Unlock()
		}
	})
	policy, err := genome.Compile(d.genome, genome.WithSeed(seed.Mix(d.seed, 2)), genome.WithObserver(obs))
	if err != nil {
		return fmt.Errorf("compile the genome: %w", err)
	}
	d.call = func(ctx context.Context) (err error) {
		d.calls.Add(1)
		defer func() {
			if r := recover(); r != nil {
				err = fmt.Errorf("workload panicked: %v", r)
			}
		}()
		return d.workload(ctx, policy)
	}
	return nil
}

// inject starts the threat's faults, its memory pressure and its flood.
func (d *driver) inject() {
	th := d.threat
	d.stop = th.ScheduleTracked(d.onErr)
	if th.Ballast > 0 {
		d.pressure(th.Ballast)
	}
	if th.Flood != nil {
		d.wg.Add(1)
		go func() {
			defer d.wg.Done()
			res, _ := th.Flood.Run(d.ctx, d.call)
			d.mu.Lock()
			d.flood = res
			d.mu.Unlock()
		}()
	}
}

// pressure starts n bytes of memory pressure: modelled in the trial's
// scope inside a bubble (faults.Pressure), held as a real ballast outside;
// the evidence says which.
func (d *driver) pressure(n int64) {
	in := &faults.Injection{Target: "process", Applied: time.Now()}
	var release func()
	if d.bubble {
		in.Fault = fmt.Sprintf("memory pressure %d MiB, modelled (faults.Pressure)", n>>20)
		d.scope.SetPressure(n)
		release = func() { d.scope.SetPressure(0) }
	} else {
		h := d.hold
		if h == nil {
			h = hold
		}
		var form string
		release, form = h(n, func(err error) { in.Applied = time.Time{}; d.onErr(err) }) // not applied
		in.Fault = fmt.Sprintf("memory pressure %d MiB, %s", n>>20, cmp.Or(form, "held (a ballast in the heap)"))
	}
	d.mu.Lock()
	d.memory = in
	d.mu.Unlock()
	d.release = func() {
		release()
		d.mu.Lock()
		if in.Removed.IsZero() && !in.Applied.IsZero() {
			in.Removed = time.Now()
		}
		d.mu.Unlock()
	}
}

// inScope returns th with each step's target seen in scope s, where the
// target keeps its state per scope (faults.Scoper).
func inScope(th scenarios.Threat, s *faults.Scope) scenarios.Threat {
	steps := make([]scenarios.Step, len(th.Steps))
	for i, st := range th.Steps {
		if sc, ok := st.Target.(faults.Scoper); ok {
			st.Target = sc.InScope(s)
		}
		steps[i] = st
	}
	th.Steps = steps
	return th
}

// heal removes the threat's faults (once; later calls change nothing) and
// keeps what they did.
func (d *driver) heal() {
	evs := d.stop()
	d.mu.Lock()
	d.injections = evs
	d.mu.Unlock()
}

func (d *driver) onErr(err error) {
	d.mu.Lock()
	d.setup = append(d.setup, err)
	d.mu.Unlock()
}

// dispatch hands a request to an idle worker, or to a new one when every
// worker is busy, so that arrivals never wait (an open system, as real
// traffic is) and a worker's stack, once grown, serves many requests.
func (d *driver) dispatch(j job) {
	select {
	case d.jobs <- j:
	default:
		d.wg.Add(1)
		go d.worker(j)
	}
}

func (d *driver) worker(j job) {
	defer d.wg.Done()
	for ok := true; ok; {
		err := d.call(d.reqCtx)
		end := time.Since(d.t0)
		d.mu.Lock()
		d.samples[j.k] = sample{start: j.at, end: end, err: err, done: true}
		d.mu.Unlock()
		d.idle.Add(1)
		j, ok = <-d.jobs
		d.idle.Add(-1)
	}
}

// wait drains: it waits for the requests in flight until deadline, then
// cancels them and gives them a last second to notice before they count as
// hung.
func (d *driver) wait(deadline time.Duration, cancel func()) {
	all := make(chan struct{})
	go func() { d.wg.Wait(); close(all) }()
	drain := time.NewTimer(max(0, deadline-time.Since(d.t0)))
	defer drain.Stop()
	select {
	case <-all:
		return
	case <-drain.C:
	}
	cancel()
	last := time.NewTimer(time.Second)
	defer last.Stop()
	select {
	case <-all:
	case <-last.C:
	}
}

// record is the trial's record once drained.
func (d *driver) record(arrivals []time.Duration, deadline time.Duration) raw {
	d.mu.Lock()
	defer d.mu.Unlock()
	for k := range d.samples {
		if !d.samples[k].done {
			d.samples[k].start = arrivals[k]
		}
	}
	return raw{
		samples:        append([]sample(nil), d.samples...),
		attempts:       d.attempts.Load(),
		attemptAt:      append([]time.Duration(nil), d.attemptAt...),
		calls:          d.calls.Load(),
		flood:          d.flood,
		counts:         d.counts.snapshot(),
		peakGoroutines: d.peak,
		lag:            d.lag,
		deadline:       deadline,
		setupErr:       errors.Join(d.setup...),
		injections:     evidence(d.t0, d.allInjections()),
	}
}

// sampleEvery is how often, in arrivals, the driver counts goroutines: a
// count inside a bubble waits for the bubble to settle, which costs about a
// microsecond.
const sampleEvery = 8

// sampleGoroutines records the goroutines above the trial's start. Idle
// workers are not counted: whether a request found one idle or started a
// new one can depend on the order of things due at the same instant, and
// the count must not.
func (d *driver) sampleGoroutines() {
	d.peak = max(d.peak, d.goroutines()-int(d.idle.Load())-d.baseline)
}

// goroutines counts the process's goroutines. Inside a bubble it first lets
// every goroutine of the bubble run until it blocks, so that the count is
// the same on every replay.
func (d *driver) goroutines() int {
	if d.bubble {
		synctest.Wait()
	}
	return runtime.NumGoroutine()
}

// sleepUntil sleeps until offset at from the trial's start and records how
// late it woke: on a starved host, real time passes while the driver is not
// scheduled.
func (d *driver) sleepUntil(at time.Duration) {
	if w := at - time.Since(d.t0); w > 0 {
		time.Sleep(w)
	}
	d.lag = max(d.lag, time.Since(d.t0)-at)
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

// hold grows a ballast of n bytes and returns the function that releases it.
func hold(n int64, onErr func(error)) (release func(), form string) {
	b, err := faults.NewBallast(n)
	if err == nil {
		err = b.Grow(n)
	}
	if err != nil {
		onErr(fmt.Errorf("memory pressure: %w", err))
		return func() {}, ""
	}
	return b.Release, ""
}

// allInjections are the faults' evidence and the memory pressure's.
func (d *driver) allInjections() []faults.Injection {
	if d.memory == nil {
		return d.injections
	}
	return append(append([]faults.Injection(nil), d.injections...), *d.memory)
}

// counts are what a trial's workload counted with [Count].
type counts struct {
	mu sync.Mutex
	m  map[string]float64
}

// countsKey is the context key of a regular request's counts.
type countsKey struct{}

// Count adds v to the count name of the trial whose regular request ctx
// belongs to; outside a trial (in production, or a flood's call) it does
// nothing.
func Count(ctx context.Context, name string, v float64) {
	c, ok := ctx.Value(countsKey{}).(*counts)
	if !ok {
		return
	}
	c.mu.Lock()
	if c.m == nil {
		c.m = make(map[string]float64)
	}
	c.m[name] += v
	c.mu.Unlock()
}

// snapshot is a copy of the counts, nil when nothing was counted.
func (c *counts) snapshot() map[string]float64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.m)
}

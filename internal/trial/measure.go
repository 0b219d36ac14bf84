package trial

import (
	"cmp"
	"fmt"
	"math/bits"
	"slices"
	"sort"
	"time"

	"github.com/rafaelabs/rafael/scenarios"
	"github.com/rafaelabs/rafael/slo"
)

// Percentiles are those of an HDR histogram of the latencies in
// microseconds from 1µs to one hour with three significant digits (a 250ms
// latency is known to ±0.1 %), computed from the sorted latencies without
// the histogram's 180 KiB of counters (see [percentiles]).
const (
	histHighest = int64(time.Hour / time.Microsecond)
	histDigits  = 3
)

// Result is how a trial ended and what it measured.
type Result struct {
	Metrics  slo.Metrics
	Finished bool          // the trial's driver returned its record
	Hung     bool          // the watchdog fired: the bubble never finished
	Watchdog time.Duration // the watchdog's limit, when it fired
	Panicked string        // a panic out of the bubble, such as synctest's deadlock report
	Dump     string        // the stacks of the bubble's goroutines, when it hung or deadlocked
	SetupErr error         // the threat could not be injected as declared

	// Injections are the evidence of what each of the threat's faults did.
	Injections []Injection

	// The latencies of the requests that succeeded and of those that
	// failed (a request that never returned: until the drain deadline).
	Succeeded, Failed []time.Duration

	samples                 []sample        // every regular request, for Timeline
	attemptAt               []time.Duration // when each attempt started, for Timeline
	steady, inject, recover time.Duration
}

// Timeline is a trial over time: its requests by when they started, in
// equal buckets across the threat's steady, inject and recover phases.
type Timeline struct {
	Steady, Inject, Recover time.Duration // the phases' lengths
	Bucket                  time.Duration // each point's width
	Points                  []TimePoint
}

// TimePoint is one bucket of a [Timeline].
type TimePoint struct {
	Requests  int           // regular requests that started in it
	Succeeded int           // of those, how many returned nil
	P99       time.Duration // the 99th percentile latency of those that succeeded (0: none did)
	Attempts  int           // attempts the policy started in it, retries, hedges and a flood's included: the load on the dependency
}

// Timeline buckets the trial's requests by their start into n equal
// buckets over the threat's phases (n ≤ 0 means 20). A trial that did not
// finish has none.
func (r Result) Timeline(n int) Timeline {
	if n <= 0 {
		n = 20
	}
	tl := Timeline{Steady: r.steady, Inject: r.inject, Recover: r.recover}
	total := r.steady + r.inject + r.recover
	if !r.Finished || total <= 0 {
		return tl
	}
	tl.Bucket = total / time.Duration(n)
	lat := make([][]time.Duration, n)
	tl.Points = make([]TimePoint, n)
	for _, s := range r.samples {
		k := min(n-1, max(0, int(s.start/tl.Bucket)))
		p := &tl.Points[k]
		p.Requests++
		if s.done && s.err == nil {
			p.Succeeded++
			lat[k] = append(lat[k], s.end-s.start)
		}
	}
	for _, at := range r.attemptAt {
		if at < total {
			tl.Points[min(n-1, max(0, int(at/tl.Bucket)))].Attempts++
		}
	}
	for k := range tl.Points {
		if len(lat[k]) > 0 {
			tl.Points[k].P99 = percentiles(lat[k], 99)[0]
		}
	}
	return tl
}

// Violations lists how the trial broke s, or could not run: an aborted
// trial, a threat that could not be injected, then [slo.Check].
func (r Result) Violations(s slo.SLO) []slo.Violation {
	switch {
	case r.Hung:
		return []slo.Violation{{Kind: slo.Aborted, Detail: fmt.Sprintf("the trial hung: it was still running after %v of real time (a workload blocked on something outside the synctest bubble, such as real I/O, a mutex or a busy loop: run it on the wire tier with Tier: harness.Wire, and declare a hook around a real client's calls with faults.NewHook(…).Remote())", r.Watchdog)}}
	case !r.Finished:
		return []slo.Violation{{Kind: slo.Aborted, Detail: "the trial did not finish: " + r.Panicked}}
	}
	var vs []slo.Violation
	if r.Panicked != "" {
		vs = append(vs, slo.Violation{Kind: slo.Aborted, Detail: "synctest: " + r.Panicked})
	}
	if r.SetupErr != nil {
		vs = append(vs, slo.Violation{Kind: slo.Setup, Detail: r.SetupErr.Error()})
	}
	return append(vs, slo.Check(s, r.Metrics)...)
}

// Outcome is the trial judged against s: its violations, its shortfall
// ([slo.Shortfall]) and whether it met s.
func (r Result) Outcome(s slo.SLO) (vs []slo.Violation, shortfall float64, met bool) {
	vs = r.Violations(s)
	return vs, slo.Shortfall(vs), len(vs) == 0
}

// finish measures a driver's record.
func finish(cfg Config, th scenarios.Threat, r raw, finished bool) Result {
	res := Result{Finished: finished, SetupErr: r.setupErr, Injections: r.injections,
		samples: r.samples, attemptAt: r.attemptAt, steady: th.Steady, inject: th.Inject, recover: th.Recover}
	if finished {
		res.Metrics, res.Succeeded, res.Failed = measure(th, r, cfg)
	}
	return res
}

// measure turns a trial's record into its metrics and fitness, and the
// latencies of its successes and failures.
func measure(th scenarios.Threat, r raw, cfg Config) (m slo.Metrics, ok, failed []time.Duration) {
	m = slo.Metrics{Requests: len(r.samples), Lag: r.lag}
	ok = make([]time.Duration, 0, len(r.samples))
	for _, s := range r.samples {
		d := s.end - s.start
		switch {
		case !s.done:
			m.Hung++
			failed = append(failed, max(0, r.deadline-s.start))
		case s.err == nil:
			m.Succeeded++
			ok = append(ok, d)
		default:
			failed = append(failed, d)
		}
	}
	if m.Requests > 0 {
		m.SuccessRate = float64(m.Succeeded) / float64(m.Requests)
	}
	q := percentiles(ok, 50, 90, 99)
	m.P50, m.P90, m.P99, m.Max = q[0], q[1], q[2], q[3]
	q = percentiles(failed, 50, 99)
	m.FailedP50, m.FailedP99, m.FailedMax = q[0], q[1], q[2]
	m.Recovered, m.Recovery = recovery(th, r.samples)
	m.Metastable, m.LoadAfter = metastable(th, r.samples, r.attemptAt, cfg.RecoverWithin)
	m.AttemptsPerRequest = 1
	if r.attempts > 0 && r.calls > 0 {
		m.AttemptsPerRequest = float64(r.attempts) / float64(r.calls)
	}
	m.PeakInFlight = peakInFlight(r.samples)
	m.PeakGoroutines = r.peakGoroutines
	m.FloodCalls, m.FloodErrors = r.flood.Calls, r.flood.Errors
	m.Errors = topErrors(r.samples, 3)
	m.Counts = r.counts
	var terms []slo.Weighed
	if len(cfg.Terms) > 0 {
		m.Terms = make(map[string]float64, len(cfg.Terms))
		for _, t := range cfg.Terms {
			v, panicked := termValue(t, m)
			if panicked != "" {
				m.Errors = append(m.Errors, panicked)
			}
			m.Terms[t.Name] = v
			terms = append(terms, slo.Weighed{Weight: t.Weight, Value: v})
		}
	}
	m.Fitness = cfg.Weights.FitnessWith(m.SuccessRate, recoveryScore(th, m), 1/max(1, m.AttemptsPerRequest),
		slo.LatencyScore(m.P99, cfg.LatencyRef), terms...)
	return m, ok, failed
}

// termValue is t's value in a trial measured m, in [0, 1]: NaN, or a
// panic of the team's function, count 0; panicked then says what happened.
func termValue(t slo.Term, m slo.Metrics) (v float64, panicked string) {
	defer func() {
		if r := recover(); r != nil {
			v, panicked = 0, fmt.Sprintf("fitness term %q panicked: %v", t.Name, r)
		}
	}()
	v = t.Of(m)
	if !(v > 0) {
		return 0, ""
	}
	return min(v, 1), ""
}

// percentiles returns the percentiles ps of ds, then their maximum
// (exactly); all zero for no ds. It sorts ds.
//
// A percentile is what an HDR histogram of ds in microseconds with
// [histDigits] significant digits reports (hdrhistogram-go's
// ValueAtPercentilesSlice, to which a test holds it): the highest value
// equivalent to the sample at the percentile's rank, capped at the
// maximum. Sorting 100 latencies is cheaper than clearing the histogram's
// counters.
func percentiles(ds []time.Duration, ps ...float64) []time.Duration {
	out := make([]time.Duration, len(ps)+1)
	if len(ds) == 0 {
		return out
	}
	slices.Sort(ds)
	top := ds[len(ds)-1]
	for i, p := range ps {
		v := ds[percentileRank(p, len(ds))-1]
		out[i] = min(top, time.Duration(highestEquivalent(min(histHighest, int64(v/time.Microsecond))))*time.Microsecond)
	}
	out[len(ps)] = top
	return out
}

// percentileRank is the 1-based rank of percentile p among n samples, as
// an HDR histogram rounds it.
func percentileRank(p float64, n int) int {
	rank := min(p, 100)/100*float64(n) + 0.5
	switch {
	case !(rank >= 1):
		return 1
	case rank >= float64(n):
		return n
	}
	return int(rank)
}

// subBucketBits is log2 of an HDR histogram's sub-buckets for
// [histDigits] significant digits from 1: 2·10³ rounded up to 2048.
const subBucketBits = 11

// highestEquivalent is the highest value an HDR histogram of [histDigits]
// significant digits counts in the same bucket as v ≥ 0: values below 2048
// are exact, and each doubling above halves the resolution.
func highestEquivalent(v int64) int64 {
	shift := max(0, bits.Len64(uint64(v)|(1<<subBucketBits-1))-subBucketBits)
	return v>>shift<<shift + 1<<shift - 1
}

// recovery finds when the workload came back after the fault was removed:
// the end of the first success after the last failure among the requests
// that started once the inject phase was over. With no such failure it
// recovered at once; if the last of them failed it never did.
func recovery(th scenarios.Threat, ss []sample) (bool, time.Duration) {
	healed := th.Steady + th.Inject
	lastFail := -1
	after := ss[:0:0]
	for _, s := range ss {
		if s.start >= healed {
			after = append(after, s)
		}
	}
	for i, s := range after {
		if !s.done || s.err != nil {
			lastFail = i
		}
	}
	switch {
	case lastFail < 0:
		return true, 0
	case lastFail == len(after)-1:
		return false, th.Recover
	}
	return true, max(0, after[lastFail+1].end-healed)
}

// Metastability: a trial is metastable when, late in the recover phase,
// its requests still do markedly worse than in the steady phase (success
// rate below by more than [stuckBy], or p99 above [stuckBy99] times) while
// the policy keeps putting at least [sustainedLoad] times the steady load
// on the dependency: the overload sustains itself after its trigger is
// gone (Bronson et al., "Metastable failures in distributed systems",
// HotOS'21). A trial that is still down without the extra load (a
// dependency that never came back) is not metastable; it never recovered.
const (
	stuckBy       = 0.1
	stuckBy99     = 2
	sustainedLoad = 1.5
	// minJudged is the fewest requests a window needs to be judged.
	minJudged = 5
)

// metastable judges the trial's recovery (see [stuckBy]): it compares the
// steady phase with the tail of the recover phase — after its first half
// and after recoverWithin, but at least its last quarter — and returns
// whether the trial is metastable and the tail's load (attempts a second)
// as a multiple of the steady phase's; 0 when either window is too thin to
// judge.
func metastable(th scenarios.Threat, ss []sample, attemptAt []time.Duration, recoverWithin time.Duration) (bool, float64) {
	if th.Steady <= 0 || th.Inject <= 0 || th.Recover <= 0 {
		return false, 0
	}
	healed, total := th.Steady+th.Inject, th.Duration()
	from := healed + min(max(th.Recover/2, recoverWithin), th.Recover*3/4)
	type window struct {
		requests, succeeded, attempts int
		ok                            []time.Duration
	}
	var steady, tail window
	for _, s := range ss {
		w := &steady
		switch {
		case s.start < th.Steady:
		case s.start >= from && s.start < total:
			w = &tail
		default:
			continue
		}
		w.requests++
		if s.done && s.err == nil {
			w.succeeded++
			w.ok = append(w.ok, s.end-s.start)
		}
	}
	for _, at := range attemptAt {
		switch {
		case at < th.Steady:
			steady.attempts++
		case at >= from && at < total:
			tail.attempts++
		}
	}
	if steady.requests < minJudged || tail.requests < minJudged || steady.attempts == 0 {
		return false, 0
	}
	load := (float64(tail.attempts) / float64(total-from)) / (float64(steady.attempts) / float64(th.Steady))
	rate := func(w window) float64 { return float64(w.succeeded) / float64(w.requests) }
	stuck := rate(tail) < rate(steady)-stuckBy
	if p0 := percentiles(steady.ok, 99)[0]; !stuck && p0 > 0 && len(tail.ok) > 0 {
		stuck = percentiles(tail.ok, 99)[0] > stuckBy99*p0
	}
	return stuck && load >= sustainedLoad, load
}

// recoveryScore is 1 for an instant recovery, falling to 0 for one that took
// the whole recover phase or never came.
func recoveryScore(th scenarios.Threat, m slo.Metrics) float64 {
	switch {
	case !m.Recovered || m.Metastable:
		return 0
	case th.Recover <= 0:
		return 1
	}
	return max(0, 1-float64(m.Recovery)/float64(th.Recover))
}

// peakInFlight is the most requests in flight at once, from their start and
// end times (a request that never returned is in flight forever).
func peakInFlight(ss []sample) int {
	type edge struct {
		at    time.Duration
		delta int
	}
	es := make([]edge, 0, 2*len(ss))
	for _, s := range ss {
		es = append(es, edge{s.start, +1})
		if s.done {
			es = append(es, edge{s.end, -1})
		}
	}
	// At equal times ends come first: a request that ends as another starts
	// does not overlap it.
	slices.SortFunc(es, func(a, b edge) int {
		return cmp.Or(cmp.Compare(a.at, b.at), cmp.Compare(a.delta, b.delta))
	})
	n, peak := 0, 0
	for _, e := range es {
		n += e.delta
		peak = max(peak, n)
	}
	return peak
}

// topErrors returns the n most frequent distinct errors, with their counts.
func topErrors(ss []sample, n int) []string {
	counts := map[string]int{}
	for _, s := range ss {
		switch {
		case !s.done:
			counts["never returned, even after its context was cancelled"]++
		case s.err != nil:
			counts[s.err.Error()]++
		}
	}
	type kv struct {
		msg string
		n   int
	}
	var all []kv
	for k, v := range counts {
		all = append(all, kv{k, v})
	}
	sort.Slice(all, func(i, j int) bool {
		if all[i].n != all[j].n {
			return all[i].n > all[j].n
		}
		return all[i].msg < all[j].msg
	})
	var out []string
	for _, e := range all[:min(n, len(all))] {
		out = append(out, fmt.Sprintf("%d× %s", e.n, e.msg))
	}
	return out
}

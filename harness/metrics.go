package harness

import (
	"fmt"
	"sort"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/rafaelabs/rafael/evolve"
	"github.com/rafaelabs/rafael/report"
	"github.com/rafaelabs/rafael/scenarios"
)

// Latencies are recorded in microseconds from 1µs to one hour with three
// significant digits: a 250ms latency is known to ±0.1 %.
const (
	histLowest  = 1
	histHighest = int64(time.Hour / time.Microsecond)
	histDigits  = 3
)

// newHistogram returns the latency histogram of one trial; measure resets
// it, so one serves every trial of a run.
func newHistogram() *hdrhistogram.Histogram {
	return hdrhistogram.New(histLowest, histHighest, histDigits)
}

// measure turns a trial's record into its metrics and fitness; h is the
// histogram to record latencies in (nil: a new one).
func measure(th scenarios.Threat, r raw, w evolve.Weights, h *hdrhistogram.Histogram) report.Metrics {
	m := report.Metrics{Requests: len(r.samples)}
	if h == nil {
		h = newHistogram()
	}
	h.Reset()
	for _, s := range r.samples {
		switch {
		case !s.done:
			m.Hung++
		case s.err == nil:
			m.Succeeded++
		}
		if s.done {
			d := s.end - s.start
			m.Max = max(m.Max, d)
			_ = h.RecordValue(min(histHighest, int64(d/time.Microsecond)))
		}
	}
	if m.Requests > 0 {
		m.SuccessRate = float64(m.Succeeded) / float64(m.Requests)
	}
	if h.TotalCount() > 0 {
		q := h.ValueAtPercentilesSlice([]float64{50, 90, 99})
		us := func(v int64) time.Duration { return min(m.Max, time.Duration(v)*time.Microsecond) }
		m.P50, m.P90, m.P99 = us(q[0]), us(q[1]), us(q[2])
	}
	m.Recovered, m.Recovery = recovery(th, r.samples)
	m.AttemptsPerRequest = 1
	if r.attempts > 0 && r.calls > 0 {
		m.AttemptsPerRequest = float64(r.attempts) / float64(r.calls)
	}
	m.PeakInFlight = peakInFlight(r.samples)
	m.PeakGoroutines = r.peakGoroutines
	m.FloodCalls, m.FloodErrors = r.flood.Calls, r.flood.Errors
	m.Errors = topErrors(r.samples, 3)
	m.Fitness = w.Fitness(m.SuccessRate, recoveryScore(th, m), 1/max(1, m.AttemptsPerRequest))
	return m
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

// recoveryScore is 1 for an instant recovery, falling to 0 for one that took
// the whole recover phase or never came.
func recoveryScore(th scenarios.Threat, m report.Metrics) float64 {
	switch {
	case !m.Recovered:
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
	sort.Slice(es, func(i, j int) bool {
		if es[i].at != es[j].at {
			return es[i].at < es[j].at
		}
		return es[i].delta < es[j].delta
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

// bucketBounds are the latency distribution's upper bounds: 1-2-5 steps
// from 1ms to 1m, then one bucket for everything slower.
var bucketBounds = func() []time.Duration {
	var b []time.Duration
	for d := time.Millisecond; d <= time.Minute; d *= 10 {
		b = append(b, d, 2*d, 5*d)
	}
	return append(b, time.Duration(1<<63-1))
}()

// addBuckets adds the latencies of the requests that returned to the
// distribution bs (nil: a new one), keeping only buckets up to the slowest
// non-empty one.
func addBuckets(bs []report.Bucket, ss []sample) []report.Bucket {
	if len(bs) == 0 {
		bs = make([]report.Bucket, len(bucketBounds))
		for i, b := range bucketBounds {
			bs[i].UpTo = b
		}
	}
	for len(bs) < len(bucketBounds) { // grow back what was trimmed
		bs = append(bs, report.Bucket{UpTo: bucketBounds[len(bs)]})
	}
	for _, s := range ss {
		if !s.done {
			continue
		}
		d := s.end - s.start
		i := sort.Search(len(bucketBounds), func(i int) bool { return bucketBounds[i] >= d })
		bs[i].Count++
	}
	last := 0
	for i, b := range bs {
		if b.Count > 0 {
			last = i
		}
	}
	return bs[:last+1]
}

package report

import (
	"sort"
	"time"
)

// bucketBounds are the latency distribution's upper bounds: 1-2-5 steps
// from 1ms to 1m, then one bucket for everything slower.
var bucketBounds = func() []time.Duration {
	var b []time.Duration
	for d := time.Millisecond; d <= time.Minute; d *= 10 {
		b = append(b, d, 2*d, 5*d)
	}
	return append(b, time.Duration(1<<63-1))
}()

// AddLatencies adds latencies ds to the distribution bs (nil: a new one),
// keeping only buckets up to the slowest non-empty one.
func AddLatencies(bs []Bucket, ds []time.Duration) []Bucket {
	if len(bs) == 0 && len(ds) == 0 {
		return bs
	}
	for len(bs) < len(bucketBounds) { // grow back what was trimmed
		bs = append(bs, Bucket{UpTo: bucketBounds[len(bs)]})
	}
	for _, d := range ds {
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

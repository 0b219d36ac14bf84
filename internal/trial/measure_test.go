package trial

import (
	"testing"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"
)

// The percentiles a trial reports are those an HDR histogram of the
// latencies would report, computed without one.
func TestPercentilesAreTheHistogramsOnes(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		// Latencies from sub-microsecond to past the histogram's hour, with
		// repeats, in any order.
		scale := rapid.SampledFrom([]time.Duration{time.Nanosecond, time.Microsecond, time.Millisecond, time.Second, time.Minute, 2 * time.Hour}).Draw(rt, "scale")
		ds := rapid.SliceOfN(rapid.Custom(func(rt *rapid.T) time.Duration {
			return time.Duration(rapid.Int64Range(0, 5000).Draw(rt, "n")) * scale
		}), 1, 300).Draw(rt, "latencies")
		ps := []float64{0, 50, 90, 99, 99.9, 100}

		h := hdrhistogram.New(1, histHighest, histDigits)
		var top time.Duration
		for _, d := range ds {
			top = max(top, d)
			require.NoError(rt, h.RecordValue(min(histHighest, int64(d/time.Microsecond))))
		}
		var want []time.Duration
		for _, v := range h.ValueAtPercentilesSlice(ps) {
			want = append(want, min(top, time.Duration(v)*time.Microsecond))
		}
		want = append(want, top)

		got := percentiles(append([]time.Duration(nil), ds...), ps...)
		// The 0th percentile is the histogram's lowest equivalent value; a
		// trial never asks for it, and percentiles gives the highest.
		require.Equal(rt, want[1:], got[1:], "latencies %v", ds)
	})
}

func TestPercentilesOfNothingAreZero(t *testing.T) {
	require.Equal(t, []time.Duration{0, 0, 0}, percentiles(nil, 50, 99))
}

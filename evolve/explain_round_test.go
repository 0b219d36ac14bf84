package evolve

import (
	"testing"
	"time"

	"github.com/rafaelabs/rafael/genome"
	"github.com/stretchr/testify/assert"
)

func TestRoundingsAreRounderValuesRoundestFirst(t *testing.T) {
	param := func(path string) genome.Param {
		for _, p := range genome.Params() {
			if p.Path() == path {
				return p
			}
		}
		t.Fatalf("no parameter %s", path)
		return genome.Param{}
	}
	ms := float64(time.Millisecond)
	for _, tc := range []struct {
		path string
		v    float64
		want []float64
	}{
		{"retry.baseDelay", 1150 * ms, []float64{1000 * ms, 1200 * ms}},
		{"retry.multiplier", 4.92, []float64{5, 4.9}},
		{"retry.jitter", 0.0344, []float64{0.03, 0.034}}, // never 0
		{"timeout.perAttempt", 47.4 * ms, []float64{0, 50 * ms, 47 * ms}},
		{"retry.baseDelay", 1000 * ms, nil}, // round already
		{"retry.maxAttempts", 3, nil},       // a count
		{"timeout.overall", 1.15 * ms, []float64{0, 1 * ms, 1.2 * ms}},
	} {
		got := roundings(param(tc.path), tc.v)
		assert.InDeltaSlice(t, tc.want, got, 1e-9, "%s %v", tc.path, tc.v)
	}
}

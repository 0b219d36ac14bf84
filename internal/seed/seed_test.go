package seed

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestMixIsStableAndSpreads(t *testing.T) {
	assert.Equal(t, Mix(1, 2, 3), Mix(1, 2, 3))
	seen := map[uint64]bool{}
	for s := range uint64(50) {
		for k := range uint64(50) {
			seen[Mix(s, k)] = true
		}
	}
	assert.Len(t, seen, 2500, "no two (seed, index) pairs collide")
	assert.NotEqual(t, Mix(1, 2, 3), Mix(1, 3, 2), "the order of indices matters")
	assert.NotEqual(t, String("TestA"), String("TestB"))
}

func TestRandIsDeterministicAndInRange(t *testing.T) {
	a, b := New(7), New(7)
	sum := 0.0
	for range 10000 {
		x := a.Float64()
		assert.Equal(t, x, b.Float64())
		assert.True(t, x >= 0 && x < 1)
		sum += x
		n := a.IntN(5)
		b.IntN(5)
		assert.True(t, n >= 0 && n < 5)
	}
	assert.InDelta(t, 0.5, sum/10000, 0.02)
	nsum, nsq := 0.0, 0.0
	for range 20000 {
		v := a.Norm()
		nsum += v
		nsq += v * v
	}
	assert.InDelta(t, 0, nsum/20000, 0.05)
	assert.InDelta(t, 1, nsq/20000, 0.05)
}

// Package seed derives the seeds of a run: one run seed, sub-seeds per
// threat, trial and target, and a small deterministic random source. No
// package of RAFAEL draws from a global random source.
package seed

import "math"

// Mix returns a sub-seed of s for the path of indices ks: the same inputs
// always give the same output, and nearby inputs give unrelated outputs.
func Mix(s uint64, ks ...uint64) uint64 {
	x := splitmix(s)
	for _, k := range ks {
		x = splitmix(x ^ splitmix(k+0x632be59bd9b4e019))
	}
	return x
}

// String returns a seed for a string, such as a test's name (FNV-1a, then mixed).
func String(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return splitmix(h)
}

// Rand is a SplitMix64 stream: small, fast and deterministic. It is not safe
// for concurrent use.
type Rand struct{ state uint64 }

// New returns a stream that starts from s.
func New(s uint64) *Rand { return &Rand{state: s} }

// Uint64 returns the next value of the stream.
func (r *Rand) Uint64() uint64 {
	r.state += 0x9e3779b97f4a7c15
	return splitmix(r.state)
}

// Float64 returns a value in [0, 1).
func (r *Rand) Float64() float64 { return float64(r.Uint64()>>11) / (1 << 53) }

// IntN returns a value in [0, n); n must be positive.
func (r *Rand) IntN(n int) int {
	if n <= 0 {
		panic("seed: IntN of a non-positive bound")
	}
	return int(r.Uint64() % uint64(n))
}

// Norm returns a standard normal value (Box–Muller).
func (r *Rand) Norm() float64 {
	u := 1 - r.Float64() // (0, 1]
	return math.Sqrt(-2*math.Log(u)) * math.Cos(2*math.Pi*r.Float64())
}

func splitmix(z uint64) uint64 {
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

package scenarios

import (
	"errors"
	"fmt"
	"math"
	"math/bits"
)

// RapidBits returns the data of a rapid fail file that replays t: the
// words rapid's bit stream must hold for t.AtMost().Generator() to draw t
// itself (each generated parameter at its value) and for a following
// rapid.Uint64() to draw trialSeed — what evolve.Property draws. A search
// that found t by other means (the adversary) keeps it this way, so that a
// property check of the same name replays it first on every later run.
//
// It encodes rapid v1.3.0's draws of Int64Range and Uint64 (rapid checks
// its version in the file and ignores a file of another); a threat with a
// parameter drawn as a float, or a trial seed of 2⁶³ or more (which
// rapid's biased draw of a 64-bit integer cannot produce), is an error.
func (t Threat) RapidBits(trialSeed uint64) ([]uint64, error) {
	if t.build == nil {
		return nil, errors.New("scenarios: a composed threat has no generated parameters to draw")
	}
	capped := t.AtMost()
	var out []uint64
	for _, p := range capped.params {
		if !p.Duration && !p.Integer {
			return nil, fmt.Errorf("scenarios: %s.%s is drawn as a float, which RapidBits does not encode", t.Name, p.Name)
		}
		lo, hi, v := int64(p.Min), int64(p.Max), int64(p.Value)
		if lo < 0 || v < lo || v > hi {
			return nil, fmt.Errorf("scenarios: %s.%s = %d outside %d–%d", t.Name, p.Name, v, lo, hi)
		}
		// genIntRange with min ≥ 0: a coin for the sign that never comes
		// up negative, then the unsigned draw.
		out = append(out, 0)
		out = append(out, uintDraw(uint64(hi-lo), uint64(v-lo))...)
	}
	if trialSeed >= 1<<63 {
		return nil, fmt.Errorf("scenarios: trial seed %d is 2⁶³ or more: rapid's Uint64 cannot draw it", trialSeed)
	}
	return append(out, uintDraw(math.MaxUint64, trialSeed)...), nil
}

// uintDraw is the words for rapid's biased draw of u in 0–max
// (genUintNBiased), top being max: a geometric draw n of how many bits to draw, then the
// bits. n is chosen so that u fits: the bit length of max when that is
// below rapid's overflow threshold, else u's own.
func uintDraw(top, u uint64) []uint64 {
	bitlen := bits.Len64(top)
	m := math.Max(8, (float64(bitlen)+48)/7)
	overflow := 64 - (16-int(m))*4
	n := bitlen
	if n >= overflow {
		n = bits.Len64(u)
	}
	n = max(1, n) // the draw is at least one: a geometric draw plus one
	// genGeom(p) = uint64(log1p(-f)/log1p(-p)) must be n-1, with f a
	// word's 53 bits over 2⁵³: aim at its middle.
	p := 1 / (m + 1)
	f := -math.Expm1((float64(n-1) + 0.5) * math.Log1p(-p))
	w := uint64(f * (1 << 53))
	geom := func(w uint64) float64 { return math.Log1p(-float64(w)*0x1.0p-53) / math.Log1p(-p) }
	for w < 1<<53-1 && geom(w) < float64(n-1) {
		w++
	}
	for w > 0 && geom(w) >= float64(n) {
		w--
	}
	return []uint64{w, u}
}

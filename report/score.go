package report

import (
	"math"
	"slices"
)

// ScoreOf is the score of a threat's trials: the mean of their
// [Metrics.Fitness] ×100, with a 95 % confidence interval from the normal
// approximation, 1.96·sd/√n with the sample standard deviation (zero width
// for one trial), Low clamped at 0 and High at 100. No trials score zero.
//
// The sums run over the fitness values in ascending order, so the score does
// not depend on the order of the trials: shards merged in any order score
// bit for bit what the unsharded run scores.
func ScoreOf(trials []Trial) Score {
	n := len(trials)
	if n == 0 {
		return Score{}
	}
	fit := make([]float64, n)
	for i, tr := range trials {
		fit[i] = tr.Metrics.Fitness
	}
	mean := sum(fit) / float64(n)
	for i, f := range fit {
		fit[i] = (f - mean) * (f - mean)
	}
	half := 0.0
	if n > 1 {
		half = 1.96 * math.Sqrt(sum(fit)/float64(n-1)/float64(n))
	}
	return Score{Score: 100 * mean, Low: 100 * max(0, mean-half), High: 100 * min(1, mean+half), Trials: n}
}

// Overall is the run's score from its threats' scores: the mean of the
// per-threat Score, Low and High weighted by severity (medium 1, high 2,
// critical 3; any other severity weighs 1), and Trials summed. Threats
// without trials are left out. evolved is the same over the threats'
// evolved scores, or nil when no threat has one. Like [ScoreOf], the
// result does not depend on the order of the threats.
func Overall(threats []Threat) (baseline Score, evolved *Score) {
	baseline = weighted(threats, func(t Threat) *Score { return &t.Score })
	if slices.ContainsFunc(threats, func(t Threat) bool { return t.Evolved != nil }) {
		e := weighted(threats, func(t Threat) *Score { return t.Evolved })
		evolved = &e
	}
	return baseline, evolved
}

// weighted is the severity-weighted mean of the scores pick returns.
func weighted(threats []Threat, pick func(Threat) *Score) Score {
	var s, l, h, w []float64
	trials := 0
	for _, t := range threats {
		sc := pick(t)
		if sc == nil || sc.Trials == 0 {
			continue
		}
		wt := weight(t.Severity)
		s, l, h, w = append(s, wt*sc.Score), append(l, wt*sc.Low), append(h, wt*sc.High), append(w, wt)
		trials += sc.Trials
	}
	ws := sum(w)
	if ws == 0 {
		return Score{Trials: trials}
	}
	return Score{Score: sum(s) / ws, Low: sum(l) / ws, High: sum(h) / ws, Trials: trials}
}

// weight is a severity's weight in the overall score.
func weight(severity string) float64 {
	switch severity {
	case "high":
		return 2
	case "critical":
		return 3
	}
	return 1
}

// sum adds xs in ascending order, so the result does not depend on their
// order. It sorts xs in place.
func sum(xs []float64) float64 {
	slices.Sort(xs)
	total := 0.0
	for _, x := range xs {
		total += x
	}
	return total
}

// verdict is a threat's verdict from whether the starting genome and the
// champion passed it.
func verdict(before, after bool) string {
	switch {
	case before && after:
		return Held
	case after:
		return Mitigated
	case before:
		return Regressed
	}
	return Vulnerable
}

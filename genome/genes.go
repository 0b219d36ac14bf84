package genome

import (
	"encoding/json"
	"fmt"
	"time"
)

// GeneKind names one kind of gene. The constants are listed in the order in
// which a compiled [Policy] applies them, outermost first.
type GeneKind uint8

// The gene kinds, outermost first.
const (
	GeneFallback GeneKind = iota
	GeneRateLimit
	GeneBulkhead
	GeneTimeout
	GeneRetry
	GeneCircuitBreaker
	GeneHedge
	numGenes
)

var geneNames = [numGenes]string{"fallback", "rateLimit", "bulkhead", "timeout", "retry", "circuitBreaker", "hedge"}

// String returns the gene's JSON name, such as "circuitBreaker".
func (k GeneKind) String() string {
	if k < numGenes {
		return geneNames[k]
	}
	return fmt.Sprintf("GeneKind(%d)", uint8(k))
}

// ParseGeneKind returns the gene kind whose JSON name is s.
func ParseGeneKind(s string) (GeneKind, error) {
	for i, n := range geneNames {
		if n == s {
			return GeneKind(i), nil
		}
	}
	return 0, fmt.Errorf("genome: unknown gene %q (expected one of %s)", s, quoteList(geneNames[:]))
}

// Catalogue returns every gene kind, outermost first.
func Catalogue() []GeneKind {
	ks := make([]GeneKind, numGenes)
	for i := range ks {
		ks[i] = GeneKind(i)
	}
	return ks
}

// Retry re-runs a failed call with exponential backoff.
//
// The delay before retry n (n = 1 for the first retry) is
// min(MaxDelay, BaseDelay·Multiplier^(n-1)), of which a random fraction up to
// Jitter is taken off.
//
// With a Budget the retries are adaptive: they are shared by every call of
// the policy, as gRPC's retry throttling and Finagle's and failsafe-go's
// retry budgets share theirs. Each call puts Budget tokens into a bucket
// that holds at most [RetryBudgetBurst] (and starts full); each retry takes
// one, and a retry that finds less than one is not made — the call ends
// with an [*Error] of reason [ErrRetryBudget]. So under a sustained outage
// the policy adds at most a Budget fraction of load on top of its calls,
// instead of multiplying it by MaxAttempts: the retry storm that keeps an
// overloaded dependency down after its trigger (a metastable failure) is
// bounded, while a few failures are still retried at once.
type Retry struct {
	MaxAttempts int           // attempts in all, including the first: 1–20
	BaseDelay   time.Duration // delay before the first retry: 1ms–30s
	MaxDelay    time.Duration // cap on any delay: 1ms–5m, at least BaseDelay
	Multiplier  float64       // growth per retry: 1–10
	Jitter      float64       // fraction of each delay randomised away: 0–1
	Budget      float64       // retries as a fraction of calls, shared across calls: 0 (static: no budget) or 0.01–1
}

// RetryBudgetBurst is how many retries a [Retry] budget holds at most, and
// holds when the policy is compiled: a burst of failures after a quiet spell
// is retried at once, up to this many.
const RetryBudgetBurst = 10

// BreakerMode chooses what opens a circuit breaker.
type BreakerMode uint8

// The circuit breaker modes.
const (
	// BreakerConsecutive opens after Threshold failures in a row.
	BreakerConsecutive BreakerMode = iota
	// BreakerRate opens when at least FailureRate of the last Window calls failed.
	BreakerRate
)

var breakerModeNames = []string{"consecutive", "rate"}

// String returns "consecutive" or "rate".
func (m BreakerMode) String() string { return choiceName(breakerModeNames, uint8(m)) }

// CircuitBreaker stops calling a failing dependency for a while, then lets a
// few probe calls through to see whether it has recovered.
type CircuitBreaker struct {
	Mode           BreakerMode   // consecutive or rate
	Threshold      int           // consecutive failures that open the breaker: 1–1000
	FailureRate    float64       // failure fraction that opens it in rate mode: 0.01–1
	Window         int           // calls the failure rate is measured over: 1–10000
	OpenDuration   time.Duration // how long it stays open: 1ms–10m
	HalfOpenProbes int           // probe calls admitted while half-open, all of which must succeed to close: 1–100
}

// Timeout bounds how long calls may take. A zero field means no such timeout,
// but at least one of the two must be set.
type Timeout struct {
	PerAttempt time.Duration // each attempt: 0 (none) or 1ms–10m
	Overall    time.Duration // the whole call, retries and backoff included: 0 (none) or 1ms–1h
}

// RateLimit admits calls at a steady rate with bursts (a token bucket);
// a call beyond the limit is rejected at once with [ErrRateLimited].
type RateLimit struct {
	Rate  float64 // calls per second: 0.01–1e9
	Burst int     // calls admitted back to back: 1–1e6
}

// Bulkhead bounds the calls in flight; a call that finds it full waits up to
// MaxWait for a slot, then is rejected with [ErrBulkheadFull].
//
// The bound is MaxConcurrent (Limit static), or adaptive: a concurrency
// limit that starts at MaxConcurrent and moves between MinConcurrent and
// MaxConcurrent as the calls' latency and failures show the dependency
// queueing (see [LimitAlgorithm]). An adaptive limit keeps an overloaded
// dependency's queue short without a number someone had to guess, and
// follows its capacity when that changes.
type Bulkhead struct {
	MaxConcurrent int            // calls in flight (an adaptive limit's ceiling and start): 1–10000
	MaxWait       time.Duration  // wait for a slot: 0 (reject at once) or up to 1m
	Limit         LimitAlgorithm // static, aimd, vegas or gradient2
	MinConcurrent int            // an adaptive limit's floor: 0 (static) or 1–10000, at most MaxConcurrent
	Tolerance     float64        // how much slower than its best a call may be before an adaptive limit falls: 0 (static) or 1.1–10
}

// FallbackKind chooses what a failed call is replaced with.
type FallbackKind uint8

// The fallback kinds.
const (
	// FallbackStatic replaces the failure with Fallback.Value (decoded into
	// the result type by [Get]; [Policy.Do] returns nil).
	FallbackStatic FallbackKind = iota
	// FallbackCached replaces the failure with the last successful result,
	// when there is one.
	FallbackCached
	// FallbackError replaces the failure with a [DegradedError] of class
	// Fallback.ErrorClass, which callers handle as one known condition.
	FallbackError
)

var fallbackKindNames = []string{"static", "cached", "error"}

// String returns "static", "cached" or "error".
func (k FallbackKind) String() string { return choiceName(fallbackKindNames, uint8(k)) }

// Fallback replaces a call that failed after every other gene gave up.
// It never masks the caller's own cancellation.
type Fallback struct {
	Kind       FallbackKind    // static, cached or error
	Value      json.RawMessage // the static value, as JSON (kind static; empty means the zero value), used in canonical form
	ErrorClass string          // the class of the degraded error (kind error), e.g. "unavailable"
}

// Hedge starts another attempt when the current one is slow, and takes the
// first success.
//
// With a Quantile the hedge is adaptive: it waits for that quantile of the
// first attempts' latency, as measured on the policy's own calls (starting
// from Delay), instead of a fixed Delay — "hedge the slowest 5 %" stays
// true when the dependency gets faster or slower, as a fixed delay does
// not (Dean and Barroso, "The tail at scale").
type Hedge struct {
	Delay     time.Duration // wait before each extra attempt (adaptive: where the estimate starts): 1ms–1m
	MaxHedges int           // extra attempts at most: 1–10
	Quantile  float64       // hedge after this quantile of the first attempts' latency: 0 (static: after Delay) or 0.5–0.999
}

// DefaultGene returns a gene of kind k with conventional parameters, as a
// pointer to its type (*Retry, *CircuitBreaker, ...). Evolution adds genes
// this way.
func DefaultGene(k GeneKind) any {
	switch k {
	case GeneFallback:
		return &Fallback{Kind: FallbackError, ErrorClass: "unavailable"}
	case GeneRateLimit:
		return &RateLimit{Rate: 100, Burst: 20}
	case GeneBulkhead:
		return &Bulkhead{MaxConcurrent: 16, MaxWait: 0}
	case GeneTimeout:
		return &Timeout{PerAttempt: time.Second, Overall: 5 * time.Second}
	case GeneRetry:
		return &Retry{MaxAttempts: 3, BaseDelay: 100 * time.Millisecond, MaxDelay: 2 * time.Second, Multiplier: 2, Jitter: 0.2}
	case GeneCircuitBreaker:
		return &CircuitBreaker{Mode: BreakerConsecutive, Threshold: 5, FailureRate: 0.5, Window: 20, OpenDuration: 5 * time.Second, HalfOpenProbes: 1}
	case GeneHedge:
		return &Hedge{Delay: 100 * time.Millisecond, MaxHedges: 1}
	}
	return nil
}

func choiceName(names []string, i uint8) string {
	if int(i) < len(names) {
		return names[i]
	}
	return fmt.Sprintf("choice(%d)", i)
}

func quoteList(names []string) string {
	s := ""
	for i, n := range names {
		if i > 0 {
			s += ", "
		}
		s += `"` + n + `"`
	}
	return s
}

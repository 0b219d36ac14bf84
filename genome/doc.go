// Package genome holds RAFAEL's central artifact: a module's resilience
// configuration as data (the [Genome]) and its compiled executor (the
// [Policy]).
//
// # The genome as data
//
// A [Genome] names its module, its generation and its parent's digest, and
// holds up to seven typed genes: [Retry], [CircuitBreaker], [Timeout],
// [RateLimit], [Bulkhead], [Fallback] and [Hedge]. Every parameter has declared
// bounds and a unit ([Params] lists them); [Genome.Normalize] clamps any point
// into bounds, so every mutated genome compiles, and [Genome.Validate] reports
// every violation at once, each a [FieldError] naming gene, field, value and
// bound.
//
// Genomes are JSON with a schemaVersion (see [SchemaVersion]):
//
//	{
//	  "schemaVersion": 1,
//	  "module": "checkout",
//	  "generation": 0,
//	  "parent": "",
//	  "genes": {
//	    "timeout": {"perAttempt": "500ms", "overall": "2s"},
//	    "retry": {"maxAttempts": 3, "baseDelay": "100ms", "maxDelay": "1s", "multiplier": 2, "jitter": 0.2},
//	    "circuitBreaker": {"mode": "consecutive", "threshold": 5, "failureRate": 0.5,
//	                       "window": 20, "openDuration": "5s", "halfOpenProbes": 1}
//	  }
//	}
//
// Decoding is strict: an unknown field, gene or parameter, a wrong type or a
// newer schema version is an error that says what was expected. [Load] reads
// and validates a file; [Genome.Digest] is the SHA-256 of the canonical JSON
// that [Genome.MarshalJSON] writes, so a genome keeps its digest however its
// JSON is indented, ordered, escaped or re-encoded (the static fallback value
// is canonicalized after RFC 8785, without rounding numbers); [Diff] lists
// what changed between two genomes.
//
// # The compiled policy
//
// [Compile] turns a genome into a [Policy]. [Policy.Do] and [Get] run a call
// through its genes in a fixed order, outermost first:
//
//	fallback → rate limit → bulkhead → overall timeout → retry →
//	circuit breaker → per-attempt timeout → hedge → call
//
// Errors the policy returns wrap the last cause and name the gene that
// stopped the call ([ErrCircuitOpen], [ErrRateLimited], [ErrBulkheadFull],
// [ErrTimeout], [ErrRetriesExhausted], [ErrDegraded]). [Permanent] marks an
// error not worth retrying; context cancellation is never retried. Retry
// jitter is seeded ([WithSeed]); events go to an optional [Observer]
// ([WithObserver]).
//
// Three genes have an adaptive form besides their static one
// ([AdaptiveSwitch]): a [Retry] with a Budget shares its retries across
// calls (a token bucket of retries as a fraction of calls, as gRPC's retry
// throttling), a [Bulkhead] with a Limit other than static adapts its
// concurrency limit to the calls' latency and failures ([LimitAIMD],
// [LimitVegas], [LimitGradient2]), and a [Hedge] with a Quantile hedges at
// that quantile of the latency it measures. The adaptive parameters are left
// out of the JSON of a static gene, so genomes written before they existed
// keep their digests.
//
// On the success path the policy allocates nothing and starts no goroutine
// unless it has a timeout gene (each timeout is a context.WithTimeout).
// Because a hedge may run fn on another goroutine, fn escapes: a closure that
// captures variables costs its caller one small allocation.
//
// Timers are ordinary timers: a policy compiled inside a testing/synctest
// bubble runs on the bubble's virtual clock, which is how RAFAEL's simulated
// tier runs thousands of trials a second.
package genome

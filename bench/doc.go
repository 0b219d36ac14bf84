// Package bench compares the success-path overhead of rafael's compiled
// policies with the same policies built from other Go resilience libraries:
// failsafe-go, sony/gobreaker and cenkalti/backoff, against a "direct" floor
// that calls the function with no resilience at all.
//
// It is a nested module with its own go.mod, so the main module never
// depends on the libraries it is compared with. The package holds nothing
// but benchmarks.
//
// Each library composes the same policies with equivalent parameters:
// retry (3 attempts, exponential backoff from 1ms to 1s, factor 2), circuit
// breaker (opens after 5 consecutive failures, open 1s, 1 half-open probe),
// a rate limit too high ever to reject, a bulkhead of 100 concurrent calls,
// and a 1s per-attempt timeout. A library appears only in the compositions
// it can express: failsafe-go in all of them, gobreaker as a breaker inside
// a hand-written retry loop, backoff as retry alone. The wrapped function is
// the same non-capturing function for every library (adapted, without a
// closure, to each library's signature) and always succeeds; every
// iteration checks the error, so a rejected call cannot pass for a fast one.
//
// Run from the repository root with
//
//	make bench
//
// or from this directory with
//
//	go test -run '^$' -bench . -benchmem -count 5 .
//
// and summarise with benchstat. BENCHMARKS.md at the repository root
// records the medians.
package bench

package vaultdata

import "fmt"

// Category is the kind of resilience a pattern is about. The zero Category
// matches any category in a [Query].
type Category uint8

// The categories.
const (
	Retry Category = iota + 1
	CircuitBreaker
	Timeout
	RateLimit
	Bulkhead
	Fallback
	Hedging
	Composite // several genes that only work together
)

var categoryNames = [...]string{
	Retry: "retry", CircuitBreaker: "circuit-breaker", Timeout: "timeout", RateLimit: "rate-limit",
	Bulkhead: "bulkhead", Fallback: "fallback", Hedging: "hedging", Composite: "composite",
}

// String returns the category's name as pattern files write it, such as
// "circuit-breaker".
func (c Category) String() string {
	if c >= Retry && int(c) < len(categoryNames) {
		return categoryNames[c]
	}
	return fmt.Sprintf("Category(%d)", uint8(c))
}

// ParseCategory returns the category named s, as [Category.String] writes it.
func ParseCategory(s string) (Category, error) {
	for c := Retry; int(c) < len(categoryNames); c++ {
		if categoryNames[c] == s {
			return c, nil
		}
	}
	return 0, fmt.Errorf("vaultdata: unknown category %q: want one of %s", s, list(categoryNames[1:]))
}

// Status says how far a pattern has been proven.
type Status uint8

// The verification statuses.
const (
	Experimental     Status = iota + 1 // exported from one run, not yet checked by a vault test
	Verified                           // a vault test runs it against its threats and holds it to its score
	ProductionProven                   // verified, and running in production services
)

var statusNames = [...]string{Experimental: "experimental", Verified: "verified", ProductionProven: "production-proven"}

// String returns the status's name as pattern files write it, such as
// "production-proven".
func (s Status) String() string {
	if s >= Experimental && int(s) < len(statusNames) {
		return statusNames[s]
	}
	return fmt.Sprintf("Status(%d)", uint8(s))
}

// ParseStatus returns the status named s, as [Status.String] writes it.
func ParseStatus(s string) (Status, error) {
	for st := Experimental; int(st) < len(statusNames); st++ {
		if statusNames[st] == s {
			return st, nil
		}
	}
	return 0, fmt.Errorf("vaultdata: unknown status %q: want one of %s", s, list(statusNames[1:]))
}

// list renders names as "a, b or c".
func list(names []string) string {
	s := ""
	for i, n := range names {
		switch {
		case i == 0:
		case i == len(names)-1:
			s += " or "
		default:
			s += ", "
		}
		s += n
	}
	return s
}

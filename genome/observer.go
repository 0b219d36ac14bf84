package genome

import "time"

// EventKind says what happened in a [Policy].
type EventKind uint8

// The event kinds.
const (
	EventAttempt  EventKind = iota // an attempt starts (Attempt)
	EventRetry                     // an attempt failed and another follows after Delay (Attempt, Delay, Err)
	EventBreaker                   // the circuit breaker changed state (From, To)
	EventRejected                  // a gene refused the call (Gene, Err)
	EventFallback                  // the fallback replaced a failure (Err)
	EventHedge                     // a hedged attempt starts (Attempt)
	EventDone                      // the call returned (Err, nil on success; Latency)
)

var eventNames = []string{"attempt", "retry", "breaker", "rejected", "fallback", "hedge", "done"}

// String returns the event kind's name, such as "retry".
func (k EventKind) String() string { return choiceName(eventNames, uint8(k)) }

// BreakerState is the state of a circuit breaker.
type BreakerState uint8

// The circuit breaker states.
const (
	Closed   BreakerState = iota // calls pass
	Open                         // calls are rejected with ErrCircuitOpen
	HalfOpen                     // a few probe calls pass
)

var stateNames = []string{"closed", "open", "half-open"}

// String returns "closed", "open" or "half-open".
func (s BreakerState) String() string { return choiceName(stateNames, uint8(s)) }

// Event is one thing a [Policy] did. Which fields are set depends on Kind.
type Event struct {
	Kind     EventKind
	Gene     GeneKind      // the gene that acted
	Attempt  int           // 1 for the first attempt
	Delay    time.Duration // the backoff before the next attempt
	From, To BreakerState  // a breaker transition
	Err      error         // the error that caused a retry, rejection or fallback; the call's, when done
	Latency  time.Duration // the call's, when done
}

// Observer receives a policy's events, synchronously and possibly from
// several goroutines at once. A policy without one pays nothing for events.
type Observer interface {
	Observe(Event)
}

// ObserverFunc adapts a function to [Observer].
type ObserverFunc func(Event)

// Observe calls f(e).
func (f ObserverFunc) Observe(e Event) { f(e) }

// Package faults injects real faults into the code under test. It knows
// nothing of genomes or evolution: scenarios build threats from it.
//
// # Faults
//
// A fault is a typed, validated value: [Latency], [Down], [Blackhole],
// [Hang], [Reset], [Bandwidth], [SlowClose], [CutAfter], [Slicer] and
// [Error]. Durations are time.Duration; a negative one, or any parameter out
// of range, is an error naming the field ([ErrInvalid]). An [Error] fails
// calls at a rate, the first N calls, or every N-th call, and with a Status
// an HTTP hook answers with that HTTP status instead of a transport error.
// A network target whose upstream is down before any fault is injected
// says so ([Reacher]): a harness reports that as a setup error, not as the
// threat.
//
// # Targets
//
// Faults are applied to a [Target] and removed by the function Apply
// returns; [Schedule] applies one after a delay for a while. A target says
// which kinds it supports; every target admits a fault through [Check], so
// an invalid fault, a pointer to one, or a kind the target does not support
// is an error before anything is injected.
//
//   - Package faults/toxiproxy is the network backend: toxiproxy.Start puts
//     a Toxiproxy v2.12.0 proxy in front of a real upstream (PostgreSQL,
//     Redis, an HTTP server), inside the test process or on an external
//     toxiproxy-server (TOXIPROXY_URL), and tears it down at the end of the
//     test. It lives in its own package so that a test that does not import
//     it links none of Toxiproxy's dependencies: package faults uses only the
//     standard library.
//   - [NewHook] (and [NewConnHook], which adds the byte-level kinds for
//     connections) is an in-process target. [Func], [FuncErr], [RoundTripper],
//     [Conn], [Dialer] and [Connector] route calls, HTTP requests,
//     connections and database/sql connections through it. Hooks draw every
//     random choice from the seed they are given and block only on timers,
//     channels and contexts, so inside a testing/synctest bubble a 30-second
//     outage costs microseconds and a seed replays exactly.
//
// A target that reaches outside the process (a network proxy, or a hook in
// front of a real driver, dialer, transport or socket) is [Networked]: it
// cannot run inside a bubble, and a harness runs it in real time.
// [Hook.InProcess] declares that what a hook wraps is itself in the process
// (a fake driver, a net.Pipe). A harness finds a target's other
// capabilities the same way, by type assertion, and so never names a
// backend: [Reseeder] (random decisions restart from each trial's seed),
// [Reacher] (the upstream answers before any fault), [Lingerer] (goroutines
// that outlive a trial, for the leak check) and [Toucher] (how many calls or
// connections the faults acted on: evidence that a fault fired). Fault
// values are sealed: the kinds are this package's. A hook keeps its fault
// state per [Scope] ([Scoper]): a harness gives each trial a scope, carried
// in the trial's context, so that trials sharing a hook can run at once.
//
// # A dependency with a capacity
//
// [Server] models a dependency that serves a few calls at once and queues
// the rest, and that — like a real server — does not know when a caller
// gave up: the time of a call that timed out is spent all the same. It is
// what a metastable failure needs (a short slowdown fills the queue,
// timed-out calls are retried, the retries keep it full after the slowdown
// is gone), and a [Target] for latency, outages and errors of its own.
//
// # Resource faults
//
// [Ballast] holds touched memory up to a hard cap (and a fraction of the
// machine's memory); [Load] floods a function or a loopback URL, bounded in
// calls and time ([LoadHTTP] floods a loopback URL). A flood only ever goes
// to loopback ([CheckLoopback]); a network backend's upstream to loopback or
// a host the user lists in RAFAEL_ALLOW_HOSTS ([CheckAllowed]).
package faults

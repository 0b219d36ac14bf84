package harness

import (
	"github.com/rafaelabs/rafael/faults"
	"github.com/rafaelabs/rafael/scenarios"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

// Run's leak check. A run must leave no goroutine behind: a workload that
// ignores its context, or starts a goroutine it never stops, fails the test
// with the leaked goroutines' stacks. What it may leave are the background
// goroutines of the clients the test owns: a test opens its clients before
// Run and closes them in t.Cleanup, and Go runs cleanups last-in first-out,
// so a cleanup that Run registers runs before the ones that close those
// clients (and a cleanup registered from a cleanup runs next, not last).
// No check inside the test can run after them. So the check
//
//   - runs as a cleanup that Run registers before its first trial: after
//     t.Context() is cancelled, and after every cleanup registered during or
//     after the run (the trials' own, a client or proxy the test opened after
//     Run started);
//   - ignores the goroutines alive when the run started, Spec.LeakOptions,
//     the goroutines the threats' targets declare (faults.Lingerer), and the
//     background goroutines of pooled clients that live until their owner is
//     closed ([clientGoroutines]).
//
// goleak cannot tell whose a goroutine is, so the check cannot work while
// other tests run: Run refuses a parallel test before its first trial.

// envRun is set, with t.Setenv, to the name of the test while Run's test
// runs: t.Setenv panics in a test that is parallel or has a parallel
// ancestor, which is how Run tells that it cannot check for leaks.
const envRun = "RAFAEL_RUN"

// clientGoroutines are the background goroutines of healthy clients that
// outlive a run until the test's cleanups close the clients, by function
// (goleak.IgnoreAnyFunction; dots in an import path's last element are
// written %2e, as the runtime prints them). The names were read from
// goroutine dumps of the real clients (the clients module's tests: Go 1.26
// net/http, go-sql-driver/mysql v1.10.1, pgx v5.12.0, go-redis v9.23.0,
// nats.go v1.55.0, grpc v1.67.1); those marked "source" from the clients' sources, for
// paths the tests do not take.
var clientGoroutines = []goleak.Option{
	// net/http: a Transport's idle keep-alive connections (HTTP/1 and 2),
	// until CloseIdleConnections; a Server's connections (httptest's), until
	// Close.
	goleak.IgnoreAnyFunction("net/http.(*persistConn).readLoop"),
	goleak.IgnoreAnyFunction("net/http.(*persistConn).writeLoop"),
	goleak.IgnoreAnyFunction("net/http.(*http2ClientConn).readLoop"),
	goleak.IgnoreAnyFunction("net/http.(*conn).serve"),
	goleak.IgnoreAnyFunction("net/http.(*http2serverConn).readFrames"),
	// database/sql: the pool's cleaner, once a connection lifetime or idle
	// time is set, and its opener (source), until DB.Close.
	goleak.IgnoreAnyFunction("database/sql.(*DB).connectionCleaner"),
	goleak.IgnoreAnyFunction("database/sql.(*DB).connectionOpener"),
	// go-sql-driver/mysql: one context watcher per connection, until the
	// connection is closed.
	goleak.IgnoreAnyFunction("github.com/go-sql-driver/mysql.(*mysqlConn).startWatcher.func1"),
	// pgx: the pool's health check, until Pool.Close, and the close of a
	// broken connection, which waits up to 15 s for the server (source).
	goleak.IgnoreAnyFunction("github.com/jackc/pgx/v5/pgxpool.(*Pool).backgroundHealthCheck"),
	goleak.IgnoreAnyFunction("github.com/jackc/pgx/v5/pgconn.(*PgConn).asyncClose.func1"),
	// go-redis: the pool's re-dialer once dials fail, which polls every
	// second until it dials or the client is closed, and its dials towards
	// MinIdleConns (source).
	goleak.IgnoreAnyFunction("github.com/redis/go-redis/v9/internal/pool.(*ConnPool).tryDial"),
	goleak.IgnoreAnyFunction("github.com/redis/go-redis/v9/internal/pool.(*ConnPool).checkMinIdleConns.func1"),
	// nats.go: a connection's reader and flusher (new ones after each
	// reconnect) and an async subscription's dispatcher (the request-reply
	// inbox's), until Close; its reconnect loop and async callbacks (source).
	goleak.IgnoreAnyFunction("github.com/nats-io/nats%2ego.(*Conn).readLoop"),
	goleak.IgnoreAnyFunction("github.com/nats-io/nats%2ego.(*Conn).flusher"),
	goleak.IgnoreAnyFunction("github.com/nats-io/nats%2ego.(*Conn).waitForMsgs"),
	goleak.IgnoreAnyFunction("github.com/nats-io/nats%2ego.(*Conn).doReconnect"),
	goleak.IgnoreAnyFunction("github.com/nats-io/nats%2ego.(*asyncCallbacksHandler).asyncCBDispatcher"),
	// gRPC: a ClientConn's transport (reader, writer, keepalive) until
	// Close; a Server's per-connection transport and stream handlers until
	// Stop; the ClientConn's callback serializers (source).
	goleak.IgnoreAnyFunction("google.golang.org/grpc/internal/transport.(*http2Client).reader"),
	goleak.IgnoreAnyFunction("google.golang.org/grpc/internal/transport.(*http2Client).keepalive"),
	goleak.IgnoreAnyFunction("google.golang.org/grpc/internal/transport.(*loopyWriter).run"),
	goleak.IgnoreAnyFunction("google.golang.org/grpc/internal/transport.(*http2Server).keepalive"),
	goleak.IgnoreAnyFunction("google.golang.org/grpc/internal/transport.(*http2Server).HandleStreams"),
	goleak.IgnoreAnyFunction("google.golang.org/grpc.(*Server).serveStreams"),
	goleak.IgnoreAnyFunction("google.golang.org/grpc.(*Server).handleRawConn.func1"),
	goleak.IgnoreAnyFunction("google.golang.org/grpc/internal/grpcsync.(*CallbackSerializer).run"),
}

// leakCheck is one run's leak check.
type leakCheck struct {
	module string
	opts   []goleak.Option // what the check ignores
	ended  bool            // Run reached its end
}

// newLeakCheck records the goroutines alive now, which the check ignores,
// with the clients' background goroutines and opts.
func newLeakCheck(module string, opts []goleak.Option) *leakCheck {
	lc := &leakCheck{module: module, opts: []goleak.Option{goleak.IgnoreCurrent()}}
	lc.opts = append(lc.opts, clientGoroutines...)
	lc.opts = append(lc.opts, opts...)
	return lc
}

// watchLeaks refuses a parallel test (with t.Fatal, saying why and what to
// change), then starts spec's leak check and registers it as a cleanup of t.
// Call it before the first trial.
func watchLeaks(t *testing.T, spec Spec) *leakCheck {
	t.Helper()
	if !setenv(t, envRun, t.Name()) {
		t.Fatalf("rafael: %s: Run cannot run in a parallel test: %s (or a test it runs in) called t.Parallel. "+
			"Run checks that its trials leave no goroutine behind, and goleak cannot tell the goroutines of tests running "+
			"at the same time from leaks; its trials also measure latency, which parallel tests skew. "+
			"Remove t.Parallel() from %s and the tests it runs in; to check parallel tests for leaks, call goleak.VerifyTestMain in TestMain",
			spec.Module, t.Name(), t.Name())
	}
	lc := newLeakCheck(spec.Module, spec.LeakOptions)
	t.Cleanup(func() { lc.report(t) })
	return lc
}

// setenv is t.Setenv, reporting false instead of panicking when t is
// parallel or has a parallel ancestor.
func setenv(t *testing.T, key, value string) (ok bool) {
	defer func() {
		if p := recover(); p != nil {
			if s, isString := p.(string); !isString || !strings.Contains(s, "Parallel") {
				panic(p)
			}
			ok = false
		}
	}()
	t.Setenv(key, value)
	return true
}

// ignore adds goroutines the check ignores.
func (lc *leakCheck) ignore(opts ...goleak.Option) { lc.opts = append(lc.opts, opts...) }

// end records that Run reached its end. A run that a fatal error ended early
// is not checked: the error says what went wrong, and what the run had
// started may still be winding down.
func (lc *leakCheck) end() { lc.ended = true }

// find returns goleak's error naming, with their stacks, the goroutines
// started since the check began that it does not ignore, or nil. goleak
// retries for about half a second before it reports one.
func (lc *leakCheck) find() error { return goleak.Find(lc.opts...) }

// errorer is the part of testing.TB that report uses.
type errorer interface {
	Helper()
	Errorf(format string, args ...any)
}

// maxLeakReport bounds the stacks one report prints.
const maxLeakReport = 8 << 10

// report fails t with the leaked goroutines' stacks, if any.
func (lc *leakCheck) report(t errorer) {
	t.Helper()
	if !lc.ended {
		return
	}
	err := lc.find()
	if err == nil {
		return
	}
	t.Errorf("rafael: %s left goroutines behind after its trials and the test's later cleanups "+
		"(a workload that ignores its context, a goroutine it starts and never stops, or a client the test never closes; "+
		"a client's own background goroutines can be ignored with Spec.LeakOptions):\n%s", lc.module, shorten(err.Error(), maxLeakReport))
}

// lingering are the goroutines the threats' targets say outlive a trial
// (faults.Lingerer: a network proxy's connection pumps, which the test's
// cleanup stops after Run's check).
func lingering(threats []scenarios.Threat) []goleak.Option {
	var opts []goleak.Option
	seen := map[string]bool{}
	for _, th := range threats {
		for _, tg := range th.Targets() {
			l, ok := tg.(faults.Lingerer)
			if !ok {
				continue
			}
			for _, fn := range l.Lingering() {
				if !seen[fn] {
					seen[fn] = true
					opts = append(opts, goleak.IgnoreAnyFunction(fn))
				}
			}
		}
	}
	return opts
}

package harness

import (
	"bytes"
	"fmt"
	"regexp"
	"runtime/pprof"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rafaelabs/rafael/faults"
	"github.com/rafaelabs/rafael/scenarios"
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
// goleak cannot tell whose a goroutine is, and other tests may run at the
// same time (t.Parallel). So every goroutine a run starts carries the pprof
// label rafael.run=<the test's name> — Run sets it on its own goroutine, and
// goroutines inherit their creator's labels — and the check blames the run
// only for goroutines that carry its label: those that goleak reports and
// that a goroutine profile shows labelled as the run's, matched by the
// function each started in.

// runLabel is the pprof label that marks the goroutines a run started.
const runLabel = "rafael.run"

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
	id     string          // the run's label value
	opts   []goleak.Option // what the check ignores
	ended  bool            // Run reached its end
}

// newLeakCheck records the goroutines alive now, which the check ignores,
// with the clients' background goroutines and opts.
func newLeakCheck(module, id string, opts []goleak.Option) *leakCheck {
	lc := &leakCheck{module: module, id: id, opts: []goleak.Option{goleak.IgnoreCurrent()}}
	lc.opts = append(lc.opts, clientGoroutines...)
	lc.opts = append(lc.opts, opts...)
	return lc
}

// watchLeaks starts spec's leak check of the goroutines labelled id and
// registers it as a cleanup of t. Call it before the first trial.
func watchLeaks(t *testing.T, spec Spec, id string) *leakCheck {
	t.Helper()
	lc := newLeakCheck(spec.Module, id, spec.LeakOptions)
	t.Cleanup(func() { lc.report(t) })
	return lc
}

// ignore adds goroutines the check ignores.
func (lc *leakCheck) ignore(opts ...goleak.Option) { lc.opts = append(lc.opts, opts...) }

// end records that Run reached its end. A run that a fatal error ended early
// is not checked: the error says what went wrong, and what the run had
// started may still be winding down.
func (lc *leakCheck) end() { lc.ended = true }

// find returns an error naming, with their stacks, the goroutines the run
// started that are still alive and that the check does not ignore, or nil.
// While none labelled as the run's is alive (polled for up to half a
// second, as goleak retries) it returns at once; otherwise it asks goleak,
// which applies the ignores, and keeps of goleak's findings those that
// match the run's labelled goroutines.
func (lc *leakCheck) find() error {
	own := labelled(lc.id)
	for wait := time.Millisecond; len(own) > 0 && wait < 256*time.Millisecond; wait *= 2 {
		time.Sleep(wait)
		own = labelled(lc.id)
	}
	if len(own) == 0 {
		return nil
	}
	err := goleak.Find(lc.opts...)
	if err == nil {
		return nil
	}
	var ours []string
	for _, g := range leakedStacks(err.Error()) {
		if start := startFunction(g); own[start] > 0 {
			own[start]--
			ours = append(ours, g)
		}
	}
	if len(ours) == 0 {
		return nil
	}
	return fmt.Errorf("found unexpected goroutines:\n%s", strings.Join(ours, "\n"))
}

// labelled counts the live goroutines labelled runLabel=id, by the function
// each started in, from the goroutine profile.
func labelled(id string) map[string]int {
	var b bytes.Buffer
	if err := pprof.Lookup("goroutine").WriteTo(&b, 1); err != nil {
		return nil
	}
	want := fmt.Sprintf("%q:%q", runLabel, id)
	counts := map[string]int{}
	_, records, _ := strings.Cut(b.String(), "\n") // after "goroutine profile: total N"
	for rec := range strings.SplitSeq(records, "\n\n") {
		lines := strings.Split(strings.TrimSpace(rec), "\n")
		if len(lines) < 3 || !strings.HasPrefix(lines[1], "# labels: ") || !strings.Contains(lines[1], want) {
			continue
		}
		n, err := strconv.Atoi(strings.Fields(lines[0])[0])
		if err != nil {
			continue
		}
		last := strings.Fields(lines[len(lines)-1]) // "#", pc, function+offset, file:line
		if len(last) < 3 {
			continue
		}
		fn, _, _ := strings.Cut(last[2], "+0x")
		counts[fn] += n
	}
	return counts
}

// goroutineHeader starts each goroutine in goleak's report.
var goroutineHeader = regexp.MustCompile(`Goroutine \d+ in state [^\n]*, with \S+ on top of the stack:\n`)

// leakedStacks splits goleak's error into one text per goroutine.
func leakedStacks(report string) []string {
	idx := goroutineHeader.FindAllStringIndex(report, -1)
	out := make([]string, 0, len(idx))
	for i, at := range idx {
		end := len(report)
		if i+1 < len(idx) {
			end = idx[i+1][0]
		}
		out = append(out, strings.TrimRight(report[at[0]:end], " ]\n"))
	}
	return out
}

// startFunction returns the function a goroutine's traceback started in:
// its last frame, the one above "created by".
func startFunction(stack string) string {
	fn := ""
	for line := range strings.SplitSeq(stack, "\n") {
		switch {
		case line == "", strings.HasPrefix(line, "\t"), strings.HasPrefix(line, "created by "), strings.HasPrefix(line, "..."),
			strings.HasPrefix(line, "goroutine "), strings.HasPrefix(line, "Goroutine "):
		default:
			if i := strings.LastIndex(line, "("); i > 0 {
				line = line[:i]
			}
			fn = line
		}
	}
	return fn
}

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

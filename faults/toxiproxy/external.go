package toxiproxy

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	tpclient "github.com/Shopify/toxiproxy/v2/client"
	"github.com/rafaelabs/rafael/faults"
)

// An external toxiproxy-server is shared: by the tests of one run, by runs
// in parallel, by runs that died. Every proxy this package creates there is
// named for its run — "rafael_<host>_<pid>_<start>_<nonce>_<name>", host
// being a digest of the machine's host name — so that
//
//   - two runs never collide on a name;
//   - at a run's first proxy on a server, a janitor deletes the proxies of
//     runs that died without cleaning up: those of this host whose process
//     is gone, and those of other hosts older than [StaleAfter];
//   - on SIGINT or SIGTERM the run deletes its live proxies before it dies.
//
// Proxies whose names do not start with "rafael_" are never touched.

// StaleAfter is how old a proxy of another host must be before a janitor
// deletes it: a run on another machine cannot be asked whether it lives.
const StaleAfter = 6 * time.Hour

const namePrefix = "rafael_"

// run identifies this process among the users of a server.
type run struct {
	host  string // 8 hex digits of the host name's digest
	pid   int
	start int64 // Unix seconds
	nonce string
}

var thisRun = sync.OnceValue(func() run {
	h, _ := os.Hostname()
	sum := sha256.Sum256([]byte(h))
	var n [4]byte
	_, _ = rand.Read(n[:])
	return run{host: hex.EncodeToString(sum[:4]), pid: os.Getpid(), start: time.Now().Unix(), nonce: hex.EncodeToString(n[:])}
})

// proxies numbers the proxies this process creates on external servers, so
// that two with one name (two tests, or one test twice) never collide.
var proxies atomic.Int64

// proxyName is the run-scoped name of the n-th proxy of the run, which the
// user named name.
func (r run) proxyName(n int64, name string) string {
	safe := strings.Map(func(c rune) rune {
		if c == '-' || c == '.' || c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' {
			return c
		}
		return '-'
	}, name)
	return fmt.Sprintf("%s%s_%d_%d_%s_%d-%s", namePrefix, r.host, r.pid, r.start, r.nonce, n, safe)
}

// parseRun reads the run out of a proxy's name; ok is false for a name this
// package did not make.
func parseRun(name string) (r run, ok bool) {
	rest, found := strings.CutPrefix(name, namePrefix)
	parts := strings.SplitN(rest, "_", 5)
	if !found || len(parts) < 5 || len(parts[0]) != 8 {
		return run{}, false
	}
	pid, err1 := strconv.Atoi(parts[1])
	start, err2 := strconv.ParseInt(parts[2], 10, 64)
	if err1 != nil || err2 != nil || pid <= 0 {
		return run{}, false
	}
	return run{host: parts[0], pid: pid, start: start, nonce: parts[3]}, true
}

// dead reports whether the run that made a proxy is gone, as seen by run
// me at now.
func (me run) dead(other run, now time.Time) bool {
	if other.host != me.host {
		return now.Sub(time.Unix(other.start, 0)) > StaleAfter
	}
	if other.pid == me.pid {
		return other.start != me.start || other.nonce != me.nonce // the pid was reused
	}
	return !alive(other.pid)
}

// janitors records the servers whose janitor has run in this process.
var janitors sync.Map // server URL → struct{}

// sweep deletes, once per server and process, the proxies of dead runs.
// It returns the names it deleted.
func sweep(c *tpclient.Client, server string, now time.Time) ([]string, error) {
	if _, done := janitors.LoadOrStore(server, struct{}{}); done {
		return nil, nil
	}
	return clean(c, thisRun(), now)
}

// clean deletes the proxies on c of runs that me sees as dead.
func clean(c *tpclient.Client, me run, now time.Time) ([]string, error) {
	all, err := c.Proxies()
	if err != nil {
		return nil, err
	}
	var gone []string
	for name, p := range all {
		if r, ok := parseRun(name); ok && me.dead(r, now) {
			if err := p.Delete(); err == nil {
				gone = append(gone, name)
			}
		}
	}
	return gone, nil
}

// external drives a proxy on an external toxiproxy-server.
type external struct {
	p      *tpclient.Proxy
	server string   // TOXIPROXY_URL
	host   string   // the server's host, which clients dial when the proxy listens on every address
	swept  []string // the proxies of dead runs the janitor deleted when this one was made
}

// probe asks the server for its version within 5 s, so that a server that
// is not there fails fast and says what to do.
func probe(server string) error {
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true, Proxy: nil}}
	resp, err := c.Get(strings.TrimSuffix(server, "/") + "/version")
	if err != nil {
		return fmt.Errorf("toxiproxy-server at %s (%s) does not answer: %v; start it, or unset %s to use the proxy embedded in the test", server, URLEnv, err, URLEnv)
	}
	_ = resp.Body.Close()
	return nil
}

func newExternal(server, name, upstream string) (*external, error) {
	u, err := url.Parse(server)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("%s=%q is not a URL such as http://127.0.0.1:8474", URLEnv, server)
	}
	port := u.Port()
	if port == "" {
		port = "8474"
	}
	if err := faults.CheckAllowed(net.JoinHostPort(u.Hostname(), port)); err != nil {
		return nil, fmt.Errorf("toxiproxy-server %s=%q: %w", URLEnv, server, err)
	}
	listen := cmpOr(os.Getenv(ListenEnv), u.Hostname())
	if err := probe(server); err != nil {
		return nil, err
	}
	c := tpclient.NewClient(server)
	swept, err := sweep(c, server, time.Now())
	if err != nil {
		return nil, fmt.Errorf("toxiproxy-server at %s (%s): %w", server, URLEnv, err)
	}
	p, err := c.CreateProxy(thisRun().proxyName(proxies.Add(1), name), net.JoinHostPort(listen, "0"), upstream)
	if err != nil {
		return nil, fmt.Errorf("toxiproxy-server at %s (%s): %w", server, URLEnv, err)
	}
	e := &external{p: p, server: server, host: u.Hostname(), swept: swept}
	if err := faults.CheckAllowed(e.addr()); err != nil {
		_ = p.Delete()
		return nil, fmt.Errorf("toxiproxy-server at %s: the proxy listens on %s: %w (set %s)", server, p.Listen, err, ListenEnv)
	}
	watch(e)
	return e, nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// addr is the proxy's listen address, with the server's host in place of
// an unspecified one (0.0.0.0, ::).
func (e *external) addr() string {
	host, port, err := net.SplitHostPort(e.p.Listen)
	if err != nil {
		return e.p.Listen
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		return net.JoinHostPort(e.host, port)
	}
	return e.p.Listen
}

func (e *external) addToxic(name, typ, stream string, toxicity float64, attrs map[string]any) error {
	_, err := e.p.AddToxic(name, typ, stream, float32(toxicity), tpclient.Attributes(attrs))
	return err
}

// touch cannot count on an external server: its toxics are its own.
func (e *external) touch(string) (func() int64, error) { return nil, nil }

func (e *external) removeToxic(name string) error { return e.p.RemoveToxic(name) }

func (e *external) disable() error { return e.p.Disable() }

func (e *external) enable() error { return e.p.Enable() }

// reach dials the upstream, and when the test cannot (the server may reach
// hosts the test does not), connects through the proxy.
func (e *external) reach(ctx context.Context, upstream string) error {
	err := dialUpstream(ctx, upstream)
	if err == nil {
		return nil
	}
	if through := reachThrough(ctx, e.addr()); through != nil {
		return fmt.Errorf("%v; through the proxy: %v", err, through)
	}
	return nil
}

// lingering names the goroutine that deletes the run's proxies on a signal;
// it lives while any proxy of the run does.
func (e *external) lingering() []string {
	return []string{"github.com/rafaelabs/rafael/faults/toxiproxy.watchSignals"}
}

func (e *external) close() error {
	unwatch(e)
	return e.p.Delete()
}

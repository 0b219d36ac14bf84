package toxiproxy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/rafaelabs/rafael/faults"
)

// URLEnv names the environment variable that points proxies at an external
// toxiproxy-server (for example a CI service container) instead of the one
// embedded in the test process.
const URLEnv = "TOXIPROXY_URL"

// ListenEnv names the environment variable that sets the host an external
// toxiproxy-server binds its proxies to. Unset, it is the host of
// TOXIPROXY_URL: the address the test already reaches the server on. Set it
// to 0.0.0.0 when the server's own name does not resolve inside its
// container; clients then dial the proxy at TOXIPROXY_URL's host.
const ListenEnv = "RAFAEL_PROXY_LISTEN"

// TB is the part of testing.TB that [Start] uses.
type TB interface {
	Helper()
	Cleanup(func())
	Fatalf(format string, args ...any)
	Logf(format string, args ...any)
}

// Proxy is a network target: a Toxiproxy v2.12.0 proxy in front of a real
// upstream (a database, a cache, an HTTP server). Clients connect to
// [Proxy.Addr] instead of the upstream; faults act on the real TCP
// connections in between.
//
// It supports every fault kind but [faults.Error], which only in-process
// hooks can inject. It implements [faults.Networked], [faults.Reacher],
// [faults.Lingerer] and [faults.Toucher]. It is safe for concurrent use.
type Proxy struct {
	name, upstream string
	b              backend

	mu     sync.Mutex
	seq    int            // toxics added so far, for unique names
	downs  int            // Down faults in force
	counts []func() int64 // the connection counts of the faults applied so far
	closed bool
}

// backend is the embedded server or a client of an external one.
type backend interface {
	addr() string
	addToxic(name, typ, stream string, toxicity float64, attrs map[string]any) error
	removeToxic(name string) error
	// touch adds a toxic that counts the connections it acts on, or
	// returns nil when the backend cannot count.
	touch(name string) (count func() int64, err error)
	disable() error
	enable() error
	// reach checks the upstream answers; see Proxy.Reach.
	reach(ctx context.Context, upstream string) error
	lingering() []string
	close() error
}

// Start starts a proxy named name in front of upstream for the duration of
// the test, and tears it down (closing its port, removing it from an
// external server) when the test ends, whether it passes, fails or panics.
// With TOXIPROXY_URL set the proxy is created on that toxiproxy-server;
// otherwise it runs inside the test process, on 127.0.0.1. upstream must be
// a loopback address or a host listed in RAFAEL_ALLOW_HOSTS
// ([faults.CheckAllowed]).
func Start(tb TB, name, upstream string) *Proxy {
	tb.Helper()
	p, err := New(name, upstream)
	if err != nil {
		tb.Fatalf("%v", err)
		return nil
	}
	tb.Cleanup(func() { _ = p.Close() })
	if e, ok := p.b.(*external); ok && len(e.swept) > 0 {
		tb.Logf("toxiproxy: the janitor deleted %d proxies left on %s by runs that died: %s", len(e.swept), e.server, strings.Join(e.swept, ", "))
	}
	return p
}

// New is [Start] for use outside a test: the caller must Close the proxy.
func New(name, upstream string) (*Proxy, error) {
	if strings.TrimSpace(name) == "" {
		return nil, fmt.Errorf("toxiproxy: a proxy needs a name (for errors, reports and the server's list): got %q", name)
	}
	if err := faults.CheckAllowed(upstream); err != nil {
		return nil, fmt.Errorf("toxiproxy: proxy %q: %w", name, err)
	}
	var (
		b   backend
		err error
	)
	if url := os.Getenv(URLEnv); url != "" {
		b, err = newExternal(url, name, upstream)
	} else {
		b, err = newEmbedded(name, upstream)
	}
	if err != nil {
		return nil, fmt.Errorf("toxiproxy: proxy %q to %s: %w", name, upstream, err)
	}
	return &Proxy{name: name, upstream: upstream, b: b}, nil
}

// Name returns the target's name.
func (p *Proxy) Name() string { return p.name }

// Addr returns the address clients connect to: host and port.
func (p *Proxy) Addr() string { return p.b.addr() }

// Upstream returns the address the proxy forwards to.
func (p *Proxy) Upstream() string { return p.upstream }

// External reports whether the proxy lives on an external toxiproxy-server.
func (p *Proxy) External() bool {
	_, ok := p.b.(*external)
	return ok
}

// Networked reports true: a proxy forwards real TCP, which cannot run inside
// a testing/synctest bubble (see [faults.Networked]).
func (p *Proxy) Networked() bool { return true }

// Lingering names the goroutines of the proxy's live connections, which
// outlive a fault and a trial until the proxy is closed (see
// [faults.Lingerer]).
func (p *Proxy) Lingering() []string { return p.b.lingering() }

// Reach checks, before any fault is injected, that the upstream answers, and
// reports an error naming it when it does not within 2 s (see
// [faults.Reacher]). It dials the upstream directly; when that fails and the
// proxy is on an external server (which may reach hosts the test cannot),
// it connects through the proxy, which closes at once a connection whose
// upstream refuses.
func (p *Proxy) Reach(ctx context.Context) error {
	if err := p.b.reach(ctx, p.upstream); err != nil {
		return fmt.Errorf("toxiproxy: the upstream %s of %q is not reachable before any fault was injected: %v; start it, or check the address", p.upstream, p.name, err)
	}
	return nil
}

// dialUpstream dials upstream directly, within 2 s.
func dialUpstream(ctx context.Context, upstream string) error {
	d := net.Dialer{Timeout: 2 * time.Second}
	c, err := d.DialContext(ctx, "tcp", upstream)
	if err != nil {
		return err
	}
	return c.Close()
}

// reachThrough connects through the proxy at addr: a proxy whose upstream
// refuses closes the client's connection at once (EOF), while a live one
// holds it open until either side speaks.
func reachThrough(ctx context.Context, addr string) error {
	d := net.Dialer{Timeout: 2 * time.Second}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	defer func() { _ = c.Close() }()
	_ = c.SetReadDeadline(time.Now().Add(time.Second))
	var b [1]byte
	_, err = c.Read(b[:])
	var ne net.Error
	switch {
	case err == nil, errors.As(err, &ne) && ne.Timeout():
		return nil // data, or a connection held open: the upstream answered
	case errors.Is(err, io.EOF):
		return errors.New("the proxy closed the connection at once (its upstream refused)")
	}
	return err
}

// Supports reports whether p can inject faults of kind k: every kind but
// KindError.
func (p *Proxy) Supports(k faults.Kind) bool {
	return k != faults.KindError && slices.Contains(faults.Kinds(), k)
}

// Touched returns how many connections p's faults have acted on so far (see
// [faults.Toucher]): connections live when a fault was applied or opened
// while it was in force, counted once per fault; unit is "connections".
// It cannot count (unit "") for Down, which refuses connections the proxy
// never sees, nor for any kind on an external server, whose toxics are its
// own.
func (p *Proxy) Touched(k faults.Kind) (n int64, unit string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.External() || k == faults.KindDown {
		return 0, ""
	}
	for _, c := range p.counts {
		n += c()
	}
	return n, "connections"
}

// Apply injects f until remove is called. Latency and the byte-level faults
// act per direction; Down stops the proxy (new connections refused, live
// ones closed) until the last Down is removed.
func (p *Proxy) Apply(f faults.Fault) (remove func(), err error) {
	if err := faults.Check(p, f); err != nil {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, fmt.Errorf("toxiproxy: %s: proxy is closed", p.name)
	}
	if _, ok := f.(faults.Down); ok {
		return p.down()
	}
	var added []string
	undo := func() {
		for _, n := range added {
			_ = p.b.removeToxic(n)
		}
	}
	for _, t := range toxicsFor(f) {
		p.seq++
		name := fmt.Sprintf("%s-%d-%s", f.Kind(), p.seq, t.stream)
		if err := p.b.addToxic(name, t.typ, t.stream, t.toxicity, t.attrs); err != nil {
			undo()
			return nil, fmt.Errorf("toxiproxy: %s: %s: %w", p.name, f, err)
		}
		added = append(added, name)
	}
	p.seq++
	touch := fmt.Sprintf("touch-%d", p.seq)
	count, err := p.b.touch(touch)
	if err != nil {
		undo()
		return nil, fmt.Errorf("toxiproxy: %s: %s: %w", p.name, f, err)
	}
	if count != nil {
		added = append(added, touch)
		p.counts = append(p.counts, count)
	}
	return p.once(func() {
		if !p.closed {
			undo()
		}
	}), nil
}

// down applies a Down fault, under p.mu.
func (p *Proxy) down() (remove func(), err error) {
	if p.downs == 0 {
		if err := p.b.disable(); err != nil {
			return nil, fmt.Errorf("toxiproxy: %s: down: %w", p.name, err)
		}
	}
	p.downs++
	return p.once(func() {
		if p.downs--; p.downs == 0 && !p.closed {
			_ = p.b.enable()
		}
	}), nil
}

// once wraps a removal so it runs at most once, under p.mu.
func (p *Proxy) once(fn func()) func() {
	var o sync.Once
	return func() {
		o.Do(func() {
			p.mu.Lock()
			defer p.mu.Unlock()
			fn()
		})
	}
}

// Close removes every fault, stops the proxy and frees its port (on an
// external server, deletes the proxy). It is idempotent.
func (p *Proxy) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil
	}
	p.closed = true
	return p.b.close()
}

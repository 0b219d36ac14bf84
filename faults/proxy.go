package faults

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"sync"
	"time"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
	tpclient "github.com/Shopify/toxiproxy/v2/client"
	"github.com/rs/zerolog"
)

// EnvToxiproxyURL names the environment variable that points network
// targets at an external toxiproxy-server (for example a CI service
// container) instead of the one embedded in the test process.
const EnvToxiproxyURL = "TOXIPROXY_URL"

// TB is the part of testing.TB that [Proxy] uses.
type TB interface {
	Helper()
	Cleanup(func())
	Fatalf(format string, args ...any)
}

// Toxiproxy is a network target: a Toxiproxy proxy listening on loopback in
// front of a real upstream (a database, a cache, an HTTP server). Clients
// connect to [Toxiproxy.Addr] instead of the upstream; faults act on the
// real TCP connections in between.
//
// It supports every fault kind but [Error], which only in-process hooks can
// inject. It is safe for concurrent use.
type Toxiproxy struct {
	name, upstream string
	b              proxyBackend

	mu     sync.Mutex
	seq    int // toxics added so far, for unique names
	downs  int // Down faults in force
	closed bool
}

// Reach dials the upstream, as a client through the proxy would, and
// reports an error naming it when it does not answer within 2 s: see
// [Reacher].
func (p *Toxiproxy) Reach(ctx context.Context) error {
	d := net.Dialer{Timeout: 2 * time.Second}
	c, err := d.DialContext(ctx, "tcp", p.upstream)
	if err != nil {
		return fmt.Errorf("faults: the upstream %s of %q is not reachable before any fault was injected: %v; start it (make services starts this repository's), or check the address", p.upstream, p.name, err)
	}
	return c.Close()
}

// proxyBackend is the embedded server or a client of an external one.
type proxyBackend interface {
	addr() string
	addToxic(name, typ, stream string, toxicity float64, attrs map[string]any) error
	removeToxic(name string) error
	disable() error
	enable() error
	close() error
}

// Proxy starts a network target named name in front of upstream for the
// duration of the test, and tears it down (closing its port) when the test
// ends, whether it passes, fails or panics. With TOXIPROXY_URL set the proxy
// is created on that toxiproxy-server; otherwise it runs inside the test
// process. upstream must be a loopback address.
func Proxy(tb TB, name, upstream string) *Toxiproxy {
	tb.Helper()
	p, err := NewToxiproxy(name, upstream)
	if err != nil {
		tb.Fatalf("%v", err)
		return nil
	}
	tb.Cleanup(func() { _ = p.Close() })
	return p
}

// NewToxiproxy is [Proxy] for use outside a test: the caller must Close it.
func NewToxiproxy(name, upstream string) (*Toxiproxy, error) {
	if err := CheckLoopback(upstream); err != nil {
		return nil, fmt.Errorf("faults: proxy %q: %w", name, err)
	}
	var (
		b   proxyBackend
		err error
	)
	if url := os.Getenv(EnvToxiproxyURL); url != "" {
		b, err = newClientBackend(url, name, upstream)
	} else {
		b, err = newEmbeddedBackend(name, upstream)
	}
	if err != nil {
		return nil, fmt.Errorf("faults: proxy %q to %s: %w", name, upstream, err)
	}
	return &Toxiproxy{name: name, upstream: upstream, b: b}, nil
}

// Name returns the target's name.
func (p *Toxiproxy) Name() string { return p.name }

// Addr returns the address clients connect to: 127.0.0.1 and a port.
func (p *Toxiproxy) Addr() string { return p.b.addr() }

// Upstream returns the address the proxy forwards to.
func (p *Toxiproxy) Upstream() string { return p.upstream }

// External reports whether the proxy lives on an external toxiproxy-server.
func (p *Toxiproxy) External() bool {
	_, ok := p.b.(*clientBackend)
	return ok
}

// Networked reports true: a proxy forwards real TCP, which cannot run inside
// a testing/synctest bubble (see [Networked]).
func (p *Toxiproxy) Networked() bool { return true }

// Supports reports whether p can inject faults of kind k: every kind but
// KindError.
func (p *Toxiproxy) Supports(k Kind) bool { return k < numKinds && k != KindError }

// Apply injects f until remove is called. Latency and the byte-level faults
// act per direction; Down stops the proxy (new connections refused, live
// ones closed) until the last Down is removed.
func (p *Toxiproxy) Apply(f Fault) (remove func(), err error) {
	if err := Check(p, f); err != nil {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, fmt.Errorf("faults: %s: proxy is closed", p.name)
	}
	if _, ok := f.(Down); ok {
		if p.downs == 0 {
			if err := p.b.disable(); err != nil {
				return nil, fmt.Errorf("faults: %s: down: %w", p.name, err)
			}
		}
		p.downs++
		return p.once(func() {
			if p.downs--; p.downs == 0 && !p.closed {
				_ = p.b.enable()
			}
		}), nil
	}
	var added []string
	for _, t := range toxicsFor(f) {
		p.seq++
		name := fmt.Sprintf("%s-%d-%s", f.Kind(), p.seq, t.stream)
		if err := p.b.addToxic(name, t.typ, t.stream, t.toxicity, t.attrs); err != nil {
			for _, n := range added {
				_ = p.b.removeToxic(n)
			}
			return nil, fmt.Errorf("faults: %s: %s: %w", p.name, f, err)
		}
		added = append(added, name)
	}
	return p.once(func() {
		if p.closed {
			return
		}
		for _, n := range added {
			_ = p.b.removeToxic(n)
		}
	}), nil
}

// once wraps a removal so it runs at most once, under p.mu.
func (p *Toxiproxy) once(fn func()) func() {
	var o sync.Once
	return func() {
		o.Do(func() {
			p.mu.Lock()
			defer p.mu.Unlock()
			fn()
		})
	}
}

// Close removes every fault, stops the proxy and frees its port. It is
// idempotent.
func (p *Toxiproxy) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil
	}
	p.closed = true
	return p.b.close()
}

type toxicSpec struct {
	typ, stream string
	toxicity    float64
	attrs       map[string]any
}

func streams(d Direction) []string {
	switch d {
	case Upstream:
		return []string{"upstream"}
	case Both:
		return []string{"upstream", "downstream"}
	}
	return []string{"downstream"}
}

// ms rounds d up to whole milliseconds, Toxiproxy's unit.
func ms(d time.Duration) int64 { return int64((d + time.Millisecond - 1) / time.Millisecond) }

func toxicsFor(f Fault) []toxicSpec {
	each := func(d Direction, typ string, toxicity float64, attrs map[string]any) []toxicSpec {
		if toxicity == 0 {
			toxicity = 1
		}
		var out []toxicSpec
		for _, s := range streams(d) {
			out = append(out, toxicSpec{typ, s, toxicity, attrs})
		}
		return out
	}
	switch f := f.(type) {
	case Latency:
		return each(f.Direction, "latency", f.Toxicity, map[string]any{"latency": ms(f.Delay), "jitter": ms(f.Jitter)})
	case Blackhole:
		return each(Both, "bandwidth", 1, map[string]any{"rate": 0})
	case Hang:
		return each(Both, "timeout", 1, map[string]any{"timeout": 0})
	case Reset:
		return each(Upstream, "reset_peer", 1, map[string]any{"timeout": ms(f.After)})
	case Bandwidth:
		return each(f.Direction, "bandwidth", 1, map[string]any{"rate": max(1, f.BytesPerSecond/1024)})
	case SlowClose:
		return each(Downstream, "slow_close", 1, map[string]any{"delay": ms(f.Delay)})
	case CutAfter:
		return each(f.Direction, "limit_data", 1, map[string]any{"bytes": f.Bytes})
	case Slicer:
		return each(f.Direction, "slicer", 1, map[string]any{"average_size": f.AverageSize,
			"size_variation": f.SizeVariation, "delay": f.Delay.Microseconds()})
	}
	return nil
}

// embeddedBackend runs a Toxiproxy server inside the test process: one
// server per proxy, no HTTP API, no global state.
type embeddedBackend struct {
	srv    *toxiproxy.ApiServer
	p      *toxiproxy.Proxy
	listen string // p.Listen once started: Toxiproxy rewrites that field, unlocked, on every restart
}

// newEmbeddedBackend starts a Toxiproxy server for one proxy, logging
// nowhere. It leaves zerolog's global logger alone: that is the user's.
// (Toxiproxy's bandwidth toxic, and so Blackhole, writes trace lines to
// it, which zerolog's default global level, debug, drops.)
func newEmbeddedBackend(name, upstream string) (*embeddedBackend, error) {
	srv := toxiproxy.NewServer(toxiproxy.NewMetricsContainer(nil), zerolog.Nop())
	p := toxiproxy.NewProxy(srv, name, "127.0.0.1:0", upstream)
	if err := srv.Collection.Add(p, true); err != nil {
		return nil, err
	}
	return &embeddedBackend{srv: srv, p: p, listen: p.Listen}, nil
}

func (e *embeddedBackend) addr() string { return e.listen }

func (e *embeddedBackend) addToxic(name, typ, stream string, toxicity float64, attrs map[string]any) error {
	data, err := json.Marshal(map[string]any{"name": name, "type": typ, "stream": stream, "toxicity": toxicity, "attributes": attrs})
	if err != nil {
		return err
	}
	_, err = e.p.Toxics.AddToxicJson(bytes.NewReader(data))
	return err
}

func (e *embeddedBackend) removeToxic(name string) error {
	return e.p.Toxics.RemoveToxic(context.Background(), name)
}

func (e *embeddedBackend) disable() error { e.p.Stop(); return nil }

func (e *embeddedBackend) enable() error { return e.p.Start() }

func (e *embeddedBackend) close() error { return e.srv.Collection.Clear() }

// clientBackend drives a proxy on an external toxiproxy-server.
type clientBackend struct {
	p *tpclient.Proxy
}

func newClientBackend(url, name, upstream string) (*clientBackend, error) {
	var suffix [4]byte
	_, _ = rand.Read(suffix[:]) // a shared server may hold proxies of other tests
	c := tpclient.NewClient(url)
	p, err := c.CreateProxy(name+"-"+hex.EncodeToString(suffix[:]), "127.0.0.1:0", upstream)
	if err != nil {
		return nil, fmt.Errorf("toxiproxy-server at %s (%s): %w", url, EnvToxiproxyURL, err)
	}
	return &clientBackend{p: p}, nil
}

func (c *clientBackend) addr() string { return c.p.Listen }

func (c *clientBackend) addToxic(name, typ, stream string, toxicity float64, attrs map[string]any) error {
	_, err := c.p.AddToxic(name, typ, stream, float32(toxicity), tpclient.Attributes(attrs))
	return err
}

func (c *clientBackend) removeToxic(name string) error { return c.p.RemoveToxic(name) }

func (c *clientBackend) disable() error { return c.p.Disable() }

func (c *clientBackend) enable() error { return c.p.Enable() }

func (c *clientBackend) close() error { return c.p.Delete() }

package toxiproxy

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
	"github.com/Shopify/toxiproxy/v2/toxics"
	"github.com/rs/zerolog"
)

// embedded runs a Toxiproxy server inside the test process: one server per
// proxy, no HTTP API, no global state of its own.
type embedded struct {
	srv    *toxiproxy.ApiServer
	p      *toxiproxy.Proxy
	listen string // p.Listen once started: Toxiproxy rewrites that field, unlocked, on every restart
}

// newEmbedded starts a Toxiproxy server for one proxy on 127.0.0.1, logging
// nowhere. It leaves zerolog's global logger alone: that is the user's.
// (Toxiproxy's bandwidth toxic, and so Blackhole, writes trace lines to
// it, which zerolog's default global level, debug, drops.)
func newEmbedded(name, upstream string) (*embedded, error) {
	registerTouch()
	srv := toxiproxy.NewServer(toxiproxy.NewMetricsContainer(nil), zerolog.Nop())
	p := toxiproxy.NewProxy(srv, name, "127.0.0.1:0", upstream)
	if err := srv.Collection.Add(p, true); err != nil {
		return nil, err
	}
	return &embedded{srv: srv, p: p, listen: p.Listen}, nil
}

func (e *embedded) addr() string { return e.listen }

func (e *embedded) add(name, typ, stream string, toxicity float64, attrs map[string]any) (toxics.Toxic, error) {
	data, err := json.Marshal(map[string]any{"name": name, "type": typ, "stream": stream, "toxicity": toxicity, "attributes": attrs})
	if err != nil {
		return nil, err
	}
	w, err := e.p.Toxics.AddToxicJson(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	return w.Toxic, nil
}

func (e *embedded) addToxic(name, typ, stream string, toxicity float64, attrs map[string]any) error {
	_, err := e.add(name, typ, stream, toxicity, attrs)
	return err
}

func (e *embedded) touch(name string) (func() int64, error) {
	t, err := e.add(name, touchType, "downstream", 1, map[string]any{})
	if err != nil {
		return nil, err
	}
	tt, ok := t.(*touchToxic)
	if !ok {
		return nil, fmt.Errorf("toxic %q is a %T, not the counting toxic", name, t)
	}
	return tt.links.Load, nil
}

func (e *embedded) removeToxic(name string) error {
	return e.p.Toxics.RemoveToxic(context.Background(), name)
}

func (e *embedded) disable() error { e.p.Stop(); return nil }

func (e *embedded) enable() error { return e.p.Start() }

func (e *embedded) reach(ctx context.Context, upstream string) error {
	return dialUpstream(ctx, upstream)
}

// lingering names the goroutines of the embedded proxy's live connections.
func (e *embedded) lingering() []string {
	return []string{
		"github.com/Shopify/toxiproxy/v2.(*ToxicLink).read",
		"github.com/Shopify/toxiproxy/v2/toxics.(*ToxicStub).Run",
		"github.com/Shopify/toxiproxy/v2.(*ToxicLink).write",
		"github.com/Shopify/toxiproxy/v2.(*Proxy).server",
		"github.com/Shopify/toxiproxy/v2.(*Proxy).freeBlocker",
		"github.com/Shopify/toxiproxy/v2/stream.(*ChanWriter).Write",
	}
}

func (e *embedded) close() error { return e.srv.Collection.Clear() }

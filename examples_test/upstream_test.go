package examples

// The upstream walkthrough: a catalog service that answers each request by
// calling two HTTP upstreams, pricing and then inventory, each with a
// limited capacity (a 503 when it is full). It faces a request flood beyond
// that capacity and a cascade (pricing slows down, then inventory goes
// down). The same client code runs twice:
//
//   - on the simulated tier, the upstreams are http.Handlers called through
//     an in-process transport behind fault hooks (faults.RoundTripper), and
//     evolution, starting from a naive genome, finds one that meets the SLO;
//   - on the wire tier, the upstreams are real httptest servers behind
//     embedded Toxiproxies, and the champion proves itself over real TCP.

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rafaelabs/rafael/evolve"
	"github.com/rafaelabs/rafael/faults"
	"github.com/rafaelabs/rafael/faults/toxiproxy"
	"github.com/rafaelabs/rafael/genome"
	"github.com/rafaelabs/rafael/harness"
	"github.com/rafaelabs/rafael/report"
	"github.com/rafaelabs/rafael/scenarios"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// upstream is an HTTP service that serves slots requests at once, each in
// serve, and answers 503 beyond that. In process, its load is kept per
// trial (by the faults.Scope the request's context carries), so that the
// trials a search runs at once do not crowd each other's upstream.
func upstream(slots int64, serve time.Duration) http.Handler {
	var (
		mu     sync.Mutex
		inside = map[*faults.Scope]*atomic.Int64{}
	)
	load := func(ctx context.Context) *atomic.Int64 {
		s := faults.ScopeOf(ctx)
		mu.Lock()
		defer mu.Unlock()
		if n := inside[s]; n != nil {
			return n
		}
		n := new(atomic.Int64)
		if s == nil || s.OnEnd(func() { mu.Lock(); delete(inside, s); mu.Unlock() }) {
			inside[s] = n
		}
		return n
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		inside := load(r.Context())
		if inside.Add(1) > slots {
			inside.Add(-1)
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		defer inside.Add(-1)
		t := time.NewTimer(serve)
		defer t.Stop()
		select {
		case <-t.C:
			fmt.Fprint(w, "ok")
		case <-r.Context().Done():
		}
	})
}

// Catalog is the service under test.
type Catalog struct {
	Client                  *http.Client
	PricingURL, StockingURL string
}

// Quote answers one request: pricing, then inventory.
func (c *Catalog) Quote(ctx context.Context, p *genome.Policy) error {
	return p.Do(ctx, func(ctx context.Context) error {
		if err := c.get(ctx, c.PricingURL); err != nil {
			return err
		}
		return c.get(ctx, c.StockingURL)
	})
}

func (c *Catalog) get(ctx context.Context, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return genome.Permanent(err)
	}
	resp, err := c.Client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", url, resp.Status)
	}
	return nil
}

// inProcess is an http.RoundTripper that serves requests with a handler,
// in the caller's goroutine: no sockets, so it runs inside a synctest bubble.
type inProcess map[string]http.Handler

func (t inProcess) RoundTrip(req *http.Request) (*http.Response, error) {
	h, ok := t[req.URL.Host]
	if !ok {
		return nil, fmt.Errorf("no upstream %q", req.URL.Host)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Result(), nil
}

// hooked routes each upstream's requests through its own fault hook.
type hooked map[string]http.RoundTripper

func (t hooked) RoundTrip(req *http.Request) (*http.Response, error) {
	return t[req.URL.Host].RoundTrip(req)
}

var upstreamThreats = func(pricing, inventory faults.Target) []scenarios.Threat {
	return []scenarios.Threat{
		scenarios.Flood(16, 600, scenarios.InjectFor(2*time.Second)),
		scenarios.Cascade(pricing, inventory, 300*time.Millisecond, scenarios.InjectFor(2*time.Second)),
	}
}

var upstreamSLO = harness.SLO{SuccessRate: 0.95, P99: 2 * time.Second, RecoverWithin: time.Second}

func TestCatalogEvolvesAgainstFloodAndCascade(t *testing.T) { evolveCatalog(t) }

// evolveCatalog evolves the catalog on the simulated tier and returns its
// champion.
func evolveCatalog(t *testing.T) *genome.Genome {
	// The transport calls the handlers directly: the hooks front nothing
	// outside the process, so the run stays on the simulated tier.
	pricing, inventory := faults.NewHook("pricing", 1).InProcess(), faults.NewHook("inventory", 2).InProcess()
	handlers := inProcess{"pricing": upstream(4, 4700*time.Microsecond), "inventory": upstream(8, 1900*time.Microsecond)}
	svc := &Catalog{
		Client: &http.Client{Transport: hooked{
			"pricing":   faults.RoundTripper(pricing, handlers),
			"inventory": faults.RoundTripper(inventory, handlers),
		}},
		PricingURL: "http://pricing/price", StockingURL: "http://inventory/stock",
	}
	rep := harness.Run(t, harness.Spec{
		Module:   "catalog",
		Genome:   &genome.Genome{Timeout: &genome.Timeout{PerAttempt: 5 * time.Second}}, // naive: a long timeout and nothing else
		Threats:  upstreamThreats(pricing, inventory),
		Workload: svc.Quote,
		SLO:      upstreamSLO,
		Evolve:   &evolve.Options{Generations: 8, Population: 10},
		Seed:     1, // the same champion wherever this runs
	})
	require.NotNil(t, rep.Evolved)
	assert.Equal(t, "simulated", rep.Tier)
	for _, row := range rep.Threats {
		assert.NotEqual(t, report.Broken, row.EvolvedStatus, "%s: %s", row.Threat, row.Verdict)
	}
	noDeadGene(t, rep)
	champion, err := genome.Parse(rep.ChampionGenome)
	require.NoError(t, err)
	return keepChampion(t, "catalog", champion)
}

func TestCatalogChampionHoldsOverRealHTTP(t *testing.T) {
	g := champion(t, "catalog", evolveCatalog)
	pricingSrv := httptest.NewServer(upstream(4, 4700*time.Microsecond))
	t.Cleanup(pricingSrv.Close)
	inventorySrv := httptest.NewServer(upstream(8, 1900*time.Microsecond))
	t.Cleanup(inventorySrv.Close)
	pricing := toxiproxy.Start(t, "pricing", pricingSrv.Listener.Addr().String())
	inventory := toxiproxy.Start(t, "inventory", inventorySrv.Listener.Addr().String())
	transport := &http.Transport{MaxIdleConnsPerHost: 64}
	t.Cleanup(transport.CloseIdleConnections)
	svc := &Catalog{Client: &http.Client{Transport: transport},
		PricingURL: "http://" + pricing.Addr() + "/price", StockingURL: "http://" + inventory.Addr() + "/stock"}

	rep := harness.Run(t, harness.Spec{
		Module:    "catalog",
		Genome:    g,
		Threats:   upstreamThreats(pricing, inventory),
		Workload:  svc.Quote,
		SLO:       upstreamSLO,
		TimeScale: 0.5,
		Requests:  60,
		// The keep-alive connections, still pooled when the run ends, belong
		// to the client's transport and the httptest servers, which the
		// test's cleanups close: Run's leak check knows them.
	})
	assert.Equal(t, "wire", rep.Tier)
	for _, row := range rep.Threats {
		assert.NotEqual(t, report.Broken, row.Status, row.Threat)
	}
	_ = report.Held
}

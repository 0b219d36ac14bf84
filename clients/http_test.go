package clients_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rafaelabs/rafael/faults/toxiproxy"
	"github.com/rafaelabs/rafael/genome"
	"github.com/rafaelabs/rafael/harness"
	"github.com/rafaelabs/rafael/scenarios"
	"github.com/rafaelabs/rafael/vaultdata"
	"github.com/stretchr/testify/assert"
)

// An http.Client with keep-alive calls an httptest server over real TCP
// loopback, through a Toxiproxy that adds 100 ms to every chunk for 500 ms.
// The idle connections (two goroutines each on the client, one on the
// server) live in the pool until the test's cleanups close the transport
// and the server.
func TestHTTPClientWithKeepAliveUnderLatency(t *testing.T) {
	var dialed atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok")
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			dialed.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	upstream := toxiproxy.Start(t, "api", srv.Listener.Addr().String())
	transport := &http.Transport{MaxIdleConnsPerHost: 16}
	t.Cleanup(transport.CloseIdleConnections)
	client := &http.Client{Transport: transport}
	url := "http://" + upstream.Addr() + "/"

	const requests = 40
	rep := harness.Run(t, harness.Spec{
		Module:  "api-client",
		Genome:  vaultdata.MustGenome(t, "http-client-retry"),
		Threats: []scenarios.Threat{scenarios.Latency(upstream, 100*time.Millisecond, scenarios.InjectFor(2*time.Second))},
		Workload: func(ctx context.Context, p *genome.Policy) error {
			return p.Do(ctx, func(ctx context.Context) error {
				req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
				if err != nil {
					return err
				}
				resp, err := client.Do(req)
				if err != nil {
					return err
				}
				defer resp.Body.Close()
				body, err := io.ReadAll(resp.Body)
				if err != nil {
					return err
				}
				if resp.StatusCode != http.StatusOK || string(body) != "ok" {
					return fmt.Errorf("status %d, body %q", resp.StatusCode, body)
				}
				return nil
			})
		},
		SLO:       harness.SLO{SuccessRate: 0.99},
		TimeScale: 0.25,
		Requests:  requests,
	})
	ran(t, rep, "wire", 0.99)
	assert.Less(t, dialed.Load(), int64(requests), "keep-alive: connections were reused")
}

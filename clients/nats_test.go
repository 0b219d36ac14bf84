package clients_test

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/rafaelabs/rafael/faults/toxiproxy"
	"github.com/rafaelabs/rafael/genome"
	"github.com/rafaelabs/rafael/harness"
	"github.com/rafaelabs/rafael/scenarios"
	"github.com/rafaelabs/rafael/vaultdata"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A nats.go client makes requests through a Toxiproxy to a responder
// connected straight to NATS. The proxy goes down for 250 ms: the client's
// connection is cut, its reconnect loop dials until the proxy is back, and
// the vault's NATS genome retries the requests across the reconnect.
func TestNATSRequestReplyAcrossAReconnect(t *testing.T) {
	need(t, "NATS", natsAddr)
	subject := fmt.Sprintf("rafael.clients.echo.%d", os.Getpid())
	responder, err := nats.Connect("nats://"+natsAddr, nats.Name("rafael-responder"))
	require.NoError(t, err)
	t.Cleanup(responder.Close)
	_, err = responder.Subscribe(subject, func(m *nats.Msg) { _ = m.Respond(m.Data) })
	require.NoError(t, err)
	require.NoError(t, responder.Flush())

	broker := toxiproxy.Start(t, "nats", natsAddr)
	client, err := nats.Connect("nats://"+broker.Addr(), nats.Name("rafael-client"),
		nats.IgnoreDiscoveredServers(), nats.MaxReconnects(-1),
		nats.ReconnectWait(50*time.Millisecond), nats.ReconnectJitter(10*time.Millisecond, 0))
	require.NoError(t, err)
	t.Cleanup(client.Close)

	rep := harness.Run(t, harness.Spec{
		Module:  "orders-nats",
		Genome:  vaultdata.MustGenome(t, "nats-publish-retry"),
		Threats: []scenarios.Threat{scenarios.DBOutage(broker, time.Second)},
		Workload: func(ctx context.Context, p *genome.Policy) error {
			return p.Do(ctx, func(ctx context.Context) error {
				msg, err := client.RequestWithContext(ctx, subject, []byte("order"))
				if err == nil && string(msg.Data) != "order" {
					err = fmt.Errorf("reply %q", msg.Data)
				}
				return err
			})
		},
		SLO:       harness.SLO{SuccessRate: 0.95, RecoverWithin: time.Second},
		TimeScale: 0.25,
		Requests:  40,
	})
	m := ran(t, rep, "wire", 0.95)
	assert.Greater(t, m.AttemptsPerRequest, 1.0, "the outage cut the connection: requests were retried across the reconnect")
	assert.Positive(t, client.Stats().Reconnects, "the client reconnected")
}

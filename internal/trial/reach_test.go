package trial

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/rafaelabs/rafael/faults/toxiproxy"
	"github.com/rafaelabs/rafael/genome"
	"github.com/rafaelabs/rafael/scenarios"
	"github.com/rafaelabs/rafael/slo"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// closedAddr is a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	return addr
}

// TestAnUpstreamDownBeforeTheFaultIsASetupError: a proxy whose upstream is
// not running makes every request fail; that is the setup's failure, said
// as such, not the threat's damage.
func TestAnUpstreamDownBeforeTheFaultIsASetupError(t *testing.T) {
	t.Setenv(toxiproxy.URLEnv, "")
	p := toxiproxy.Start(t, "postgres", closedAddr(t))
	work := func(ctx context.Context, _ *genome.Policy) error {
		c, err := (&net.Dialer{}).DialContext(ctx, "tcp", p.Addr())
		if err == nil {
			c.Close()
		}
		return err
	}
	th := scenarios.Latency(p, 10*time.Millisecond, scenarios.InjectFor(100*time.Millisecond))
	res := Run(Config{Workload: work, Requests: 5}, th, &genome.Genome{Module: "m"}, 1)
	require.Error(t, res.SetupErr)
	assert.ErrorContains(t, res.SetupErr, "is not reachable before any fault was injected")
	vs := res.Violations(slo.SLO{SuccessRate: 0.9})
	require.NotEmpty(t, vs)
	assert.Equal(t, slo.Setup, vs[0].Kind, "reported as setup, not as the threat")
}

package toxiproxy

import (
	"bytes"
	"context"
	"net"
	"testing"
	"time"

	"github.com/rafaelabs/rafael/faults"
	"github.com/rafaelabs/rafael/genome"
	"github.com/rafaelabs/rafael/harness"
	"github.com/rafaelabs/rafael/scenarios"
	"github.com/rs/zerolog"
	zlog "github.com/rs/zerolog/log"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestTheUsersZerologLoggerStillWrites: a team's zerolog/log output must
// not vanish because a wire run started an embedded Toxiproxy (one once
// set zerolog's global logger to Nop for the whole process).
func TestTheUsersZerologLoggerStillWrites(t *testing.T) {
	t.Setenv(URLEnv, "")
	t.Setenv("RAFAEL_OUT", t.TempDir())
	var buf bytes.Buffer
	saved := zlog.Logger
	zlog.Logger = zerolog.New(&buf)
	t.Cleanup(func() { zlog.Logger = saved })

	p := Start(t, "zerolog", echoServer(t))
	c := dial(t, p.Addr())
	remove, err := p.Apply(faults.Blackhole{}) // the bandwidth toxic, which logs
	require.NoError(t, err)
	_, _ = roundTrip(c, "held", 200*time.Millisecond) // stalled by the blackhole
	remove()

	rep := harness.Run(t, harness.Spec{
		Module:  "echo-client",
		Threats: []scenarios.Threat{scenarios.Latency(p, 50*time.Millisecond, scenarios.InjectFor(time.Second))},
		Workload: func(ctx context.Context, pol *genome.Policy) error {
			return pol.Do(ctx, func(ctx context.Context) error {
				var d net.Dialer
				c, err := d.DialContext(ctx, "tcp", p.Addr())
				if err != nil {
					return err
				}
				defer c.Close()
				_, err = roundTrip(c, "ping", 5*time.Second)
				return err
			})
		},
		SLO:       harness.SLO{SuccessRate: 0.9},
		TimeScale: 0.5,
		Requests:  20,
	})
	require.Equal(t, "wire", rep.Tier)

	zlog.Info().Msg("the team's line")
	assert.Contains(t, buf.String(), "the team's line", "the user's global logger still writes after a wire run")
}

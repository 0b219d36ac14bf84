package harness

import (
	"context"
	"io"
	"net"
	"testing"
	"time"

	"github.com/rafaelabs/rafael/faults"
	"github.com/rafaelabs/rafael/faults/toxiproxy"
	"github.com/rafaelabs/rafael/genome"
	"github.com/rafaelabs/rafael/internal/echo"
	"github.com/rafaelabs/rafael/scenarios"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// ping dials addr, sends four bytes and reads them back, within ctx.
func ping(ctx context.Context, addr string) error {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = c.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { _ = c.SetDeadline(time.Now()) })
	defer stop()
	if _, err := c.Write([]byte("ping")); err != nil {
		return err
	}
	_, err = io.ReadFull(c, make([]byte, 4))
	return err
}

func TestWireTierRetriesThroughARealOutage(t *testing.T) {
	if testing.Short() {
		t.Skip("the wire tier runs in real time")
	}
	proxy := toxiproxy.Start(t, "echo", echo.Server(t))
	rep := Run(t, Spec{
		Module: "echo-client",
		Genome: &genome.Genome{
			Timeout: &genome.Timeout{PerAttempt: time.Second},
			Retry:   &genome.Retry{MaxAttempts: 20, BaseDelay: 20 * time.Millisecond, MaxDelay: 100 * time.Millisecond, Multiplier: 2},
		},
		// A 2s outage, scaled by 0.25: 250ms steady, 500ms down, 500ms recovery.
		Threats: []scenarios.Threat{scenarios.DBOutage(proxy, 2*time.Second)},
		Workload: func(ctx context.Context, p *genome.Policy) error {
			return p.Do(ctx, func(ctx context.Context) error { return ping(ctx, proxy.Addr()) })
		},
		SLO:       SLO{SuccessRate: 0.95},
		TimeScale: 0.25,
		Requests:  40,
	})
	require.Len(t, rep.Threats, 1)
	assert.Equal(t, "wire", rep.Tier)
	tr := rep.Threats[0].Trials
	require.Len(t, tr, 1, "the wire tier runs one trial by default")
	m := tr[0].Metrics
	assert.Empty(t, tr[0].Violations, "%+v", tr[0])
	assert.Greater(t, m.AttemptsPerRequest, 1.0, "the outage refused connections, which were retried")
	assert.Equal(t, 40, m.Requests)
}

func TestTierFlagSkipsTheOtherTier(t *testing.T) {
	old := *flagTier
	t.Cleanup(func() { *flagTier = old })
	*flagTier = "wire"
	db := faults.NewHook("db", 1)
	ran := false
	t.Run("simulated spec", func(t *testing.T) {
		Run(t, Spec{Module: "m", Threats: []scenarios.Threat{scenarios.DBOutage(db, time.Second)},
			Workload: func(ctx context.Context, p *genome.Policy) error { ran = true; return nil }})
		t.Error("not reached: the run is skipped")
	})
	assert.False(t, ran)
}

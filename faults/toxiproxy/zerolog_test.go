package toxiproxy

import (
	"bytes"
	"github.com/rafaelabs/rafael/faults"
	"testing"
	"time"

	"github.com/rs/zerolog"
	zlog "github.com/rs/zerolog/log"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestTheUsersZerologLoggerStillWrites: a team's zerolog/log output must
// not vanish because a wire test started an embedded Toxiproxy (one once
// set zerolog's global logger to Nop for the whole process).
func TestTheUsersZerologLoggerStillWrites(t *testing.T) {
	t.Setenv(URLEnv, "")
	var buf bytes.Buffer
	saved := zlog.Logger
	zlog.Logger = zerolog.New(&buf)
	t.Cleanup(func() { zlog.Logger = saved })

	p := Start(t, "zerolog", echoServer(t))
	c := dial(t, p.Addr())
	remove, err := p.Apply(faults.Blackhole{})
	require.NoError(t, err)
	_, _ = roundTrip(c, "held", 200*time.Millisecond) // stalled by the blackhole
	remove()
	remove, err = p.Apply(faults.Latency{Delay: time.Millisecond})
	require.NoError(t, err)
	remove()

	zlog.Info().Msg("the team's line")
	assert.Contains(t, buf.String(), "the team's line", "the user's global logger still writes")
}

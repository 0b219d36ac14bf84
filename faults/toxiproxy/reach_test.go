package toxiproxy

import (
	"github.com/rafaelabs/rafael/internal/toxiserver"
	"net"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestReachTellsADownUpstreamFromTheThreat(t *testing.T) {
	t.Run("embedded", func(t *testing.T) {
		t.Setenv(URLEnv, "")
		reachSuite(t)
	})
	t.Run("external", func(t *testing.T) {
		t.Setenv(URLEnv, toxiserver.Start(t, "127.0.0.2"))
		reachSuite(t)
	})
}

func reachSuite(t *testing.T) {
	up := Start(t, "echo", echoServer(t))
	assert.NoError(t, up.Reach(t.Context()))

	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	closed := l.Addr().String()
	require.NoError(t, l.Close())
	down := Start(t, "postgres", closed)
	err = down.Reach(t.Context())
	assert.ErrorContains(t, err, `the upstream `+closed+` of "postgres" is not reachable before any fault was injected`)
	assert.ErrorContains(t, err, "start it, or check the address")
}

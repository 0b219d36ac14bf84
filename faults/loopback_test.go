package faults

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCheckAllowed(t *testing.T) {
	t.Setenv(AllowHostsEnv, "")
	for _, ok := range []string{"127.0.0.1:5432", "127.0.0.2:1", "[::1]:80", "localhost:6379"} {
		assert.NoError(t, CheckAllowed(ok), ok)
	}
	err := CheckAllowed("postgres:5432")
	require.ErrorIs(t, err, ErrNotLoopback)
	assert.ErrorContains(t, err, "add the host to RAFAEL_ALLOW_HOSTS")

	t.Setenv(AllowHostsEnv, " postgres , 10.1.0.0/16,2001:db8::7")
	for _, ok := range []string{"postgres:5432", "POSTGRES:5432", "10.1.200.3:6379", "[2001:db8::7]:80"} {
		assert.NoError(t, CheckAllowed(ok), ok)
	}
	for _, no := range []string{"postgres.evil:5432", "10.2.0.1:6379", "[2001:db8::8]:80", "db:1"} {
		assert.ErrorIs(t, CheckAllowed(no), ErrNotLoopback, no)
	}
	assert.ErrorContains(t, CheckAllowed("nohostport"), "is not host:port")

	t.Setenv(AllowHostsEnv, "10.1.0.0/99")
	assert.ErrorContains(t, CheckAllowed("10.1.0.1:1"), `RAFAEL_ALLOW_HOSTS entry "10.1.0.0/99" is not a CIDR prefix`)
	assert.NoError(t, CheckLoopback("127.0.0.1:1"))
	assert.ErrorIs(t, CheckLoopback("10.1.0.1:1"), ErrNotLoopback, "a flood never leaves loopback, whatever the allow-list")
}

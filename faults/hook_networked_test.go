package faults

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var _ Networked = (*Hook)(nil)

func pipeDial(context.Context, string, string) (net.Conn, error) {
	c, s := net.Pipe()
	s.Close()
	return c, nil
}

func TestHookNetworkedFollowsWhatItFronts(t *testing.T) {
	fresh := func() *Hook { return NewHook("dep", 1) }
	cases := []struct {
		name string
		wrap func(h *Hook)
		want bool
	}{
		{"nothing", func(*Hook) {}, false},
		{"Func", func(h *Hook) { _ = Func(h, func(context.Context) (int, error) { return 1, nil }) }, false},
		{"FuncErr", func(h *Hook) { _ = FuncErr(h, func(context.Context) error { return nil }) }, false},
		{"Connector of a driver", func(h *Hook) { _ = Connector(h, &hookFakeDB{}) }, true},
		{"Dialer, nil dial (net.Dialer)", func(h *Hook) { _ = Dialer(h, nil) }, true},
		{"Dialer of a func", func(h *Hook) { _ = Dialer(h, pipeDial) }, true},
		{"RoundTripper, nil next (http.DefaultTransport)", func(h *Hook) { _ = RoundTripper(h, nil) }, true},
		{"RoundTripper of an http.Transport", func(h *Hook) { _ = RoundTripper(h, &http.Transport{}) }, true},
		{"RoundTripper of another RoundTripper", func(h *Hook) { _ = RoundTripper(h, hookRoundTrip(hookOKResponse)) }, true},
		{"Conn of a net.Pipe", func(h *Hook) {
			c, s := net.Pipe()
			Conn(h, c).Close()
			s.Close()
		}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := fresh()
			c.wrap(h)
			assert.Equal(t, c.want, h.Networked())
			assert.False(t, h.InProcess().Networked(), "InProcess declares what the hook wraps in-process")
		})
	}
}

// A real socket is networked whatever the hook was declared: it is known,
// not inferred. So is one under TLS, or under another hook's Conn.
func TestHookConnOfARealSocketIsNetworked(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { ln.Close() })
	accepted := make(chan net.Conn, 3)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted <- c
		}
	}()
	dial := func() net.Conn {
		c, err := net.Dial("tcp", ln.Addr().String())
		require.NoError(t, err)
		s := <-accepted
		t.Cleanup(func() { c.Close(); s.Close() })
		return c
	}

	plain := NewHook("tcp", 1).InProcess()
	Conn(plain, dial())
	assert.True(t, plain.Networked(), "a *net.TCPConn")

	overTLS := NewHook("tls", 1)
	Conn(overTLS, tls.Client(dial(), &tls.Config{InsecureSkipVerify: true}))
	assert.True(t, overTLS.Networked(), "a *tls.Conn over TCP (NetConn)")

	outer := NewHook("outer", 1)
	Conn(outer, Conn(NewHook("inner", 1), dial()))
	assert.True(t, outer.Networked(), "a hook's Conn of a socket")
}

func TestRemoteDeclaresAFuncHookNetworked(t *testing.T) {
	h := NewHook("inventory", 1)
	call := FuncErr(h, func(context.Context) error { return nil })
	require.NoError(t, call(t.Context()))
	assert.False(t, h.Networked(), "a func hook is in-process until declared otherwise")
	assert.Same(t, h, h.Remote())
	assert.True(t, h.Networked(), "Remote: what the func calls reaches outside the process")
	h.InProcess()
	assert.False(t, h.Networked(), "the later declaration wins")
	h.Remote()
	assert.True(t, h.Networked())
}

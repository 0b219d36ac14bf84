package faults

import (
	"context"
	"io"
	"net"
	"os"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// hookPipe returns the client end of a net.Pipe wrapped by h, and the server
// end; both are closed when the test ends. Call it inside a bubble.
func hookPipe(t *testing.T, h *Hook) (client net.Conn, server net.Conn) {
	c, s := net.Pipe()
	client = Conn(h, c)
	t.Cleanup(func() { client.Close(); s.Close() })
	return client, s
}

// hookSend writes msg to c from a new goroutine and returns when it is done.
func hookSend(c net.Conn, msg string) <-chan error {
	done := make(chan error, 1)
	go func() {
		_, err := c.Write([]byte(msg))
		done <- err
	}()
	return done
}

func TestConnLatencyDownstream(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := NewHook("link", 1)
		_, err := h.Apply(Latency{Delay: 100 * time.Millisecond})
		require.NoError(t, err)
		client, server := hookPipe(t, h)

		sent := hookSend(server, "hello")
		start := time.Now()
		buf := make([]byte, 16)
		n, err := client.Read(buf)
		require.NoError(t, err)
		assert.Equal(t, "hello", string(buf[:n]))
		assert.Equal(t, 100*time.Millisecond, time.Since(start), "reads are delayed")
		require.NoError(t, <-sent)

		start = time.Now()
		go io.ReadFull(server, buf[:4])
		_, err = client.Write([]byte("ping"))
		require.NoError(t, err)
		assert.Zero(t, time.Since(start), "writes are not (Downstream)")
	})
}

func TestConnLatencyUpstream(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := NewHook("link", 1)
		_, _ = h.Apply(Latency{Delay: 40 * time.Millisecond, Direction: Upstream})
		client, server := hookPipe(t, h)
		got := make(chan string, 1)
		go func() {
			buf := make([]byte, 4)
			_, _ = io.ReadFull(server, buf)
			got <- string(buf)
		}()
		start := time.Now()
		_, err := client.Write([]byte("ping"))
		require.NoError(t, err)
		assert.Equal(t, 40*time.Millisecond, time.Since(start))
		assert.Equal(t, "ping", <-got)
	})
}

func TestConnReset(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := NewHook("link", 1)
		client, _ := hookPipe(t, h)
		remove, err := h.Apply(Reset{})
		require.NoError(t, err)
		_, err = client.Read(make([]byte, 8))
		require.ErrorIs(t, err, syscall.ECONNRESET)
		require.ErrorIs(t, err, ErrReset)
		_, err = client.Write([]byte("x"))
		require.ErrorIs(t, err, syscall.ECONNRESET)
		remove()
		_, err = client.Read(make([]byte, 8))
		require.ErrorIs(t, err, ErrReset, "a reset connection stays reset")
	})
}

func TestConnResetAfterInterruptsRead(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := NewHook("link", 1)
		_, _ = h.Apply(Reset{After: time.Second})
		client, _ := hookPipe(t, h)
		start := time.Now()
		_, err := client.Read(make([]byte, 8)) // nothing is ever sent
		require.ErrorIs(t, err, syscall.ECONNRESET)
		assert.Equal(t, time.Second, time.Since(start))
	})
}

func TestConnHang(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := NewHook("link", 1)
		remove, _ := h.Apply(Hang{})
		client, server := hookPipe(t, h)
		go server.Write([]byte("never delivered"))

		start := time.Now()
		require.NoError(t, client.SetReadDeadline(start.Add(2*time.Second)))
		_, err := client.Read(make([]byte, 32))
		require.ErrorIs(t, err, os.ErrDeadlineExceeded)
		assert.Equal(t, 2*time.Second, time.Since(start))

		// A deadline moved while a Read waits is honoured.
		require.NoError(t, client.SetReadDeadline(time.Time{}))
		time.AfterFunc(time.Second, func() { client.SetReadDeadline(time.Now()) })
		start = time.Now()
		_, err = client.Read(make([]byte, 32))
		require.ErrorIs(t, err, os.ErrDeadlineExceeded)
		assert.Equal(t, time.Second, time.Since(start))
		require.NoError(t, client.SetReadDeadline(time.Time{}))

		n, err := client.Write([]byte("swallowed"))
		require.NoError(t, err)
		assert.Equal(t, 9, n)

		time.AfterFunc(time.Second, remove)
		_, err = client.Read(make([]byte, 32))
		require.ErrorIs(t, err, ErrReset, "removing a Hang resets what it held")
	})
}

func TestConnCloseUnblocks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := NewHook("link", 1)
		_, _ = h.Apply(Hang{})
		client, _ := hookPipe(t, h)
		time.AfterFunc(time.Second, func() { client.Close() })
		_, err := client.Read(make([]byte, 8))
		require.ErrorIs(t, err, net.ErrClosed)
	})
}

func TestConnDown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := NewHook("db", 1)
		var servers []net.Conn
		dial := Dialer(h, func(context.Context, string, string) (net.Conn, error) {
			c, s := net.Pipe()
			servers = append(servers, s)
			return c, nil
		})
		defer func() {
			for _, s := range servers {
				s.Close()
			}
		}()
		live, err := dial(t.Context(), "tcp", "db:5432")
		require.NoError(t, err)
		defer live.Close()
		time.AfterFunc(time.Second, func() { _, _ = h.Apply(Down{}) })
		_, err = live.Read(make([]byte, 8))
		require.ErrorIs(t, err, io.EOF, "Down closes live connections")
		_, err = live.Write([]byte("x"))
		require.ErrorIs(t, err, ErrReset)

		_, err = dial(t.Context(), "tcp", "db:5432")
		require.ErrorIs(t, err, ErrRefused)
		require.ErrorIs(t, err, syscall.ECONNREFUSED)
		var op *net.OpError
		require.ErrorAs(t, err, &op)
		assert.Equal(t, "dial", op.Op)
		assert.Len(t, servers, 1, "a refused dial never reaches the network")
	})
}

func TestConnBlackhole(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := NewConnHook("link", 1)
		client, server := hookPipe(t, h)
		cancel := Schedule(h, Blackhole{}, 0, 2*time.Second, nil)
		defer cancel()
		synctest.Wait()
		go server.Write([]byte("held"))
		start := time.Now()
		buf := make([]byte, 8)
		n, err := client.Read(buf)
		require.NoError(t, err)
		assert.Equal(t, "held", string(buf[:n]), "delivered when removed")
		assert.Equal(t, 2*time.Second, time.Since(start))
	})
}

func TestConnBandwidth(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := NewConnHook("link", 1)
		_, err := h.Apply(Bandwidth{BytesPerSecond: 1024, Direction: Both})
		require.NoError(t, err)
		client, server := hookPipe(t, h)
		go server.Write(make([]byte, 2048))
		start := time.Now()
		_, err = io.ReadFull(client, make([]byte, 2048))
		require.NoError(t, err)
		assert.Equal(t, 2*time.Second, time.Since(start))

		go io.ReadFull(server, make([]byte, 512))
		start = time.Now()
		_, err = client.Write(make([]byte, 512))
		require.NoError(t, err)
		assert.Equal(t, 500*time.Millisecond, time.Since(start))
	})
}

func TestConnSlicer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := NewConnHook("link", 1)
		_, err := h.Apply(Slicer{AverageSize: 2, Delay: 10 * time.Millisecond})
		require.NoError(t, err)
		client, server := hookPipe(t, h)
		go server.Write([]byte("hello"))
		start := time.Now()
		var sizes []int
		var got []byte
		buf := make([]byte, 16)
		for len(got) < 5 {
			n, err := client.Read(buf)
			require.NoError(t, err)
			sizes = append(sizes, n)
			got = append(got, buf[:n]...)
		}
		assert.Equal(t, "hello", string(got))
		assert.Equal(t, []int{2, 2, 1}, sizes)
		assert.Equal(t, 20*time.Millisecond, time.Since(start))
	})
}

func TestConnCutAfter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := NewConnHook("link", 1)
		remove, _ := h.Apply(CutAfter{Bytes: 3})
		client, server := hookPipe(t, h)
		go server.Write([]byte("hello"))
		got, err := io.ReadAll(client)
		require.NoError(t, err)
		assert.Equal(t, "hel", string(got))
		remove()

		_, _ = h.Apply(CutAfter{Bytes: 3, Direction: Upstream})
		client, server = hookPipe(t, h)
		recv := make(chan []byte, 1)
		go func() { b, _ := io.ReadAll(server); recv <- b }()
		n, err := client.Write([]byte("hello"))
		require.ErrorIs(t, err, ErrReset)
		assert.Equal(t, 3, n)
		assert.Equal(t, "hel", string(<-recv))
	})
}

func TestConnSlowClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := NewConnHook("link", 1)
		_, _ = h.Apply(SlowClose{Delay: time.Second})
		client, _ := hookPipe(t, h)
		start := time.Now()
		require.NoError(t, client.Close())
		assert.Equal(t, time.Second, time.Since(start))
		_, err := client.Read(make([]byte, 1))
		require.ErrorIs(t, err, net.ErrClosed)
	})
}

func TestConnDeadlineKeepsHeldData(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := NewHook("link", 1)
		_, _ = h.Apply(Latency{Delay: time.Second})
		client, server := hookPipe(t, h)
		go server.Write([]byte("late"))
		start := time.Now()
		require.NoError(t, client.SetReadDeadline(start.Add(300*time.Millisecond)))
		buf := make([]byte, 8)
		_, err := client.Read(buf)
		require.ErrorIs(t, err, os.ErrDeadlineExceeded)
		require.NoError(t, client.SetReadDeadline(time.Time{}))
		n, err := client.Read(buf)
		require.NoError(t, err)
		assert.Equal(t, "late", string(buf[:n]))
		assert.Equal(t, time.Second, time.Since(start), "held data arrives when it is due")
	})
}

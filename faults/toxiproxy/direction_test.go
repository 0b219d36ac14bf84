package toxiproxy

import (
	"bufio"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/rafaelabs/rafael/faults"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// recorder is a real TCP server on loopback that reads one line from each
// connection, sends what it was told to answer, and reports how many bytes
// of the line reached it.
func recorder(t *testing.T, answer string) (addr string, got <-chan int) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ch := make(chan int, 16)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			_ = c.SetDeadline(time.Now().Add(10 * time.Second))
			line, _ := bufio.NewReader(c).ReadString('\n')
			ch <- len(line)
			_, _ = io.WriteString(c, answer)
			_ = c.Close()
		}
	}()
	t.Cleanup(func() { _ = ln.Close(); <-done })
	return ln.Addr().String(), ch
}

// exchange sends line through the proxy at addr and returns every byte that
// came back before the connection ended.
func exchange(t *testing.T, addr, line string) string {
	t.Helper()
	c := dial(t, addr)
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	_, _ = io.WriteString(c, line)
	back, _ := io.ReadAll(c)
	return string(back)
}

// Byte-level faults act on the direction they name: CutAfter upstream
// stops what the client sends after N bytes, downstream what the server
// answers; Slicer downstream delivers the answer in small pieces.
func directionSuite(t *testing.T) {
	const line, answer = "0123456789abcdef\n", "the whole answer, about forty bytes long\n"
	t.Run("cut upstream", func(t *testing.T) {
		upstream, got := recorder(t, answer)
		p := Start(t, "recorder", upstream)
		remove, err := p.Apply(faults.CutAfter{Bytes: 4, Direction: faults.Upstream})
		require.NoError(t, err)
		defer remove()
		exchange(t, p.Addr(), line)
		assert.Equal(t, 4, <-got, "the server received only the first 4 bytes the client sent")
	})
	t.Run("cut downstream", func(t *testing.T) {
		upstream, got := recorder(t, answer)
		p := Start(t, "recorder", upstream)
		remove, err := p.Apply(faults.CutAfter{Bytes: 4, Direction: faults.Downstream})
		require.NoError(t, err)
		defer remove()
		back := exchange(t, p.Addr(), line)
		assert.Equal(t, len(line), <-got, "the server received the whole line")
		assert.Equal(t, answer[:4], back, "the client received only the first 4 bytes of the answer")
	})
	t.Run("slicer downstream", func(t *testing.T) {
		upstream, got := recorder(t, answer)
		p := Start(t, "recorder", upstream)
		remove, err := p.Apply(faults.Slicer{AverageSize: 1, Delay: 2 * time.Millisecond, Direction: faults.Downstream})
		require.NoError(t, err)
		defer remove()
		c := dial(t, p.Addr())
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		_, err = io.WriteString(c, line)
		require.NoError(t, err)
		var b strings.Builder
		reads := 0
		buf := make([]byte, 1024)
		for {
			n, err := c.Read(buf)
			if n > 0 {
				reads++
				b.Write(buf[:n])
			}
			if err != nil {
				break
			}
		}
		assert.Equal(t, len(line), <-got)
		assert.Equal(t, answer, b.String(), "every byte arrives")
		assert.Greater(t, reads, len(answer)/4, "in many small pieces (%d reads for %d bytes)", reads, len(answer))
	})
}

// An embedded proxy counts the connections its faults act on: those live
// when a fault is applied and those opened while it is in force.
func TestTouchedCountsConnections(t *testing.T) {
	t.Setenv(URLEnv, "")
	p := Start(t, "echo", echoServer(t))
	_, unit := p.Touched(faults.KindDown)
	assert.Empty(t, unit, "a Down refuses connections the proxy never sees: it cannot count them")

	remove, err := p.Apply(faults.Latency{Delay: time.Millisecond})
	require.NoError(t, err)
	n, unit := p.Touched(faults.KindLatency)
	require.Equal(t, "connections", unit)
	assert.EqualValues(t, 0, n, "no connection while the fault was in force")
	remove()

	live := dial(t, p.Addr())
	_, err = roundTrip(live, "before", 5*time.Second)
	require.NoError(t, err)
	remove, err = p.Apply(faults.Latency{Delay: time.Millisecond})
	require.NoError(t, err)
	_, err = roundTrip(live, "live", 5*time.Second)
	require.NoError(t, err)
	opened := dial(t, p.Addr())
	_, err = roundTrip(opened, "new", 5*time.Second)
	require.NoError(t, err)
	remove()
	n, _ = p.Touched(faults.KindLatency)
	assert.EqualValues(t, 2, n, "the live connection and the one opened during the fault")

	third := dial(t, p.Addr())
	_, err = roundTrip(third, "after", 5*time.Second)
	require.NoError(t, err)
	n, _ = p.Touched(faults.KindLatency)
	assert.EqualValues(t, 2, n, "a connection opened after the fault is not counted")
}

package toxiproxy

import (
	"bufio"
	"fmt"
	"github.com/rafaelabs/rafael/faults"
	"io"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rafaelabs/rafael/internal/echo"
	"github.com/rafaelabs/rafael/internal/toxiserver"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// echoServer is a real TCP echo server on loopback for the test's duration.
func echoServer(t *testing.T) string { return echo.Server(t) }

// roundTrip writes msg on c and reads it back, within deadline.
func roundTrip(c net.Conn, msg string, deadline time.Duration) (string, error) {
	_ = c.SetDeadline(time.Now().Add(deadline))
	if _, err := io.WriteString(c, msg+"\n"); err != nil {
		return "", err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	return strings.TrimSuffix(line, "\n"), err
}

func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// networkSuite runs the fault tests against a real TCP echo server through
// whatever backend Start picks (embedded, or TOXIPROXY_URL). The clients
// module runs them against PostgreSQL and Redis with pgx and go-redis.
func networkSuite(t *testing.T) {
	t.Run("echo", echoSuite)
	t.Run("direction", directionSuite)
}

// The capabilities a harness finds by type assertion.
var (
	_ faults.Target    = (*Proxy)(nil)
	_ faults.Networked = (*Proxy)(nil)
	_ faults.Reacher   = (*Proxy)(nil)
	_ faults.Lingerer  = (*Proxy)(nil)
	_ faults.Toucher   = (*Proxy)(nil)
)

func TestToxiproxyEmbedded(t *testing.T) {
	t.Setenv(URLEnv, "")
	networkSuite(t)
}

func echoSuite(t *testing.T) {
	upstream := echoServer(t)

	t.Run("latency", func(t *testing.T) {
		p := Start(t, "echo", upstream)
		c := dial(t, p.Addr())
		got, err := roundTrip(c, "warm", 5*time.Second)
		require.NoError(t, err)
		require.Equal(t, "warm", got)
		remove, err := p.Apply(faults.Latency{Delay: 150 * time.Millisecond})
		require.NoError(t, err)
		start := time.Now()
		got, err = roundTrip(c, "slow", 5*time.Second)
		require.NoError(t, err)
		assert.Equal(t, "slow", got)
		assert.GreaterOrEqual(t, time.Since(start), 150*time.Millisecond, "a round trip takes at least the delay")
		remove()
		remove() // idempotent
		got, err = roundTrip(c, "fast", 5*time.Second)
		require.NoError(t, err)
		assert.Equal(t, "fast", got)
	})

	t.Run("down", func(t *testing.T) {
		p := Start(t, "echo", upstream)
		live := dial(t, p.Addr())
		_, err := roundTrip(live, "hello", 5*time.Second)
		require.NoError(t, err)
		remove, err := p.Apply(faults.Down{})
		require.NoError(t, err)
		_, err = net.DialTimeout("tcp", p.Addr(), 5*time.Second)
		assert.ErrorIs(t, err, syscall.ECONNREFUSED, "new connections are refused")
		_, err = roundTrip(live, "still there?", 5*time.Second)
		assert.Error(t, err, "live connections are closed")
		remove()
		got, err := roundTrip(dial(t, p.Addr()), "back", 5*time.Second)
		require.NoError(t, err, "the proxy comes back on the same address")
		assert.Equal(t, "back", got)
	})

	t.Run("blackhole stalls and heals", func(t *testing.T) {
		p := Start(t, "echo", upstream)
		c := dial(t, p.Addr())
		remove, err := p.Apply(faults.Blackhole{})
		require.NoError(t, err)
		_, err = roundTrip(c, "held", 300*time.Millisecond)
		var ne net.Error
		require.ErrorAs(t, err, &ne)
		assert.True(t, ne.Timeout(), "data stalls: %v", err)
		remove()
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		line, err := bufio.NewReader(c).ReadString('\n')
		require.NoError(t, err, "the held data is delivered once the partition heals")
		assert.Equal(t, "held\n", line)
	})

	t.Run("hang", func(t *testing.T) {
		p := Start(t, "echo", upstream)
		c := dial(t, p.Addr())
		remove, err := p.Apply(faults.Hang{})
		require.NoError(t, err)
		_, err = roundTrip(c, "anyone?", 300*time.Millisecond)
		var ne net.Error
		require.ErrorAs(t, err, &ne)
		assert.True(t, ne.Timeout())
		remove()
	})

	t.Run("reset", func(t *testing.T) {
		p := Start(t, "echo", upstream)
		remove, err := p.Apply(faults.Reset{})
		require.NoError(t, err)
		c := dial(t, p.Addr())
		_, err = roundTrip(c, "reset me", 5*time.Second)
		assert.ErrorIs(t, err, syscall.ECONNRESET)
		remove()
		got, err := roundTrip(dial(t, p.Addr()), "fine", 5*time.Second)
		require.NoError(t, err)
		assert.Equal(t, "fine", got)
	})

	t.Run("cut after", func(t *testing.T) {
		p := Start(t, "echo", upstream)
		remove, err := p.Apply(faults.CutAfter{Bytes: 4, Direction: faults.Downstream})
		require.NoError(t, err)
		defer remove()
		c := dial(t, p.Addr())
		_, err = roundTrip(c, "longer than four bytes", 5*time.Second)
		assert.Error(t, err, "the connection closes after 4 bytes")
	})

	t.Run("bad faults", func(t *testing.T) {
		p := Start(t, "echo", upstream)
		_, err := p.Apply(faults.Latency{Delay: -time.Second})
		assert.ErrorIs(t, err, faults.ErrInvalid)
		assert.ErrorContains(t, err, "latency.Delay = -1s is negative")
		_, err = p.Apply(&faults.Latency{Delay: time.Second})
		assert.ErrorIs(t, err, faults.ErrInvalid, "a pointer would match no toxic and inject nothing")
		assert.ErrorContains(t, err, "*faults.Latency is not a fault value")
		_, err = p.Apply(nil)
		assert.ErrorIs(t, err, faults.ErrInvalid)
		_, err = p.Apply(faults.Error{})
		assert.ErrorIs(t, err, faults.ErrUnsupported)
		assert.ErrorContains(t, err, `target "echo" cannot inject error`)
		_, err = New("far", "10.0.0.1:5432")
		assert.ErrorIs(t, err, faults.ErrNotLoopback)
	})

	t.Run("close frees the port", func(t *testing.T) {
		p, err := New("echo", upstream)
		require.NoError(t, err)
		_, err = p.Apply(faults.Latency{Delay: 50 * time.Millisecond})
		require.NoError(t, err)
		addr := p.Addr()
		require.NoError(t, p.Close())
		require.NoError(t, p.Close(), "idempotent")
		_, err = net.DialTimeout("tcp", addr, 5*time.Second)
		assert.ErrorIs(t, err, syscall.ECONNREFUSED)
	})
}

// fakeTB is a TB whose Fatalf ends the goroutine like testing's FailNow, so a
// test can watch what a failing test leaves behind.
type fakeTB struct {
	mu       sync.Mutex
	cleanups []func()
	failed   bool
}

func (f *fakeTB) Helper() {}
func (f *fakeTB) Cleanup(fn func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cleanups = append(f.cleanups, fn)
}
func (f *fakeTB) Logf(string, ...any) {}

func (f *fakeTB) Fatalf(string, ...any) {
	f.mu.Lock()
	f.failed = true
	f.mu.Unlock()
	runtime.Goexit()
}
func (f *fakeTB) runCleanups() {
	for i := len(f.cleanups) - 1; i >= 0; i-- {
		f.cleanups[i]()
	}
}

func TestNoPortStaysBoundWhenATestFailsMidFault(t *testing.T) {
	t.Setenv(URLEnv, "")
	upstream := echoServer(t)
	tb := &fakeTB{}
	addr := make(chan string, 1)
	done := make(chan struct{})
	go func() { // the failing "test"
		defer close(done)
		p := Start(tb, "echo", upstream)
		_, _ = p.Apply(faults.Latency{Delay: time.Second})
		_, _ = p.Apply(faults.Blackhole{})
		addr <- p.Addr()
		tb.Fatalf("the test fails with faults still applied")
	}()
	<-done
	a := <-addr
	require.True(t, tb.failed)
	tb.runCleanups() // what testing does after FailNow
	_, err := net.DialTimeout("tcp", a, 5*time.Second)
	assert.ErrorIs(t, err, syscall.ECONNREFUSED)
}

// TestNoPortStaysBoundWhenATestPanicsMidFault re-runs this test binary with a
// test that panics with faults applied, and checks that the port the child
// printed is free once the child is gone.
func TestNoPortStaysBoundWhenATestPanicsMidFault(t *testing.T) {
	if os.Getenv("RAFAEL_FAULTS_PANIC_CHILD") == "1" {
		p := Start(t, "echo", echoServer(t))
		_, _ = p.Apply(faults.Latency{Delay: time.Second})
		fmt.Println("ADDR", p.Addr())
		panic("the test panics with a fault applied")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestNoPortStaysBoundWhenATestPanicsMidFault$")
	cmd.Env = append(os.Environ(), "RAFAEL_FAULTS_PANIC_CHILD=1", URLEnv+"=")
	out, err := cmd.CombinedOutput()
	require.Error(t, err, "the child panics")
	require.Contains(t, string(out), "the test panics with a fault applied")
	var addr string
	for _, l := range strings.Split(string(out), "\n") {
		if a, ok := strings.CutPrefix(l, "ADDR "); ok {
			addr = a
		}
	}
	require.NotEmpty(t, addr, "child output:\n%s", out)
	_, err = net.DialTimeout("tcp", addr, 5*time.Second)
	assert.ErrorIs(t, err, syscall.ECONNREFUSED)
}

func TestToxiproxyExternal(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: skipping the external toxiproxy-server run (it builds the server)")
	}
	t.Setenv(URLEnv, toxiserver.Start(t, "127.0.0.1"))
	p := Start(t, "probe", echoServer(t))
	require.True(t, p.External(), "TOXIPROXY_URL selects the external server")
	networkSuite(t)
}

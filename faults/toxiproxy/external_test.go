package toxiproxy

import (
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"testing"
	"time"

	"github.com/rafaelabs/rafael/faults"
	"github.com/rafaelabs/rafael/internal/toxiserver"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRunScopedNamesAndWhoIsDead(t *testing.T) {
	me := run{host: "0badc0de", pid: os.Getpid(), start: 1_800_000_000, nonce: "01020304"}
	name := me.proxyName(7, "pg/primary")
	assert.Equal(t, "rafael_0badc0de_"+itoa(me.pid)+"_1800000000_01020304_7-pg-primary", name, "unsafe characters in the user's name are replaced; the number keeps names apart")
	back, ok := parseRun(name)
	require.True(t, ok)
	assert.Equal(t, me, back)
	for _, foreign := range []string{"postgres", "rafael_x_1_2_3_db", "rafael_0badc0de_notapid_1_2_db", "rafael_0badc0de_0_1_2_db"} {
		_, ok := parseRun(foreign)
		assert.False(t, ok, "%q is not a run-scoped name: the janitor leaves it alone", foreign)
	}

	now := time.Unix(me.start, 0).Add(time.Hour)
	assert.False(t, me.dead(me, now), "this run")
	assert.True(t, me.dead(run{host: me.host, pid: me.pid, start: me.start - 60, nonce: "ffffffff"}, now), "an earlier process with the same pid")
	assert.True(t, me.dead(run{host: me.host, pid: deadPID(t), start: me.start}, now), "a process of this host that is gone")
	assert.False(t, me.dead(run{host: me.host, pid: os.Getppid(), start: me.start}, now), "a live process of this host")
	assert.False(t, me.dead(run{host: "feedface", pid: 1, start: me.start}, now), "another host's run, younger than StaleAfter")
	assert.True(t, me.dead(run{host: "feedface", pid: 1, start: me.start}, now.Add(StaleAfter)), "another host's run, older than StaleAfter")
}

func itoa(n int) string { return strconv.Itoa(n) }

// deadPID returns the pid of a process that has exited.
func deadPID(t *testing.T) int {
	t.Helper()
	p, err := os.StartProcess("/bin/true", []string{"true"}, &os.ProcAttr{})
	require.NoError(t, err)
	_, err = p.Wait()
	require.NoError(t, err)
	return p.Pid
}

func TestExternalRefusesHostsOutsideTheAllowList(t *testing.T) {
	t.Setenv(URLEnv, "http://10.9.8.7:8474")
	_, err := New("db", "127.0.0.1:5432")
	require.ErrorIs(t, err, faults.ErrNotLoopback, "the server itself must be loopback or allow-listed")
	assert.ErrorContains(t, err, faults.AllowHostsEnv)

	t.Setenv(URLEnv, toxiserver.Start(t, "127.0.0.2"))
	_, err = New("db", "192.0.2.1:5432")
	require.ErrorIs(t, err, faults.ErrNotLoopback)
	assert.ErrorContains(t, err, `toxiproxy: proxy "db": faults: not a loopback address: 192.0.2.1:5432 is neither loopback nor listed in RAFAEL_ALLOW_HOSTS=""`)
	t.Setenv(faults.AllowHostsEnv, "192.0.2.0/24")
	p, err := New("db", "192.0.2.1:5432")
	require.NoError(t, err, "allow-listed by CIDR prefix")
	assert.Contains(t, p.Addr(), "127.0.0.2:", "the proxy listens on the server's host")
	require.NoError(t, p.Close())
}

func TestExternalNamesNeverCollideAndMistakesAreNamed(t *testing.T) {
	url := toxiserver.Start(t, "127.0.0.2")
	t.Setenv(URLEnv, url)
	up := echoServer(t)
	a, b := Start(t, "pg", up), Start(t, "pg", up)
	assert.NotEqual(t, a.Addr(), b.Addr(), "two proxies named alike, two proxies")
	c := Start(t, "pg primary", up)
	d := Start(t, "pg/primary", up)
	assert.NotEqual(t, c.Addr(), d.Addr(), "names alike once made safe, still two proxies")

	_, err := New("", up)
	assert.ErrorContains(t, err, "a proxy needs a name")

	t.Setenv(URLEnv, "http://127.0.0.1:"+closedPort(t))
	_, err = New("pg", up)
	assert.ErrorContains(t, err, "does not answer")
	assert.ErrorContains(t, err, "start it, or unset TOXIPROXY_URL")
}

// closedPort is a loopback port nothing listens on.
func closedPort(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	_, port, _ := net.SplitHostPort(l.Addr().String())
	require.NoError(t, l.Close())
	return port
}

// TestHelperIgnoredInterrupt is run by TestAnIgnoredSignalLeavesTheProxies
// in a child whose SIGINT is ignored.
func TestHelperIgnoredInterrupt(t *testing.T) {
	if os.Getenv("RAFAEL_TOXIPROXY_HELPER") != "ignored" {
		t.Skip("a helper: run in a child process")
	}
	signal.Ignore(os.Interrupt)
	// The API client's keep-alive connections to the parent's server, which
	// outlives this process: closed last, before TestMain's leak check.
	t.Cleanup(http.DefaultTransport.(*http.Transport).CloseIdleConnections)
	p := Start(t, "ignored", echoServer(t))
	self, err := os.FindProcess(os.Getpid())
	require.NoError(t, err)
	require.NoError(t, self.Signal(os.Interrupt))
	time.Sleep(200 * time.Millisecond)
	c := dial(t, p.Addr())
	got, err := roundTrip(c, "still here", 5*time.Second)
	require.NoError(t, err, "the proxy outlived the ignored signal")
	assert.Equal(t, "still here", got)
}

// A process that ignores SIGINT (a background job of a non-interactive
// shell) goes on after one: its proxies must stay, or its later trials fail
// against proxies that are gone.
func TestAnIgnoredSignalLeavesTheProxies(t *testing.T) {
	url := toxiserver.Start(t, "127.0.0.2")
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperIgnoredInterrupt$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), "RAFAEL_TOXIPROXY_HELPER=ignored", URLEnv+"="+url)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	assert.Contains(t, string(out), "--- PASS: TestHelperIgnoredInterrupt")
}

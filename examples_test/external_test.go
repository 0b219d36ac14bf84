package examples

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rafaelabs/rafael/faults"
	"github.com/rafaelabs/rafael/faults/toxiproxy"
	"github.com/rafaelabs/rafael/internal/toxiserver"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// serverProxy is a proxy as toxiproxy-server's API lists it.
type serverProxy struct {
	Enabled bool              `json:"enabled"`
	Toxics  []json.RawMessage `json:"toxics"`
}

// proxiesOf lists the proxies on the server at url made by process pid.
func proxiesOf(t *testing.T, url string, pid int) map[string]serverProxy {
	t.Helper()
	resp, err := http.Get(url + "/proxies")
	require.NoError(t, err)
	defer resp.Body.Close()
	var all map[string]serverProxy
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&all))
	mine := map[string]serverProxy{}
	for name, p := range all {
		if strings.Contains(name, fmt.Sprintf("_%d_", pid)) && strings.HasPrefix(name, "rafael_") {
			mine[name] = p
		}
	}
	return mine
}

// killMidTrial runs the PostgreSQL walkthrough in a child test process
// through the server at url, waits (bounded) until a fault is in force on
// its proxy — mid-trial — and sends it sig. It returns the child's pid.
func killMidTrial(t *testing.T, url string, sig syscall.Signal) int {
	t.Helper()
	child := exec.Command(os.Args[0], "-test.run=^TestCheckoutOnPostgresSurvivesOutageAndLatency$", "-test.count=1")
	child.Env = append(os.Environ(), toxiproxy.URLEnv+"="+url, "RAFAEL_OUT="+t.TempDir(), "RAFAEL_UPDATE=")
	require.NoError(t, child.Start())
	pid := child.Process.Pid
	deadline := time.Now().Add(60 * time.Second)
	for injected := false; !injected; {
		require.True(t, time.Now().Before(deadline), "the child never injected a fault through %s", url)
		for _, p := range proxiesOf(t, url, pid) {
			injected = injected || !p.Enabled || len(p.Toxics) > 0
		}
		time.Sleep(10 * time.Millisecond)
	}
	require.NoError(t, child.Process.Signal(sig))
	err := child.Wait()
	var ee *exec.ExitError
	require.ErrorAs(t, err, &ee, "the child was killed")
	status, ok := ee.Sys().(syscall.WaitStatus)
	require.True(t, ok)
	assert.Equal(t, sig, status.Signal(), "the child died of the signal, as it would without RAFAEL")
	return pid
}

// The walkthroughs run through a toxiproxy-server as a CI service container
// would provide it: started here (the root module's tool) on another
// loopback address, reached through TOXIPROXY_URL. A run killed mid-trial
// by SIGTERM deletes its proxies; one killed by SIGKILL cannot, and the next
// run's janitor deletes them.
func TestWalkthroughsThroughAnExternalToxiproxy(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: skipping the external toxiproxy-server runs (they start a server and child test processes)")
	}
	needPostgres(t)
	url := toxiserver.Start(t, "127.0.0.2")

	termed := killMidTrial(t, url, syscall.SIGTERM)
	assert.Empty(t, proxiesOf(t, url, termed), "SIGTERM: the run deleted its proxies before it died")

	killed := killMidTrial(t, url, syscall.SIGKILL)
	require.NotEmpty(t, proxiesOf(t, url, killed), "SIGKILL: nothing could clean up, the proxy is left on the server")

	// The next run: this process's first proxy on the server runs the
	// janitor, then the walkthrough runs through the server.
	t.Setenv(toxiproxy.URLEnv, url)
	t.Run("checkout", TestCheckoutOnPostgresSurvivesOutageAndLatency)
	assert.Empty(t, proxiesOf(t, url, killed), "the janitor deleted the proxy the killed run left")
	t.Run("catalog", TestCatalogChampionHoldsOverRealHTTP)
	assert.Empty(t, proxiesOf(t, url, os.Getpid()), "this run deleted its own proxies at the end of each test")

	_, err := toxiproxy.New("far", "db.internal:5432")
	require.ErrorIs(t, err, faults.ErrNotLoopback)
	assert.ErrorContains(t, err, faults.AllowHostsEnv, "the refusal names the setting that allows the host")
	t.Setenv(faults.AllowHostsEnv, "db.internal")
	p, err := toxiproxy.New("far", "db.internal:5432")
	require.NoError(t, err, "an allow-listed upstream is accepted (nothing is sent to it here)")
	require.NoError(t, p.Close())
}

package clients_test

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/rafaelabs/rafael/report"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

// The servers: the project's services on loopback (make services).
const (
	postgresAddr = "127.0.0.1:5432"
	mariadbAddr  = "127.0.0.1:3306"
	redisAddr    = "127.0.0.1:6379"
	natsAddr     = "127.0.0.1:4222"
)

// helperEnv names the helper test a child process runs (see rerun).
const helperEnv = "RAFAEL_CLIENTS_HELPER"

// TestMain checks, once every test has ended and its cleanups have closed
// its clients, that the clients' goroutines are gone: what harness.Run's
// own check, which runs before those cleanups, takes on trust. go-redis
// re-dials for up to a second after Close, so the check polls (bounded).
// The two ignores are goroutines that Toxiproxy v2.12.0 itself leaks
// (Shopify/toxiproxy#558, #412).
func TestMain(m *testing.M) {
	code := m.Run()
	if code != 0 || os.Getenv(helperEnv) != "" {
		os.Exit(code)
	}
	var err error
	for range 5 { // goleak.Find itself retries for about half a second
		if err = goleak.Find(
			goleak.IgnoreAnyFunction("github.com/Shopify/toxiproxy/v2/toxics.(*ToxicStub).Run"),
			goleak.IgnoreAnyFunction("github.com/Shopify/toxiproxy/v2.(*ToxicLink).read"),
		); err == nil {
			break
		}
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "clients: goroutines outlived the tests and the clients they closed:\n%v\n", err)
		os.Exit(1)
	}
	os.Exit(0)
}

// need skips t, in one line, when the server what at addr cannot be reached.
func need(t *testing.T, what, addr string) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Skipf("%s is not reachable on %s (make services starts it): %v", what, addr, err)
	}
	c.Close()
}

// ran checks that every threat of rep ran its trials on tier and that each
// trial passed with at least the success rate min, and returns the first
// threat's first trial's metrics.
func ran(t *testing.T, rep *report.Report, tier string, min float64) report.Metrics {
	t.Helper()
	require.NotNil(t, rep)
	assert.Equal(t, tier, rep.Tier)
	require.NotEmpty(t, rep.Threats)
	for _, row := range rep.Threats {
		require.NotEmpty(t, row.Trials, "%s: no trial ran", row.Threat)
		for _, tr := range row.Trials {
			assert.NotEqual(t, report.Broken, tr.Status, "%s: %v", row.Threat, tr.Violations)
			m := tr.Metrics
			if tr.Status == report.Unstable { // broke on a busy machine, then met the SLO: judge the measurement that met it
				m = tr.Reruns[len(tr.Reruns)-1].Metrics
			}
			assert.Positive(t, m.Requests, row.Threat)
			assert.GreaterOrEqual(t, m.SuccessRate, min, "%s: %d of %d requests succeeded", row.Threat, m.Succeeded, m.Requests)
		}
	}
	return rep.Threats[0].Trials[0].Metrics
}

// rerun runs the helper test named test in a child process of the test
// binary and returns what it printed.
func rerun(t *testing.T, test string) string {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^"+test+"$", "-test.v", "-test.count=1", "-test.timeout=1m")
	cmd.Env = append(os.Environ(), helperEnv+"="+test)
	out, _ := cmd.CombinedOutput()
	return string(out)
}

// helper skips a helper test unless a child process runs it on purpose.
func helper(t *testing.T) {
	if os.Getenv(helperEnv) != t.Name() {
		t.Skip("a helper: run in a child process by the test that needs it")
	}
}

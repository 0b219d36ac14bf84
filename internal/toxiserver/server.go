// Package toxiserver runs a real toxiproxy-server for tests: the one the
// root module's `tool` directive pins (github.com/Shopify/toxiproxy/v2
// v2.12.0, cmd/server), built by `go tool`, on a loopback address the test
// chooses, stopped when the test ends.
package toxiserver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// root is the root module's directory, where the tool directive is: this
// file is internal/toxiserver/server.go in it.
func root() (string, error) {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return "", errors.New("toxiserver: cannot locate the module's source")
	}
	return filepath.Dir(filepath.Dir(filepath.Dir(file))), nil
}

// Binary builds toxiproxy-server from the root module's tool directive
// (go tool -n, which builds it into the build cache) and returns its path.
func Binary(t testing.TB) string {
	t.Helper()
	dir, err := root()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("go", "tool", "-n", "github.com/Shopify/toxiproxy/v2/cmd/server") // go test puts GOROOT/bin first on PATH
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			out = append(out, ee.Stderr...)
		}
		t.Fatalf("toxiserver: go tool -n github.com/Shopify/toxiproxy/v2/cmd/server in %s: %v\n%s", dir, err, out)
	}
	return strings.TrimSpace(string(out))
}

// Start runs toxiproxy-server on host (a loopback address such as
// "127.0.0.2") and a free port until the test ends, and returns its URL
// once its API answers (bounded: 30 s).
func Start(t testing.TB, host string) string {
	t.Helper()
	bin := Binary(t)
	ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		t.Fatalf("toxiserver: no free port on %s: %v", host, err)
	}
	port := fmt.Sprint(ln.Addr().(*net.TCPAddr).Port)
	_ = ln.Close()
	srv := exec.Command(bin, "-host", host, "-port", port)
	if err := srv.Start(); err != nil {
		t.Fatalf("toxiserver: start %s: %v", bin, err)
	}
	t.Cleanup(func() {
		_ = srv.Process.Kill()
		_ = srv.Wait()
	})
	url := "http://" + net.JoinHostPort(host, port)
	hc := &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for { // bounded polling until the API answers
		if resp, err := hc.Get(url + "/version"); err == nil {
			_ = resp.Body.Close()
			return url
		}
		select {
		case <-ctx.Done():
			t.Fatalf("toxiserver: toxiproxy-server on %s did not answer within 30s", url)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

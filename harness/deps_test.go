package harness

import (
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// listed is a package as go list -json prints it.
type listed struct {
	ImportPath string
	Standard   bool
}

// deps lists the packages pkgs link, with go list -deps, run from this
// module.
func deps(t *testing.T, pkgs ...string) []listed {
	t.Helper()
	out, err := exec.Command("go", append([]string{"list", "-deps", "-json=ImportPath,Standard"}, pkgs...)...).Output()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		t.Fatalf("go list -deps %s: %v\n%s", strings.Join(pkgs, " "), err, ee.Stderr)
	}
	require.NoError(t, err)
	var all []listed
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for {
		var p listed
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else {
			require.NoError(t, err)
		}
		all = append(all, p)
	}
	return all
}

// A test that imports harness, faults and scenarios links no fault backend
// and no third-party package but the ones the design card names (testify,
// rapid, goleak), HdrHistogram and x/mod; package faults links only the
// standard library. Toxiproxy, its Prometheus, protobuf and zerolog are
// linked only by a test that imports faults/toxiproxy.
func TestTheCoreLinksNoBackend(t *testing.T) {
	const mod = "github.com/rafaelabs/rafael"
	allowed := []string{"github.com/stretchr/testify/", "pgregory.net/rapid", "go.uber.org/goleak", "github.com/HdrHistogram/hdrhistogram-go", "golang.org/x/mod/"}
	for _, p := range deps(t, mod+"/harness", mod+"/faults", mod+"/scenarios") {
		if p.Standard {
			continue
		}
		if strings.HasPrefix(p.ImportPath, mod+"/") {
			assert.NotContains(t, p.ImportPath, "/faults/", "harness links a fault backend: %s", p.ImportPath)
			continue
		}
		ok := false
		for _, a := range allowed {
			ok = ok || strings.HasPrefix(p.ImportPath, a)
		}
		assert.True(t, ok, "the core links %s, which is neither the standard library nor an allowed dependency", p.ImportPath)
	}
	for _, p := range deps(t, mod+"/faults") {
		assert.True(t, p.Standard || p.ImportPath == mod+"/faults", "package faults links %s: it must use only the standard library", p.ImportPath)
	}
}

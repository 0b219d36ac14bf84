package report

import (
	"bytes"
	"flag"
	"github.com/rafaelabs/rafael/internal/atomicfile"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		require.NoError(t, atomicfile.Write(path, got))
		t.Logf("wrote %s", path)
		return
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run go test ./report -update to create it")
	if !bytes.Equal(want, got) {
		assert.Equal(t, string(want), string(got), "%s differs (-want +got); go test ./report -update rewrites it after a deliberate change", path)
	}
}

func TestGolden(t *testing.T) {
	// A failing run, an evolved one and an unstable one.
	for name, r := range map[string]*Report{"evolved": evolved(), "measured": measured(), "unstable": unstable()} {
		t.Run(name, func(t *testing.T) {
			js, err := r.MarshalIndent()
			require.NoError(t, err)
			golden(t, name+".json", append(js, '\n'))
			golden(t, name+".md", r.Markdown())
			page, err := r.HTML()
			require.NoError(t, err)
			golden(t, name+".html", page)
		})
	}
}

func TestGoldenSummary(t *testing.T) {
	billing := measured()
	billing.Module = "billing"
	sum, err := Merge(append(shards(evolved()), billing)...)
	require.NoError(t, err)
	golden(t, "summary.md", sum.Markdown())
}

func TestRenderingsOfAnEmptyReport(t *testing.T) {
	r := &Report{SchemaVersion: SchemaVersion, Module: "empty"}
	assert.Contains(t, string(r.Markdown()), "Resilience not measured: no trial ran, no evolution in this run; threats: none.")
	page, err := r.HTML()
	require.NoError(t, err)
	assert.Contains(t, string(page), `id="threats-empty"`)
	assert.Contains(t, string(page), `id="fitness-empty"`)
}

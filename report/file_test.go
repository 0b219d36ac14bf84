package report

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rafaelabs/rafael/slo"
)

func sample() *Report {
	r := &Report{
		SchemaVersion: SchemaVersion, Module: "checkout", Seed: 42, Tier: "simulated", GoVersion: "go1.26.8",
		Start: time.Date(2026, 11, 24, 3, 0, 0, 0, time.UTC), End: time.Date(2026, 11, 24, 3, 0, 1, 0, time.UTC),
		SLO:    slo.SLO{SuccessRate: 0.99, P99: 500 * time.Millisecond},
		Genome: "sha256:abc",
		Threats: []Threat{{Name: "db-outage", Threat: "db-outage(outage=2s) [high]", Severity: "high",
			Trials: []Trial{{Seed: 7, Replay: "go test . -run '^TestX$/^db-outage$/^seed=7$' -rafael.seed=42",
				Violations: []slo.Violation{{Kind: slo.P99, Got: float64(2 * time.Second), Want: float64(500 * time.Millisecond)}},
				Metrics:    Metrics{Requests: 100, Succeeded: 100, SuccessRate: 1, P99: 2 * time.Second, Fitness: 0.9}}}}},
	}
	r.Derive()
	return r
}

func TestWriteThenRead(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "r.json")
	require.NoError(t, sample().WriteFile(path))
	got, err := ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, sample(), got)
	left, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".*tmp*"))
	assert.Empty(t, left, "no temporary file is left behind")
}

func TestReadFileNamesTheFileAndTheProblem(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(body), 0o644))
		return p
	}
	data, err := sample().MarshalIndent()
	require.NoError(t, err)
	for name, tc := range map[string]struct {
		body, want string
	}{
		"truncated.json": {string(data[:len(data)/2]), "truncated.json: not a complete JSON report"},
		// The fuzzer's find: a violation without a kind was read, and could not be written back.
		"nokind.json":   {`{"schemaVersion": 2, "threats": [{"trials": [{"violations": [{"kind": "p99"}, {}]}]}]}`, `nokind.json: threats[0].trials[0].violations[1] has no kind`},
		"nullkind.json": {`{"schemaVersion": 2, "threats": [{"evolvedTrials": [{"reruns": [{"violations": [{"kind": null}]}]}]}]}`, `nullkind.json: threats[0].evolvedTrials[0].reruns[0].violations[0] has no kind`},
		"cexkind.json":  {`{"schemaVersion": 2, "counterexamples": [{"violations": [{"got": 1}]}]}`, `cexkind.json: counterexamples[0].violations[0] has no kind`},
		// JSON has no NaN or infinity; a number beyond float64 is refused, not read as +Inf.
		"huge.json":    {`{"schemaVersion": 2, "baseline": {"score": 1e999}}`, `huge.json: json: cannot unmarshal number 1e999 into Go struct field`},
		"future.json":  {`{"schemaVersion": 9, "module": "x"}`, "future.json has schemaVersion 9; this version of rafael reads 2"},
		"other.json":   {`{"module": "x"}`, "other.json has no schemaVersion"},
		"unknown.json": {`{"schemaVersion": 2, "modul": "x"}`, `unknown.json: json: unknown field "modul"`},
		"kind.json":    {`{"schemaVersion": 2, "threats": [{"trials": [{"violations": [{"kind": "p100"}]}]}]}`, `kind.json: slo: unknown violation kind "p100"`},
	} {
		_, err := ReadFile(write(name, tc.body))
		assert.ErrorContains(t, err, tc.want, name)
	}
	_, err = ReadFile(write("future2.json", `{"schemaVersion": 3}`))
	assert.ErrorIs(t, err, ErrSchema)
}

// A version 1 report is refused with what to do, not half read: its scores
// and latencies meant other things.
func TestReadFileRefusesVersion1(t *testing.T) {
	v1 := `{"schemaVersion": 1, "module": "checkout", "threats": [{"name": "db-outage", "passed": true,
		"trials": [{"seed": 7, "passed": true, "violations": [], "metrics": {"p99": 1, "fitness": 0.9}}]}]}`
	path := filepath.Join(t.TempDir(), "old.json")
	require.NoError(t, os.WriteFile(path, []byte(v1), 0o644))
	r, err := ReadFile(path)
	assert.Nil(t, r)
	require.ErrorIs(t, err, ErrSchema)
	for _, want := range []string{path, "schemaVersion 1", "older rafael", "reads 2", "run the tests again with this version"} {
		assert.ErrorContains(t, err, want)
	}
}

func TestWriteFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	r := evolved()
	paths, err := r.WriteFiles(dir, "TestCheckout.checkout")
	require.NoError(t, err)
	assert.Equal(t, []string{filepath.Join(dir, "TestCheckout.checkout.json"), filepath.Join(dir, "TestCheckout.checkout.md"),
		filepath.Join(dir, "TestCheckout.checkout.html")}, paths)
	back, err := ReadFile(paths[0])
	require.NoError(t, err)
	back, err = clone(back) // compacts the genomes' JSON, which the file holds indented
	require.NoError(t, err)
	assert.Equal(t, r, back)
	md, err := os.ReadFile(paths[1])
	require.NoError(t, err)
	assert.Equal(t, r.Markdown(), md)
	page, err := os.ReadFile(paths[2])
	require.NoError(t, err)
	want, _ := r.HTML()
	assert.Equal(t, want, page)
	left, _ := filepath.Glob(filepath.Join(dir, ".*"))
	assert.Empty(t, left, "no temporary file is left behind")
}

func TestAppendStepSummary(t *testing.T) {
	path, err := measured().AppendStepSummary(func(string) string { return "" })
	assert.Equal(t, "", path, "without GITHUB_STEP_SUMMARY nothing is written")
	require.NoError(t, err)

	file := filepath.Join(t.TempDir(), "summary.md")
	require.NoError(t, os.WriteFile(file, []byte("earlier step\n"), 0o644))
	env := map[string]string{"GITHUB_STEP_SUMMARY": file}
	for _, r := range []*Report{measured(), evolved()} {
		path, err = r.AppendStepSummary(func(k string) string { return env[k] })
		require.NoError(t, err)
		assert.Equal(t, file, path)
	}
	got, err := os.ReadFile(file)
	require.NoError(t, err)
	want := "earlier step\n" + string(measured().Markdown()) + "\n" + string(evolved().Markdown()) + "\n"
	assert.Equal(t, want, string(got), "both reports are appended after what was there")

	env["GITHUB_STEP_SUMMARY"] = filepath.Join(file, "not-a-dir", "x.md")
	_, err = measured().AppendStepSummary(func(k string) string { return env[k] })
	assert.ErrorContains(t, err, "report: step summary")
}

package vaultdata_test

import (
	"errors"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/rafaelabs/rafael/vaultdata"
)

// valid is a minimal valid pattern file; tests break it one field at a time.
const valid = `{
  "id": "demo-retry",
  "name": "demo",
  "category": "retry",
  "stack": "postgres/pgx",
  "tags": ["demo"],
  "status": "experimental",
  "score": 50,
  "genome": {"schemaVersion": 1, "module": "demo", "genes": {"retry": {"maxAttempts": 3, "baseDelay": "10ms", "maxDelay": "100ms", "multiplier": 2}}},
  "example": ["err := policy.Do(ctx, call)"],
  "threats": [{"kind": "db-outage", "outage": "1s"}],
  "slo": {"successRate": 0.9},
  "model": {"dependencies": [{"name": "postgres", "service": "2ms", "capacity": 8}]},
  "proofs": [{"where": "simulated model", "tier": "simulated", "score": 52.5, "genome": "sha256:d801f203696ccde650a5d33976dff03e4b9e58bbdbbd84ad4a0557627c49cd9b", "seed": 1, "date": "2026-01-02T03:04:05Z", "report": "sha256:` + zeros + `"}]
}`

const zeros = "0000000000000000000000000000000000000000000000000000000000000000"

func TestEmbeddedVaultIsValid(t *testing.T) {
	sub, err := os.ReadDir("patterns")
	if err != nil {
		t.Fatal(err)
	}
	v, err := vaultdata.Open("patterns")
	if err != nil {
		t.Fatalf("the shipped patterns do not load:\n%v", err)
	}
	list := v.List()
	if len(list) != len(sub) || len(list) < 12 {
		t.Fatalf("%d patterns loaded from %d files; want every file, at least 12", len(list), len(sub))
	}
	cats, stacks := map[vaultdata.Category]bool{}, map[string]bool{}
	for _, p := range list {
		cats[p.Category], stacks[p.Stack] = true, true
		if p.Status < vaultdata.Verified {
			t.Errorf("%s: status %s: a shipped pattern is verified by this package's tests", p.ID, p.Status)
		}
		if len(p.Proofs) == 0 || p.Proofs[0].Where != vaultdata.ModelProof || p.Proofs[0].Date.IsZero() || p.Proofs[0].Test == nil {
			t.Errorf("%s: proofs %+v: want first the model proof that measured it, with its test", p.ID, p.Proofs)
		}
	}
	for c := vaultdata.Retry; c <= vaultdata.Composite; c++ {
		if !cats[c] {
			t.Errorf("no shipped pattern of category %s", c)
		}
	}
	for _, s := range vaultdata.Stacks() {
		if !stacks[s] {
			t.Errorf("no shipped pattern for stack %s", s)
		}
	}
	if got := len(vaultdata.Default().List()); got != len(list) {
		t.Errorf("Default has %d patterns, the directory %d", got, len(list))
	}
}

// malformed is a vault of one valid pattern and files broken one way each:
// in their header (what Lazy checks at once), in their body (what it checks
// on first use), or not pattern files at all.
func malformed() (header, body fstest.MapFS) {
	header = fstest.MapFS{
		"a.json":           {Data: []byte(valid)},
		"b.json":           {Data: []byte(valid)},
		"no-id.json":       {Data: []byte(strings.Replace(valid, `"id": "demo-retry",`, ``, 1))},
		"stack.json":       {Data: []byte(edit(valid, "demo-retry", "bad-stack", `"postgres/pgx"`, `"oracle"`))},
		"category.json":    {Data: []byte(edit(valid, "demo-retry", "bad-category", `"category": "retry"`, `"category": "magic"`))},
		"unknown.json":     {Data: []byte(edit(valid, "demo-retry", "bad-field", `"score": 50,`, `"score": 50, "scroe": 1,`))},
		"notjson.json":     {Data: []byte(`{"id": `)},
		"README.md":        {Data: []byte("not a pattern")},
		"sub/ignored.json": {Data: []byte("{}")},
	}
	body = fstest.MapFS{
		"a.json":      {Data: []byte(valid)},
		"genome.json": {Data: []byte(edit(valid, "demo-retry", "bad-genome", `"maxAttempts": 3`, `"maxAttempts": 99`))},
		"threat.json": {Data: []byte(edit(valid, "demo-retry", "bad-threat", `"outage": "1s"`, `"outage": "soon", "delay": "1s"`))},
		"kind.json":   {Data: []byte(edit(valid, "demo-retry", "bad-kind", `"kind": "db-outage"`, `"kind": "meteor"`))},
		"target.json": {Data: []byte(edit(valid, "demo-retry", "bad-target", `"outage": "1s"`, `"outage": "1s", "target": "redis"`))},
		"nested.json": {Data: []byte(edit(valid, "demo-retry", "bad-nested", `"successRate": 0.9`, `"successRate": 0.9, "p95": "1s"`))},
		"gene.json":   {Data: []byte(edit(valid, "demo-retry", "bad-gene", `"category": "retry"`, `"category": "hedging"`))},
		"syntax.json": {Data: []byte(edit(valid, "demo-retry", "bad-syntax", `"slo": {"successRate": 0.9}`, `"slo": {"successRate": 0.9 0.8}`))},
	}
	return header, body
}

// The problems malformed's files have, as Load reports them.
var (
	headerProblems = []string{
		"b.json: id: \"demo-retry\" is also the id of a.json",
		"no-id.json: id: missing",
		"stack.json: stack: unknown \"oracle\"",
		"category.json: category: unknown \"magic\"",
		"unknown.json: scroe: unknown field",
		"notjson.json: (file): not JSON",
	}
	bodyProblems = []string{
		"genome.json: genome.retry.maxAttempts: 99",
		"threat.json: threats[0].delay: not used by a db-outage threat",
		"threat.json: threats[0].outage: \"soon\" is not a duration",
		"kind.json: threats[0].kind: unknown \"meteor\"",
		"target.json: threats[0].target: \"redis\" is not a dependency of the model",
		"nested.json: slo.p95: unknown field",
		"gene.json: category: hedging, but the genome has no hedge gene",
		"syntax.json: (file): not JSON",
	}
)

func TestMalformedFilesAreNamedByFileAndField(t *testing.T) {
	fsys, body := malformed()
	maps.Copy(fsys, body)
	_, err := vaultdata.Load(fsys)
	if err == nil {
		t.Fatal("Load accepted malformed files")
	}
	checkProblems(t, err, append(headerProblems, bodyProblems...))
}

// checkProblems checks that err reports every problem in want, each line as
// "file: field: problem", and blames no valid file.
func checkProblems(t *testing.T, err error, want []string) {
	t.Helper()
	if !errors.Is(err, vaultdata.ErrInvalid) {
		t.Errorf("errors.Is(err, ErrInvalid) = false for %v", err)
	}
	msg := err.Error()
	for _, want := range want {
		if !strings.Contains(msg, want) {
			t.Errorf("the error lacks %q", want)
		}
	}
	for line := range strings.Lines(msg) {
		var fe *vaultdata.FieldError
		if !errors.As(err, &fe) || strings.Count(line, ": ") < 2 {
			t.Errorf("not file: field: problem: %q", line)
		}
	}
	for line := range strings.Lines(msg) {
		for _, clean := range []string{"a.json:", "README", "sub/"} {
			if strings.HasPrefix(line, clean) {
				t.Errorf("the error blames a file that is valid or not a pattern: %s", line)
			}
		}
	}
}

func TestLazyChecksTheHeaderAtOnceAndTheRestOnFirstUse(t *testing.T) {
	header, body := malformed()
	if _, err := vaultdata.Load(header, vaultdata.Lazy()); err == nil {
		t.Error("a lazy Load accepted files whose headers are malformed")
	} else {
		checkProblems(t, err, headerProblems)
	}

	v, err := vaultdata.Load(body, vaultdata.Lazy())
	if err != nil {
		t.Fatalf("a lazy Load checked more than the headers: %v", err)
	}
	var wg sync.WaitGroup // first uses race one another: each file is decoded once
	for range 4 {
		wg.Go(func() {
			if _, err := v.Pattern("bad-genome"); err == nil || !strings.Contains(err.Error(), bodyProblems[0]) {
				t.Errorf("Pattern of a file with a bad genome: %v", err)
			}
			if g, err := v.Genome("demo-retry"); err != nil || g.Retry == nil {
				t.Errorf("Genome of a valid file: %v, %v", g, err)
			}
		})
	}
	wg.Wait()
	if got := v.Search(vaultdata.Query{}); len(got) != 1 || got[0].ID != "demo-retry" {
		t.Errorf("Search in a lazy vault returned %d patterns; want only the valid one", len(got))
	}
	if got := v.List(); len(got) != 1 {
		t.Errorf("List in a lazy vault returned %d patterns; want only the valid one", len(got))
	}
	err = v.Check()
	if err == nil {
		t.Fatal("Check accepted malformed files")
	}
	checkProblems(t, err, bodyProblems)
	_, eager := vaultdata.Load(body)
	if got, want := sortedLines(err), sortedLines(eager); !slices.Equal(got, want) {
		t.Errorf("Check reported\n%s\nLoad without Lazy\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	good, err := vaultdata.Open("patterns", vaultdata.Lazy())
	if err != nil {
		t.Fatal(err)
	}
	if err := good.Check(); err != nil {
		t.Errorf("Check of the shipped patterns: %v", err)
	}
	if err := vaultdata.Default().Check(); err != nil {
		t.Errorf("Check of a vault loaded without Lazy: %v", err)
	}
}

func sortedLines(err error) []string {
	lines := strings.Split(err.Error(), "\n")
	slices.Sort(lines)
	return lines
}

// edit renames the pattern id and replaces old by new in the file.
func edit(file, id, newID, old, new string) string {
	if !strings.Contains(file, old) {
		panic("edit: no " + old)
	}
	return strings.Replace(strings.Replace(file, `"`+id+`"`, `"`+newID+`"`, 1), old, new, 1)
}

func TestOpenReadsATeamDirectory(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "demo-retry.json"), []byte(valid), 0o644); err != nil {
		t.Fatal(err)
	}
	v, err := vaultdata.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	p, err := v.Pattern("demo-retry")
	if err != nil {
		t.Fatal(err)
	}
	if p.Threats[0].Target != "postgres" || p.Genome.Retry.MaxAttempts != 3 || p.Status != vaultdata.Experimental {
		t.Errorf("decoded %+v", p)
	}
	p.Genome.Retry.MaxAttempts = 7 // a copy: the vault keeps its own
	p.Tags[0] = "changed"
	again, _ := v.Pattern("demo-retry")
	if again.Genome.Retry.MaxAttempts != 3 || again.Tags[0] != "demo" {
		t.Error("changing a returned pattern changed the vault")
	}
	if _, err := vaultdata.Open(filepath.Join(dir, "missing")); err == nil {
		t.Error("Open of a missing directory succeeded")
	}
}

func TestEnumsRoundTrip(t *testing.T) {
	for c := vaultdata.Retry; c <= vaultdata.Composite; c++ {
		if got, err := vaultdata.ParseCategory(c.String()); err != nil || got != c {
			t.Errorf("ParseCategory(%q) = %v, %v", c, got, err)
		}
	}
	for s := vaultdata.Experimental; s <= vaultdata.ProductionProven; s++ {
		if got, err := vaultdata.ParseStatus(s.String()); err != nil || got != s {
			t.Errorf("ParseStatus(%q) = %v, %v", s, got, err)
		}
	}
	if _, err := vaultdata.ParseCategory("magic"); err == nil || !strings.Contains(err.Error(), "circuit-breaker") {
		t.Errorf("ParseCategory(magic) = %v: want an error listing the categories", err)
	}
	if got := vaultdata.Category(0).String(); got != "Category(0)" {
		t.Errorf("Category(0) = %q", got)
	}
}

// TestProofsBackOnlyTheirGenomeAndTheirScore: a pattern whose genome was
// changed after its proof, which declares more than a proof measured, or
// whose proof names a test that is not one package's, does not load; the
// problem names the field and what to do.
func TestProofsBackOnlyTheirGenomeAndTheirScore(t *testing.T) {
	for name, c := range map[string]struct{ old, new, want string }{
		"genome.json": {`"maxAttempts": 3`, `"maxAttempts": 4`, "genome.json: proofs[0].genome: sha256:d801f203696ccde650a5d33976dff03e4b9e58bbdbbd84ad4a0557627c49cd9b is not the pattern's genome"},
		"score.json":  {`"score": 50`, `"score": 60`, "score.json: score: 60 is above what proofs[0] (simulated model) measured, 52.50"},
		"test.json":   {`"report": "sha256:`, `"test": {"package": "./...", "run": "^TestX$"}, "report": "sha256:`, `test.json: proofs[0].test: package "./..."`},
		"where.json":  {`"tier": "simulated", "score": 52.5`, `"tier": "wire", "score": 52.5`, "where.json: proofs[0].tier: wire, but it ran on the simulated model"},
		"old.json":    {`"proofs": [`, `"provenance": {}, "proofs": [`, `old.json: provenance: replaced by "proofs"`},
	} {
		_, err := vaultdata.Load(fstest.MapFS{name: {Data: []byte(edit(valid, "demo-retry", strings.TrimSuffix(name, ".json"), c.old, c.new))}})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v\nwant %q", name, err, c.want)
		}
	}
}

// A lazy load reads a file up to the end of its header: a problem after it
// (an unknown member, a header field written again) is reported on first
// use, never missed.
func TestLazyReadsTheHeaderAndChecksTheRestOnFirstUse(t *testing.T) {
	fsys := fstest.MapFS{
		"late.json":  {Data: []byte(strings.Replace(valid, `"example":`, `"colour": "red", "example":`, 1))},
		"twice.json": {Data: []byte(edit(valid, "demo-retry", "twice", `"example":`, `"score": 90, "example":`))},
	}
	v, err := vaultdata.Load(fsys, vaultdata.Lazy())
	if err != nil {
		t.Fatalf("the headers are sound: %v", err)
	}
	for id, want := range map[string]string{
		"demo-retry": "late.json: colour: unknown field",
		"twice":      "twice.json: (file): a header field (id, name, summary, category, stack, tags, status or score) is written twice",
	} {
		if _, err := v.Pattern(id); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Pattern(%s): %v\nwant %q", id, err, want)
		}
	}
	if _, err := vaultdata.Load(fsys); err == nil || !strings.Contains(err.Error(), "late.json: colour: unknown field") {
		t.Errorf("an eager load reads every member at once: %v", err)
	}
}

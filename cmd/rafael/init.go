package main

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/format"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strings"
	"text/template"
	"unicode"

	"github.com/rafaelabs/rafael/genome"
)

func initCommand() *command {
	return &command{
		name:    "init",
		args:    "<module>",
		summary: "scaffold a resilience test and a genome file in this package",
		help: `Init writes, in the current Go package directory, <module>_rafael_test.go:
a harness.Run test on the simulated tier (an in-process dependency behind a
fault hook, a 2s database outage and 300ms of latency, an SLO), and
testdata/rafael/<module>.genome.json: a starting genome with a retry and a
timeout that survive the outage. It never overwrites a file. The module name
is 1–128 letters, digits, '.', '_' or '-', starting with a letter or digit.

Then: go mod tidy (the test imports github.com/rafaelabs/rafael) and go test.`,
		run: runInit,
	}
}

// starterGenome is the genome init writes: a per-attempt timeout and a
// retry whose backoff outlasts a 2-second outage.
const starterGenome = `{
  "schemaVersion": 1,
  "module": %q,
  "generation": 0,
  "parent": "",
  "genes": {
    "timeout": {"perAttempt": "1s", "overall": "6s"},
    "retry": {"maxAttempts": 5, "baseDelay": "300ms", "maxDelay": "1s", "multiplier": 2, "jitter": 0.2}
  }
}
`

var scaffold = template.Must(template.New("test").Parse(`package {{.Package}}

// Scaffolded by rafael init {{.Module}}: a resilience test on RAFAEL's
// simulated tier. Replace the stand-in dependency with your own code (wrap
// the call it makes with faults.FuncErr, faults.RoundTripper or
// faults.Connector) and keep the threats and the SLO your module must meet.
// Replay a failing trial with the command it prints; let RAFAEL look for a
// better genome by uncommenting Evolve.

import (
	"context"
	"testing"
	"time"

	"github.com/rafaelabs/rafael/faults"
	"github.com/rafaelabs/rafael/genome"
	"github.com/rafaelabs/rafael/harness"
	"github.com/rafaelabs/rafael/scenarios"
)

func {{.Test}}(t *testing.T) {
	start, err := genome.Load("testdata/rafael/{{.Module}}.genome.json")
	if err != nil {
		t.Fatal(err)
	}

	// The dependency: an in-process call that takes a millisecond, behind a
	// fault hook the threats act on (virtual time, exact replay).
	dep := faults.NewHook("{{.Module}}-dependency", 1)
	call := func(ctx context.Context) error {
		if err := dep.Before(ctx); err != nil {
			return err
		}
		timer := time.NewTimer(time.Millisecond)
		defer timer.Stop()
		select {
		case <-timer.C:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}

	harness.Run(t, harness.Spec{
		Module: "{{.Module}}",
		Genome: start,
		Threats: []scenarios.Threat{
			scenarios.DBOutage(dep, 2*time.Second),
			scenarios.Latency(dep, 300*time.Millisecond, scenarios.Jitter(50*time.Millisecond)),
		},
		Workload: func(ctx context.Context, p *genome.Policy) error { return p.Do(ctx, call) },
		SLO:      harness.SLO{SuccessRate: 0.99, P99: 3 * time.Second, RecoverWithin: time.Second},
		// Evolve: &evolve.Options{}, // import "github.com/rafaelabs/rafael/evolve"
	})
}
`))

func runInit(e *env, args []string) int {
	if len(args) != 1 {
		return e.usagef("init: want one module name, got %d arguments (rafael init <module>)", len(args))
	}
	module := args[0]
	data := []byte(fmt.Sprintf(starterGenome, module))
	if _, err := genome.Parse(data); err != nil {
		return e.usagef("init: %q: %s", module, oneLine(err))
	}
	dir, err := os.Getwd()
	if err != nil {
		return e.failf(exitUsage, "init: %v", err)
	}
	pkg, decls, err := packageOf(dir)
	if err != nil {
		return e.failf(exitUsage, "init: %v", err)
	}
	testName := "Test" + ident(module) + "Resilience"
	if decls[testName] {
		return e.failf(exitUsage, "init: this package already declares %s: rename it or scaffold elsewhere", testName)
	}
	testFile := module + "_rafael_test.go"
	genomeFile := filepath.Join("testdata", "rafael", module+".genome.json")
	for _, f := range []string{testFile, genomeFile} {
		if _, err := os.Stat(f); err == nil {
			return e.failf(exitUsage, "init: %s already exists: remove it or choose another module name; init never overwrites", f)
		}
	}
	var buf bytes.Buffer
	if err := scaffold.Execute(&buf, map[string]string{"Package": pkg, "Module": module, "Test": testName}); err != nil {
		return e.failf(exitUsage, "init: %v", err)
	}
	src, err := format.Source(buf.Bytes())
	if err != nil {
		return e.failf(exitUsage, "init: the scaffold does not format (a bug in rafael): %v", err)
	}
	if err := os.MkdirAll(filepath.Dir(genomeFile), 0o755); err != nil {
		return e.failf(exitUsage, "init: %v", err)
	}
	if err := createNew(genomeFile, data); err != nil {
		return e.failf(exitUsage, "init: %v", err)
	}
	if err := createNew(testFile, src); err != nil {
		return e.failf(exitUsage, "init: %v", err)
	}
	fmt.Fprintf(e.stdout, "wrote %s (package %s, %s)\nwrote %s\nnext: go mod tidy && go test -run '^%s$' .\n", testFile, pkg, testName, genomeFile, testName)
	return exitOK
}

// createNew writes a file that must not exist yet.
func createNew(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// packageOf returns the package name of the Go files in dir (the non-test
// package when there is one), or one made from the directory's name, and
// the names of the functions the files declare.
func packageOf(dir string) (string, map[string]bool, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		return "", nil, err
	}
	decls := map[string]bool{}
	var pkg, testPkg string
	fset := token.NewFileSet()
	for _, name := range files {
		f, err := parser.ParseFile(fset, name, nil, parser.SkipObjectResolution)
		if err != nil {
			return "", nil, fmt.Errorf("%s does not parse: %s", filepath.Base(name), oneLine(err))
		}
		for _, d := range f.Decls {
			if fd, ok := d.(*ast.FuncDecl); ok && fd.Recv == nil {
				decls[fd.Name.Name] = true
			}
		}
		switch p := f.Name.Name; {
		case strings.HasSuffix(name, "_test.go") && strings.HasSuffix(p, "_test"):
			testPkg = p
		case pkg != "" && pkg != p:
			return "", nil, fmt.Errorf("%s is package %s but other files are package %s: fix the package clauses first", filepath.Base(name), p, pkg)
		default:
			pkg = p
		}
	}
	switch {
	case pkg != "":
		return pkg, decls, nil
	case testPkg != "":
		return testPkg, decls, nil
	}
	return dirPackage(filepath.Base(dir)), decls, nil
}

// dirPackage makes a package name of a directory's name: "my-svc" → "my_svc".
func dirPackage(base string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(base) {
		if r < unicode.MaxASCII && (unicode.IsLetter(r) || unicode.IsDigit(r)) {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	s := b.String()
	if s == "" || !unicode.IsLetter(rune(s[0])) {
		s = "pkg" + s
	}
	return s
}

// ident makes an exported Go identifier part of a module name: "checkout-api" → "CheckoutApi".
func ident(module string) string {
	var b strings.Builder
	up := true
	for _, r := range module {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) || r >= unicode.MaxASCII {
			up = true
			continue
		}
		if up {
			r = unicode.ToUpper(r)
		}
		b.WriteRune(r)
		up = false
	}
	return b.String()
}

func oneLine(err error) string { return strings.ReplaceAll(err.Error(), "\n", "; ") }

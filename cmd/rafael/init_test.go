package main

import (
	"encoding/xml"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func TestInitRefuses(t *testing.T) {
	t.Chdir(t.TempDir())
	wantUsage(t, []string{"init"}, "want one module name")
	wantUsage(t, []string{"init", "a", "b"}, "want one module name")
	wantUsage(t, []string{"init", "bad name"}, `"bad name"`, "is not a module name")
	wantUsage(t, []string{"init", "-x"}, "flag provided but not defined: -x")

	if err := os.MkdirAll(filepath.Join("testdata", "rafael"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join("testdata", "rafael", "demo.genome.json"), []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	wantUsage(t, []string{"init", "demo"}, "demo.genome.json already exists", "never overwrites")
	if _, err := os.Stat("demo_rafael_test.go"); err == nil {
		t.Error("init wrote the test file although it refused")
	}
	if b, _ := os.ReadFile(filepath.Join("testdata", "rafael", "demo.genome.json")); string(b) != "mine" {
		t.Error("init changed an existing genome file")
	}
}

func TestInitTakesThePackageName(t *testing.T) {
	for _, tc := range []struct {
		dir   string
		files map[string]string
		want  string
	}{
		{"my-svc", nil, "package my_svc"},
		{"7up", nil, "package pkg7up"},
		{"lib", map[string]string{"a.go": "package widgets\n", "a_test.go": "package widgets_test\n"}, "package widgets"},
		{"ext", map[string]string{"a_test.go": "package widgets_test\n"}, "package widgets_test"},
	} {
		dir := filepath.Join(t.TempDir(), tc.dir)
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for name, src := range tc.files {
			if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		t.Chdir(dir)
		out, _ := wantExit(t, exitOK, "init", "checkout-api")
		src, err := os.ReadFile("checkout-api_rafael_test.go")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(string(src), tc.want+"\n") || !strings.Contains(string(src), "func TestCheckoutApiResilience(t *testing.T)") {
			t.Errorf("%s: scaffold starts %q, want %q and TestCheckoutApiResilience", tc.dir, string(src)[:40], tc.want)
		}
		if !strings.Contains(out, "go mod tidy") {
			t.Errorf("init does not say what to do next: %q", out)
		}
	}
}

func TestInitRefusesATestNameInUse(t *testing.T) {
	t.Chdir(t.TempDir())
	if err := os.WriteFile("x_test.go", []byte("package p\n\nimport \"testing\"\n\nfunc TestDemoResilience(t *testing.T) {}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	wantUsage(t, []string{"init", "demo"}, "already declares TestDemoResilience")
	if err := os.WriteFile("y.go", []byte("package q\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	wantUsage(t, []string{"init", "other"}, "y.go is package q")
	if err := os.WriteFile("y.go", []byte("package (\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	wantUsage(t, []string{"init", "other"}, "y.go does not parse")
}

// TestInitScaffoldPassesAndTestGathersIt is the acceptance of init and
// test: in a new module, rafael init demo scaffolds a test that go test
// passes; rafael test runs it, gathers its report and lists the module;
// a failing test makes rafael test exit 1. The module uses this repository
// through a replace and its go.sum.
func TestInitScaffoldPassesAndTestGathersIt(t *testing.T) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go is not on PATH: the scaffold cannot be built")
	}
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	sum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "demo")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	mod := "module example.com/demo\n\ngo 1.26.0\n\nrequire github.com/rafaelabs/rafael v0.0.0\n\nreplace github.com/rafaelabs/rafael => " + root + "\n"
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte(mod), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "go.sum"), sum, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("GOFLAGS", "-mod=mod")
	// GOPROXY stays as it is: the module cache serves every module the
	// repository's own build fetched, and the proxy what a cold cache lacks.
	t.Setenv("GOTOOLCHAIN", "local")
	t.Setenv("GITHUB_STEP_SUMMARY", "")
	t.Chdir(dir)

	wantExit(t, exitOK, "init", "demo")
	gocmd := func(args ...string) {
		t.Helper()
		if out, err := exec.Command(gobin, args...).CombinedOutput(); err != nil {
			t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	gocmd("mod", "tidy")
	gocmd("test", "-count=1", ".")

	out := filepath.Join(t.TempDir(), "reports")
	junitFile := filepath.Join(t.TempDir(), "ci", "junit.xml")
	stdout, _ := wantExit(t, exitOK, "test", "-out", out, "-junit", junitFile, "./...", "--", "-count=1")
	for _, want := range []string{"ok    example.com/demo", "PASS TestDemoResilience (", "rafael: demo: score", "demo ", "simulated", "2/2", filepath.Join(out, "merged", "summary.md"), "junit: " + junitFile} {
		if !strings.Contains(stdout, want) {
			t.Errorf("rafael test output lacks %q:\n%s", want, stdout)
		}
	}
	if _, err := os.Stat(filepath.Join(out, "TestDemoResilience.demo.json")); err != nil {
		t.Errorf("the harness wrote no report where RAFAEL_OUT said: %v", err)
	}

	checkJUnit(t, junitFile)

	broken := "package demo\n\nimport \"testing\"\n\nfunc TestBroken(t *testing.T) { t.Fatal(\"broken on purpose\") }\n"
	if err := os.WriteFile("broken_test.go", []byte(broken), 0o644); err != nil {
		t.Fatal(err)
	}
	failedJUnit := filepath.Join(t.TempDir(), "failed.xml")
	stdout, _ = wantExit(t, exitFailure, "test", "-out", filepath.Join(t.TempDir(), "again"), "-junit", failedJUnit, "--", "-count=1")
	if data, err := os.ReadFile(failedJUnit); err != nil || !regexp.MustCompile(`(?s)<testcase name="TestBroken"[^>]*>\s*<failure message="[^"]*broken on purpose`).Match(data) {
		t.Errorf("the JUnit file of a failed run does not show TestBroken's failure (%v):\n%s", err, data)
	}
	for _, want := range []string{"--- FAIL: TestBroken (example.com/demo)", "broken on purpose", "FAIL  example.com/demo", "2/2"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("rafael test output after a failure lacks %q:\n%s", want, stdout)
		}
	}
	wantUsage(t, []string{"test", "-out", out}, "already holds reports")
}

// checkJUnit parses the JUnit file rafael test wrote for the demo package:
// its test cases are the tests and the trial subtests, with the harness's
// t.Attr values as properties.
func checkJUnit(t *testing.T, path string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("rafael test -junit wrote nothing: %v", err)
	}
	var doc struct {
		Tests  int `xml:"tests,attr"`
		Suites []struct {
			Name  string `xml:"name,attr"`
			Tests int    `xml:"tests,attr"`
			Cases []struct {
				Name      string `xml:"name,attr"`
				Classname string `xml:"classname,attr"`
				Time      string `xml:"time,attr"`
				Props     []struct {
					Name  string `xml:"name,attr"`
					Value string `xml:"value,attr"`
				} `xml:"properties>property"`
				Failure *struct{} `xml:"failure"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(data, &doc); err != nil {
		t.Fatalf("the JUnit file does not parse: %v\n%s", err, data)
	}
	if len(doc.Suites) != 1 || doc.Suites[0].Name != "example.com/demo" {
		t.Fatalf("want one test suite, example.com/demo:\n%s", data)
	}
	trials, top := 0, false
	for _, c := range doc.Suites[0].Cases {
		props := map[string]string{}
		for _, p := range c.Props {
			props[p.Name] = p.Value
		}
		switch {
		case c.Name == "TestDemoResilience":
			top = true
			for _, k := range []string{"rafael.module", "rafael.tier", "rafael.seed", "rafael.score", "rafael.report"} {
				if props[k] == "" {
					t.Errorf("the test case %s lacks the property %s: %v", c.Name, k, props)
				}
			}
		case strings.Contains(c.Name, "/seed="):
			trials++
			if props["rafael.score"] == "" {
				t.Errorf("the trial %s lacks its rafael.score property", c.Name)
			}
		}
		if c.Classname != "example.com/demo" || c.Time == "" || c.Failure != nil {
			t.Errorf("test case %+v: want classname example.com/demo, a time and no failure", c)
		}
	}
	if !top || trials == 0 || doc.Tests != len(doc.Suites[0].Cases) {
		t.Errorf("want the test and its trial subtests as test cases (test %v, %d trials, %d of %d counted):\n%s", top, trials, doc.Tests, len(doc.Suites[0].Cases), data)
	}
}

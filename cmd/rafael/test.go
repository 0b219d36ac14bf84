package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"github.com/rafaelabs/rafael/report"
)

func testCommand() *command {
	var out, junitPath string
	return &command{
		name:        "test",
		args:        "[-out DIR] [-junit FILE] [packages] [-- go test flags]",
		summary:     "run go test, gather the reports, merge them and print the summary",
		passthrough: true,
		help: `Test runs go test -json on the packages (default .) with the go test flags
after --, RAFAEL_OUT=DIR in the environment (so every harness.Run writes its
report there, and packages without RAFAEL stay unaffected), and prints, as
they end, each top-level test (PASS, FAIL with its output, SKIP), each
report written and one line per package.
Then it merges the reports (report.Merge), prints a table of the runs and,
under each, every threat not met (what broke and by how much, the seed and
the replay command, or why it did not run), and writes DIR/merged/: every run
as JSON, Markdown and HTML, and summary.md and summary.html.
With $GITHUB_STEP_SUMMARY set, the summary's Markdown is appended to it once
(the test binaries do not append their own).

With -junit FILE it also writes a JUnit XML file for CI: a test suite per
package, a test case per test and subtest (the trials are subtests:
TestX/db-outage/seed=7), each with its t.Attr values as properties: a
test's rafael.module, rafael.tier, rafael.seed, rafael.score and
rafael.report (once per harness.Run it made); a trial's rafael.score, and
rafael.verdict when it was unstable.

DIR is -out, which must hold no reports yet, or a new temporary directory.
The exit code is go test's: 0 when every test passed, 1 when a test or a build
failed; 2 when go is missing or a report cannot be merged.`,
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&out, "out", "", "directory for the reports (default: a new temporary directory)")
			fs.StringVar(&junitPath, "junit", "", "also write a JUnit XML `file` of every test and subtest")
		},
		run: func(e *env, args []string) int {
			var pkgs, extra []string
			if i := slices.Index(args, "--"); i >= 0 {
				pkgs, extra = args[:i], args[i+1:]
			} else {
				pkgs = args
			}
			return runTests(e, out, junitPath, pkgs, extra)
		},
	}
}

func runTests(e *env, out, junitPath string, pkgs, extra []string) int {
	gobin, err := exec.LookPath("go")
	if err != nil {
		return e.usagef("test: go is not on PATH: install Go 1.26 or add it to PATH")
	}
	if len(pkgs) == 0 {
		pkgs = []string{"."}
	}
	dir, code := outDir(e, out)
	if dir == "" {
		return code
	}
	cmd := exec.Command(gobin, append(append([]string{"test", "-json"}, pkgs...), extra...)...)
	cmd.Env = append(childEnv(os.Environ()), "RAFAEL_OUT="+dir)
	cmd.Stderr = e.stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return e.usagef("test: %v", err)
	}
	if err := cmd.Start(); err != nil {
		return e.usagef("test: starting go test: %v", err)
	}
	var ju *junit
	if junitPath != "" {
		ju = newJUnit()
	}
	progress(e.stdout, stdout, ju)
	status := exitOK
	if err := cmd.Wait(); err != nil {
		var exit *exec.ExitError
		if !errors.As(err, &exit) {
			return e.usagef("test: go test: %v", err)
		}
		status = exitFailure
	}
	if ju != nil {
		if err := ju.write(junitPath); err != nil {
			return e.usagef("test: -junit %s: %v", junitPath, err)
		}
		fmt.Fprintf(e.stdout, "junit: %s\n", junitPath)
	}
	if code := summarize(e, dir); code != exitOK && status == exitOK {
		status = code
	}
	return status
}

// outDir makes or checks the directory the reports go to, as an absolute
// path (go test runs each test binary in its package's directory).
func outDir(e *env, out string) (string, int) {
	if out == "" {
		dir, err := os.MkdirTemp("", "rafael-test-")
		if err != nil {
			return "", e.usagef("test: %v", err)
		}
		return dir, exitOK
	}
	dir, err := filepath.Abs(out)
	if err != nil {
		return "", e.usagef("test: -out: %v", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", e.usagef("test: -out: %v", err)
	}
	if old, _ := filepath.Glob(filepath.Join(dir, "*.json")); len(old) > 0 {
		return "", e.usagef("test: -out %s already holds reports (%s): give a new or empty directory, so old runs are not merged in", out, filepath.Base(old[0]))
	}
	return dir, exitOK
}

// childEnv is the environment of go test: this one without
// GITHUB_STEP_SUMMARY, which rafael test fills once with the merged summary.
func childEnv(environ []string) []string {
	return slices.DeleteFunc(slices.Clone(environ), func(kv string) bool {
		return strings.HasPrefix(kv, "GITHUB_STEP_SUMMARY=") || strings.HasPrefix(kv, "RAFAEL_OUT=")
	})
}

// testEvent is one line of go test -json (cmd/test2json).
type testEvent struct {
	Action     string
	Package    string
	Test       string
	Elapsed    float64
	Output     string
	ImportPath string
	Key, Value string // of an attr event (t.Attr)
}

// progress reads go test -json and prints a compact account as it goes:
// each top-level test as it ends (a failed one with its output, and a
// failed subtest with its own), build errors, the harness's report lines,
// and a line per package. It hands every event to ju too, when set.
func progress(w io.Writer, r io.Reader, ju *junit) {
	held := map[string][]string{} // output of a test or package not finished yet
	failedTests := map[string]bool{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 16*1024*1024)
	for sc.Scan() {
		var ev testEvent
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil || ev.Action == "" {
			fmt.Fprintln(w, sc.Text()) // not an event: pass it on
			continue
		}
		if ju != nil {
			ju.event(ev)
		}
		key := ev.Package + " " + ev.Test
		top := ev.Test != "" && !strings.Contains(ev.Test, "/")
		switch ev.Action {
		case "build-output":
			fmt.Fprint(w, ev.Output)
		case "output":
			line := strings.TrimRight(ev.Output, "\n")
			if i := strings.Index(line, "rafael: "); i >= 0 && strings.Contains(line, "; report: ") {
				fmt.Fprintf(w, "      %s\n", line[i:])
				continue
			}
			held[key] = append(held[key], line)
		case "pass", "skip":
			delete(held, key)
			switch {
			case top:
				fmt.Fprintf(w, "    %s %s (%.2fs)\n", strings.ToUpper(ev.Action), ev.Test, ev.Elapsed)
			case ev.Test != "":
			case ev.Action == "skip":
				fmt.Fprintf(w, "?     %s [no test files]\n", ev.Package)
			default:
				fmt.Fprintf(w, "ok    %s %.2fs\n", ev.Package, ev.Elapsed)
			}
		case "fail":
			lines := held[key]
			delete(held, key)
			if ev.Test != "" {
				failedTests[ev.Package] = true
				fmt.Fprintf(w, "--- FAIL: %s (%s)\n", ev.Test, ev.Package)
				printOutput(w, lines)
				continue
			}
			if !failedTests[ev.Package] {
				printOutput(w, lines) // a panic outside a test, a TestMain failure
			}
			fmt.Fprintf(w, "FAIL  %s %.2fs\n", ev.Package, ev.Elapsed)
		}
	}
}

// printOutput prints a test's own lines, indented, without go test's framing.
func printOutput(w io.Writer, lines []string) {
	for _, l := range lines {
		t := strings.TrimSpace(l)
		if t == "" || t == "PASS" || t == "FAIL" || strings.HasPrefix(t, "=== ") || strings.HasPrefix(t, "--- ") ||
			strings.HasPrefix(t, "FAIL\t") || strings.HasPrefix(t, "ok  \t") {
			continue
		}
		fmt.Fprintf(w, "    %s\n", t)
	}
}

// summarize merges the reports in dir, prints a table of the runs, writes
// the merged reports and summary.md to dir/merged, and appends the summary
// to $GITHUB_STEP_SUMMARY when it is set.
func summarize(e *env, dir string) int {
	paths, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	if len(paths) == 0 {
		fmt.Fprintf(e.stderr, "rafael: test: no reports in %s: no test called harness.Run\n", dir)
		return exitOK
	}
	s, err := report.MergeFiles(paths...)
	if err != nil {
		return e.usagef("test: merging the reports in %s: %s", dir, oneLine(err))
	}
	fmt.Fprintf(e.stdout, "\n%d report(s) in %s, %d run(s):\n", len(paths), dir, len(s.Reports))
	printRuns(e.stdout, s)
	files, err := writeSummary(s, filepath.Join(dir, "merged"))
	if err != nil {
		return e.usagef("test: writing the merged reports: %s", oneLine(err))
	}
	fmt.Fprintf(e.stdout, "summary: %s\n", files[len(files)-1])
	if p := e.getenv("GITHUB_STEP_SUMMARY"); p != "" {
		f, err := os.OpenFile(p, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err == nil {
			_, err = f.Write(s.Markdown())
			if cerr := f.Close(); err == nil {
				err = cerr
			}
		}
		if err != nil {
			return e.usagef("test: $GITHUB_STEP_SUMMARY: %v", err)
		}
	}
	return exitOK
}

// printRuns prints the runs of s as report.Summary.Text lays them out: one
// line per run (module, tier, seed, score before → after evolution, the
// threats that meet the SLO, the threats by verdict), and under it, for
// every threat not met, the broken terms, the seed, what was measured and
// the replay command, or why the threat did not run.
func printRuns(w io.Writer, s *report.Summary) {
	w.Write(s.Text())
}

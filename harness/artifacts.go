package harness

import (
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rafaelabs/rafael/report"
)

// processStart tells the reports this process wrote from older ones.
var processStart = time.Now()

// reportDir is where a run's reports go: -rafael.out; else, with go test
// -artifacts, the test's artifact directory (which go test keeps); else
// rafael-out/reports at the module's root, which outlives the test.
func (r *runner) reportDir(t *testing.T) string {
	switch {
	case r.set.out != "":
		return r.set.out
	case artifactsKept():
		return t.ArtifactDir()
	}
	wd, _ := os.Getwd()
	root := moduleRoot(wd)
	if root == "" {
		root = wd
	}
	return filepath.Join(root, "rafael-out", "reports")
}

// artifactsKept reports whether go test was given -artifacts.
func artifactsKept() bool {
	f := flag.Lookup("test.artifacts")
	return f != nil && f.Value.String() == "true"
}

// reportBase is the reports' file name without extension,
// <package>.<test>.<module>, with "-2", "-3"… when another Run of this
// process already wrote that name (two runs in one test), and ".partial"
// before those when some threat did not run (a replay filtered by -run, a
// deadline), so that a partial run never overwrites a whole one's report.
func reportBase(dir, pkg, test, module string, partial bool) string {
	clean := strings.NewReplacer("/", "_", " ", "_", "#", "_").Replace
	base := clean(test) + "." + module
	if partial {
		base += ".partial"
	}
	if pkg = strings.TrimPrefix(pkg, "./"); pkg != "." {
		base = clean(pkg) + "." + base
	}
	name := base
	for n := 2; ; n++ {
		fi, err := os.Stat(filepath.Join(dir, name+".json"))
		if errors.Is(err, fs.ErrNotExist) || err == nil && fi.ModTime().Before(processStart) {
			return name
		}
		name = fmt.Sprintf("%s-%d", base, n)
	}
}

// write saves the report as JSON, Markdown and HTML (see reportDir),
// appends its Markdown to $GITHUB_STEP_SUMMARY when that is set, attaches
// the run's metadata to the test (go test -json shows it as attr events,
// gotestsum's JUnit as properties), and says where the files are: in the
// log, and where go test shows it even for a passing package (see say).
func (r *runner) write(t *testing.T, rep *report.Report) {
	dir := r.reportDir(t)
	partial := slices.ContainsFunc(rep.Threats, func(th report.Threat) bool { return th.Status == report.NotRun })
	files, err := rep.WriteFiles(dir, reportBase(dir, r.pkg, t.Name(), r.spec.Module, partial))
	if err != nil {
		t.Errorf("rafael: the report could not be written: %v", err)
		return
	}
	rep.Files = files
	if _, err := rep.AppendStepSummary(os.Getenv); err != nil {
		t.Errorf("rafael: the step summary could not be written: %v", err)
	}
	path := files[len(files)-1]
	t.Attr("rafael.module", r.spec.Module)
	t.Attr("rafael.tier", r.tier.String())
	t.Attr("rafael.seed", fmt.Sprint(r.seed))
	t.Attr("rafael.score", scoreLine(rep))
	t.Attr("rafael.report", path)
	line := fmt.Sprintf("rafael: %s: score %s; report: %s", r.spec.Module, scoreLine(rep), path)
	t.Log(line)
	say(line)
}

// say prints line where a person running go test sees it. With -v (and
// -json) the test log already shows it. Without, go test shows a passing
// package's output only when it runs in the package's directory; listing
// packages (go test ./...) hides it. So when this binary's parent is the go
// command the line goes to the go command's own standard output (Linux),
// where it shows in both modes; otherwise to this binary's.
func say(line string) {
	if testing.Verbose() {
		return
	}
	parentOut := fmt.Sprintf("/proc/%d/fd/1", os.Getppid())
	// Not into a regular file: the go command writes it at its own offset,
	// over what this wrote.
	if fi, err := os.Stat(parentOut); err == nil && fi.Mode().IsRegular() {
		fmt.Println(line)
		return
	}
	if comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", os.Getppid())); err == nil && strings.TrimSpace(string(comm)) == "go" {
		if out, err := os.OpenFile(parentOut, os.O_WRONLY|os.O_APPEND, 0); err == nil {
			defer out.Close()
			if _, err := fmt.Fprintln(out, line); err == nil {
				return
			}
		}
	}
	fmt.Println(line)
}

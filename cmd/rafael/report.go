package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/rafaelabs/rafael/internal/atomicfile"
	"github.com/rafaelabs/rafael/report"
)

func reportCommand() *command {
	return &command{
		name: "report",
		help: `Report renders, merges and compares the JSON reports harness.Run writes
(report files, or directories of them).`,
		subs: []*command{reportRenderCommand(), reportMergeCommand(), reportDiffCommand()},
	}
}

func reportRenderCommand() *command {
	var out string
	return &command{
		name:    "render",
		args:    "<report.json> [-o DIR]",
		summary: "write a report's Markdown and HTML and print the Markdown",
		help: `Render reads one report and writes <name>.md and <name>.html next to it, or
in -o DIR, and prints the Markdown.`,
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&out, "o", "", "directory for the .md and .html (default: the report's directory)")
		},
		run: func(e *env, args []string) int {
			if len(args) != 1 {
				return e.usagef("report render: want one report file, got %d arguments", len(args))
			}
			r, err := report.ReadFile(args[0])
			if err != nil {
				return e.usagef("report render: %s", oneLine(err))
			}
			dir := out
			if dir == "" {
				dir = filepath.Dir(args[0])
			}
			base := filepath.Join(dir, strings.TrimSuffix(filepath.Base(args[0]), ".json"))
			html, err := r.HTML()
			if err != nil {
				return e.usagef("report render: %s: %s", args[0], oneLine(err))
			}
			md := r.Markdown()
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return e.usagef("report render: -o: %v", err)
			}
			for _, f := range []struct {
				path string
				data []byte
			}{{base + ".md", md}, {base + ".html", html}} {
				if err := atomicfile.Write(f.path, f.data); err != nil {
					return e.usagef("report render: %v", err)
				}
				fmt.Fprintf(e.stderr, "rafael: wrote %s\n", f.path)
			}
			e.stdout.Write(md)
			return exitOK
		},
	}
}

func reportMergeCommand() *command {
	var out string
	var table bool
	return &command{
		name:    "merge",
		args:    "<report.json|dir>... [-o FILE.json|DIR] [-table]",
		summary: "merge the reports of shards, packages and tests; print the summary",
		help: `Merge joins reports with report.Merge: shards of one run (the same module,
tier and seed) become one report; other runs stay rows of the summary. It
prints the summary's Markdown, or with -table a table of the runs and, under
each, every threat not met: the broken terms of the SLO and by how much, the
seed, what was measured (both measurements of an unstable trial) and the
replay command, or why the threat did not run. With -o FILE.json the merged
report is written there (the inputs must be one run); with -o DIR each run is
written as <module>.<tier>.<seed>.json, .md and .html, with summary.md and
summary.html.`,
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&out, "o", "", "where to write the merged reports: FILE.json (one run) or a directory")
			fs.BoolVar(&table, "table", false, "print a table of the runs and their threats not met instead of the summary's Markdown")
		},
		run: func(e *env, args []string) int {
			if len(args) == 0 {
				return e.usagef("report merge: want report files or directories to merge")
			}
			s, code := readSummary(e, "report merge", args)
			if s == nil {
				return code
			}
			if out != "" {
				files, err := writeSummary(s, out)
				if err != nil {
					return e.usagef("report merge: -o %s: %s", out, oneLine(err))
				}
				for _, f := range files {
					fmt.Fprintf(e.stderr, "rafael: wrote %s\n", f)
				}
			}
			if table {
				printRuns(e.stdout, s)
			} else {
				e.stdout.Write(s.Markdown())
			}
			return exitOK
		},
	}
}

func reportDiffCommand() *command {
	var threshold float64
	var markdown bool
	return &command{
		name:    "diff",
		args:    "<old> <new> [-threshold POINTS] [-markdown]",
		summary: "compare two sets of reports; exit 1 when a score regressed or a threat stopped running",
		help: `Diff compares the baseline scores of the runs in old and new (each a report
file or a directory of reports, merged first) with report.Diff, prints the rule
and one line per run, and exits 1 when a run's score dropped by more than
-threshold points and more than the measured noise of the change, or a threat
that ran in old is "not run" in new: a regression gate for CI. The noise is
the 95 % half-width of the change on the wire tier, from each threat's spread
over its trials (a wire trial measures differently each time); on the
simulated tier a seed replays exactly and there is none. A change too small to
show (under 0.05 points) is no change. With -markdown it prints the comparison
as a Markdown table, the headline first, for a pull request or
$GITHUB_STEP_SUMMARY.
A threat unstable on either side (it broke the SLO, then met it when measured
again) is left out of both scores and listed, so the gate does not flip with
the machine's load. Reports of schema version 1 are refused (exit 2): run the
tests again with this rafael to write them anew.`,
		flags: func(fs *flag.FlagSet) {
			fs.Float64Var(&threshold, "threshold", 0, "the largest drop in points (0–100) that is not a regression, beyond the measured noise")
			fs.BoolVar(&markdown, "markdown", false, "print the comparison as Markdown (a headline and a table)")
		},
		run: func(e *env, args []string) int {
			if len(args) != 2 {
				return e.usagef("report diff: want <old> <new>, got %d arguments", len(args))
			}
			old, code := readSummary(e, "report diff", args[:1])
			if old == nil {
				return code
			}
			cur, code := readSummary(e, "report diff", args[1:])
			if cur == nil {
				return code
			}
			d, err := report.Diff(old, cur, threshold)
			if err != nil {
				return e.usagef("report diff: %s", oneLine(err))
			}
			if markdown {
				e.stdout.Write(d.Markdown())
			} else {
				fmt.Fprint(e.stdout, strings.TrimRight(d.String(), "\n")+"\n")
			}
			if err := d.Err(); errors.Is(err, report.ErrRegression) {
				return e.failf(exitFailure, "report diff: %s", oneLine(err))
			} else if err != nil {
				return e.usagef("report diff: %s", oneLine(err))
			}
			return exitOK
		},
	}
}

// readSummary reads and merges the reports args name; on error it prints it
// and returns a nil summary with exitUsage.
func readSummary(e *env, cmd string, args []string) (*report.Summary, int) {
	paths, err := reportPaths(args)
	if err != nil {
		return nil, e.usagef("%s: %s", cmd, oneLine(err))
	}
	s, err := report.MergeFiles(paths...)
	if err != nil {
		return nil, e.usagef("%s: %s", cmd, oneLine(err))
	}
	return s, exitOK
}

// writeSummary writes a merged summary to out: one report to FILE.json, or
// every run and summary.md to a directory.
func writeSummary(s *report.Summary, out string) ([]string, error) {
	if strings.HasSuffix(out, ".json") {
		if len(s.Reports) != 1 {
			return nil, fmt.Errorf("the inputs are %d runs, not shards of one: give -o a directory", len(s.Reports))
		}
		return []string{out}, s.Reports[0].WriteFile(out)
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return nil, err
	}
	var files []string
	used := map[string]int{}
	for _, r := range s.Reports {
		// Two runs can share module, tier and seed (two tests of one
		// module, two Runs in one test): the test names them apart, and a
		// count when even that is the same.
		base := fmt.Sprintf("%s.%s.%d", r.Module, r.Tier, r.Seed)
		if r.Test != "" {
			base = strings.NewReplacer("/", "_", " ", "_").Replace(r.Test) + "." + base
		}
		if used[base]++; used[base] > 1 {
			base = fmt.Sprintf("%s-%d", base, used[base])
		}
		fs, err := r.WriteFiles(out, base)
		if err != nil {
			return files, err
		}
		files = append(files, fs...)
	}
	page, err := s.HTML()
	if err != nil {
		return files, err
	}
	html := filepath.Join(out, "summary.html")
	if err := atomicfile.Write(html, page); err != nil {
		return files, err
	}
	md := filepath.Join(out, "summary.md")
	if err := atomicfile.Write(md, s.Markdown()); err != nil {
		return files, err
	}
	return append(files, html, md), nil
}

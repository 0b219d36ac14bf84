package report

import (
	"github.com/rafaelabs/rafael/slo"

	"bytes"
	"fmt"
	"os"
	"strings"
	"time"
)

// Markdown renders the report for a pull-request comment: a summary line
// with the baseline and evolved scores and their delta, a table of the
// threats with their verdicts, the counterexamples with the commands that
// replay them, the genome diff and the audit reference. The text is for
// people and may change between versions; JSON is the contract.
func (r *Report) Markdown() []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "### RAFAEL: %s\n\n", r.Module)
	fmt.Fprintf(&b, "**%s**\n\n", r.headline())
	fmt.Fprintf(&b, "Seed %d, %s tier, %s, %d trials in %s. SLO: %s.\n\n", r.Seed, r.Tier, r.GoVersion,
		r.Baseline.Trials+r.evolvedTrials(), r.End.Sub(r.Start).Round(time.Millisecond), r.SLO)
	r.threatTable(&b)
	if len(r.Counterexamples) > 0 {
		b.WriteString("\n#### Still breaks it\n")
		for _, c := range r.Counterexamples {
			fmt.Fprintf(&b, "\n**%s**: smallest breaking threat `%s`, seed %d", c.Name, c.Threat, c.Seed)
			if len(c.Violations) > 0 {
				fmt.Fprintf(&b, " (%s)", joinViolations(c.Violations))
			}
			b.WriteString(". Replay:\n\n")
			fence(&b, "sh", c.Replay)
		}
	}
	if len(r.GenomeDiff) > 0 {
		fmt.Fprintf(&b, "\n#### Genome: %s → %s\n\n", r.Genome, r.Champion)
		fence(&b, "diff", r.GenomeDiff...)
	}
	if a := r.Audit; a != nil {
		key := "an ephemeral key (not trusted)"
		if a.Trusted {
			key = "a configured key"
		}
		fmt.Fprintf(&b, "\n#### Audit\n\nThe change is **%s** (impact %s): audit entry %d, hash `%s`, signed with %s.\n",
			a.Status, a.Impact, a.Seq, a.Hash, key)
	}
	return b.Bytes()
}

// headline is the one-line answer: the score before and after, and how many
// threats each verdict has.
func (r *Report) headline() string {
	if r.Evolved == nil {
		failing := 0
		for _, t := range r.Threats {
			if t.Status != Met {
				failing++
			}
		}
		return fmt.Sprintf("Resilience %s, no evolution in this run: %d of %d threats break the SLO.",
			r.Baseline, failing, len(r.Threats))
	}
	counts := map[string]int{}
	for _, t := range r.Threats {
		counts[t.Verdict]++
	}
	var parts []string
	for _, v := range []string{Mitigated, Held, Regressed, Vulnerable} {
		if counts[v] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[v], v))
		}
	}
	return fmt.Sprintf("Resilience %.1f → %.1f (%+.1f points, %+.1f %%): baseline %s, evolved %s; threats %s.",
		r.Baseline.Score, r.Evolved.Score, r.Evolved.Score-r.Baseline.Score, r.ImprovementPercent(),
		r.Baseline, *r.Evolved, strings.Join(parts, ", "))
}

// threatTable writes one row per threat.
func (r *Report) threatTable(b *bytes.Buffer) {
	if r.Evolved == nil {
		b.WriteString("| Threat | Severity | Score | Trials | SLO |\n|---|---|---:|---:|---|\n")
		for _, t := range r.Threats {
			fmt.Fprintf(b, "| `%s` | %s | %s | %d | %s |\n", cell(t.Threat), t.Severity, t.Score, t.Score.Trials, t.Status)
		}
		return
	}
	b.WriteString("| Threat | Severity | Before | After | Change | Verdict |\n|---|---|---:|---:|---:|---|\n")
	for _, t := range r.Threats {
		after, delta := "not run", ""
		if t.Evolved != nil {
			after, delta = t.Evolved.String(), fmt.Sprintf("%+.1f", t.Evolved.Score-t.Score.Score)
		}
		fmt.Fprintf(b, "| `%s` | %s | %s | %s | %s | %s |\n", cell(t.Threat), t.Severity, t.Score, after, delta, t.Verdict)
	}
}

// String is the score with its interval: "87.5 (85.0–90.0)".
func (s Score) String() string {
	return fmt.Sprintf("%.1f (%.1f–%.1f)", s.Score, s.Low, s.High)
}

func (r *Report) evolvedTrials() int {
	if r.Evolved == nil {
		return 0
	}
	return r.Evolved.Trials
}

func passes(ok bool) string {
	if ok {
		return "met"
	}
	return "broken"
}

// cell escapes what would end a table cell.
func cell(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ").Replace(s)
}

// fence writes lines as a code block whose fence is longer than any run of
// backticks inside them.
func fence(b *bytes.Buffer, lang string, lines ...string) {
	longest := 0
	for _, l := range lines {
		run := 0
		for _, c := range l {
			if c == '`' {
				run++
				longest = max(longest, run)
			} else {
				run = 0
			}
		}
	}
	f := strings.Repeat("`", max(3, longest+1))
	fmt.Fprintf(b, "%s%s\n%s\n%s\n", f, lang, strings.Join(lines, "\n"), f)
}

// AppendStepSummary appends the report's Markdown to the file named by
// $GITHUB_STEP_SUMMARY, as GitHub Actions shows it on the run's page. getenv
// is how the variable is read (os.Getenv in a CI tool, a map in a test).
// When the variable is unset it does nothing and returns "".
func (r *Report) AppendStepSummary(getenv func(string) string) (path string, err error) {
	path = getenv("GITHUB_STEP_SUMMARY")
	if path == "" {
		return "", nil
	}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return path, fmt.Errorf("report: step summary: %w", err)
	}
	_, err = f.Write(append(r.Markdown(), '\n'))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return path, fmt.Errorf("report: step summary %s: %w", path, err)
	}
	return path, nil
}

// Markdown renders the summary: a table with one row per run, then each
// run's report as [Report.Markdown] renders it.
func (s *Summary) Markdown() []byte {
	var b bytes.Buffer
	b.WriteString("## RAFAEL: resilience of " + plural(len(s.Reports), "run") + "\n\n")
	b.WriteString("| Module | Tier | Seed | Before | After | Threats still breaking the SLO |\n|---|---|---:|---:|---:|---:|\n")
	for _, r := range s.Reports {
		after, broken := "no evolution", 0
		if r.Evolved != nil {
			after = r.Evolved.String()
		}
		for _, t := range r.Threats {
			if (r.Evolved == nil && t.Status != Met) || (r.Evolved != nil && t.Evolved != nil && t.EvolvedStatus != Met) {
				broken++
			}
		}
		fmt.Fprintf(&b, "| %s | %s | %d | %s | %s | %d of %d |\n", cell(r.Module), r.Tier, r.Seed, r.Baseline, after, broken, len(r.Threats))
	}
	for _, r := range s.Reports {
		b.WriteString("\n")
		b.Write(r.Markdown())
	}
	return b.Bytes()
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// joinViolations is the violations in words, joined by "; ".
func joinViolations(vs []slo.Violation) string {
	parts := make([]string, len(vs))
	for i, v := range vs {
		parts[i] = v.String()
	}
	return strings.Join(parts, "; ")
}

package report

import (
	"bytes"
	"fmt"
	"github.com/rafaelabs/rafael/slo"
	"os"
	"strings"
	"time"
)

// Markdown renders the report for a pull-request comment: a headline with
// the baseline and evolved scores, their delta and the threats counted by
// verdict; a table of the threats; for every threat a genome broke, was
// unstable under or did not face, which term of the SLO broke and by how
// much, the trial's seed, what it measured (the latency of successes apart
// from that of failures; both measurements of an unstable trial) and the
// command that replays it, or why it did not run; then the
// counterexamples, the genome diff and the audit reference. The text is
// for people and may change between versions; JSON is the contract.
func (r *Report) Markdown() []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "### RAFAEL: %s\n\n", r.Module)
	fmt.Fprintf(&b, "**%s**\n\n", r.headline())
	fmt.Fprintf(&b, "Seed %d, %s tier, %s, %d trials in %s. SLO: %s.\n\n", r.Seed, r.Tier, r.GoVersion,
		r.Baseline.Trials+r.evolvedTrials(), r.End.Sub(r.Start).Round(time.Millisecond), r.SLO)
	r.threatTable(&b)
	r.evidenceMarkdown(&b)
	if fs := r.findings(maxShown); len(fs) > 0 {
		b.WriteString("\n#### Threats that did not meet the SLO\n")
		for _, f := range fs {
			findingMarkdown(&b, f)
		}
	}
	if len(r.Counterexamples) > 0 {
		b.WriteString("\n#### Still breaks it\n")
		for _, c := range r.Counterexamples {
			fmt.Fprintf(&b, "\n**%s**: smallest breaking threat %s, seed %d", c.Name, code(c.Threat), c.Seed)
			if len(c.Violations) > 0 {
				fmt.Fprintf(&b, " (%s)", slo.Join(c.Violations))
			}
			b.WriteString(". Replay:\n\n")
			fence(&b, "sh", c.Replay)
		}
	}
	if len(r.Attacks) > 0 || r.Settled != "" {
		b.WriteString("\n#### Threats the adversary found\n\n")
		b.WriteString("Within the envelope of the declared threats (each parameter at most its declared value, each step no longer than declared and starting anywhere in the inject phase; with Combine, two at once), the worst case for each round's champion, judged as the search judges (the SLO with its margin):\n\n")
		for i, a := range r.Attacks {
			fmt.Fprintf(&b, "%d. %s (from %s) broke champion `%s` (fitness %.1f); the final champion: %s\n", i+1, code(a.Threat), a.From, short(a.Broke), 100*a.Fitness, attackVerdict(a))
		}
		if r.Settled != "" {
			fmt.Fprintf(&b, "\nThe rounds ended because %s.\n", r.Settled)
		}
	}
	if len(r.GenomeDiff) > 0 {
		fmt.Fprintf(&b, "\n#### Genome: %s → %s\n\n", r.Genome, r.Champion)
		fence(&b, "diff", r.GenomeDiff...)
	}
	if len(r.GeneCosts) > 0 || len(r.Removed) > 0 || len(r.Static) > 0 || len(r.Rounded) > 0 {
		b.WriteString("\n#### Why each gene is there\n\nOn the search's own trials, the champion with and without each of its genes:\n\n")
		for _, c := range r.GeneCosts {
			fmt.Fprintf(&b, "- %s\n", c)
		}
		if len(r.Removed) > 0 {
			fmt.Fprintf(&b, "- removed, as they cost nothing there: %s\n", strings.Join(r.Removed, ", "))
		}
		if len(r.Static) > 0 {
			fmt.Fprintf(&b, "- made static, as the adaptive form gained nothing there: %s\n", strings.Join(r.Static, ", "))
		}
		if len(r.Rounded) > 0 {
			fmt.Fprintf(&b, "- rounded, as it costs nothing there: %s\n", strings.Join(r.Rounded, "; "))
		}
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

// findingMarkdown writes one finding: the threat, the genome and its
// status, then each trial shown with its measurements and replay command.
func findingMarkdown(b *bytes.Buffer, f finding) {
	fmt.Fprintf(b, "\n**%s** %s", f.Name, code(f.Threat))
	if f.Who != "" {
		fmt.Fprintf(b, ", %s", f.Who)
	}
	fmt.Fprintf(b, ": **%s**: %s.\n", f.Status, f.Summary)
	if len(f.Trials) > 0 {
		b.WriteString("\n")
	}
	for _, t := range f.Trials {
		fmt.Fprintf(b, "- seed %d %s\n", t.Seed, t.Head)
		for _, l := range t.Lines {
			fmt.Fprintf(b, "  - %s\n", l)
		}
		if t.Replay != "" {
			fmt.Fprintf(b, "  - replay: %s\n", code(t.Replay))
		}
	}
	if f.More != "" {
		fmt.Fprintf(b, "- %s\n", f.More)
	}
}

// evidenceMarkdown writes, threat by threat, the evidence that the faults
// fired, with a warning for a threat whose faults touched nothing.
func (r *Report) evidenceMarkdown(b *bytes.Buffer) {
	head := false
	for _, t := range r.Threats {
		if len(t.Fired) == 0 && t.Untouched == "" {
			continue
		}
		if !head {
			b.WriteString("\n#### Evidence that the faults fired\n\n")
			head = true
		}
		fmt.Fprintf(b, "- **%s**: %s\n", t.Name, strings.Join(t.Fired, "; "))
		if t.Untouched != "" {
			fmt.Fprintf(b, "  - **warning**: %s\n", t.Untouched)
		}
	}
}

// headline is the one-line answer: the score before and after, and the
// threats counted by verdict (unstable and not run included).
func (r *Report) headline() string {
	if r.Evolved == nil {
		score := "not measured: no trial ran"
		if r.Baseline.Trials > 0 {
			score = r.Baseline.String()
		}
		return fmt.Sprintf("Resilience %s, no evolution in this run; threats: %s.", score, r.verdicts())
	}
	return fmt.Sprintf("Resilience %.1f → %.1f (%+.1f points, %+.1f %%): baseline %s, evolved %s; threats: %s.",
		r.Baseline.Score, r.Evolved.Score, r.Evolved.Score-r.Baseline.Score, r.ImprovementPercent(),
		scoreText(&r.Baseline), *r.Evolved, r.verdicts())
}

// threatTable writes one row per threat.
func (r *Report) threatTable(b *bytes.Buffer) {
	if r.Evolved == nil {
		b.WriteString("| Threat | Severity | Score | Trials | Status |\n|---|---|---:|---:|---|\n")
		for _, t := range r.Threats {
			fmt.Fprintf(b, "| %s | %s | %s | %d | %s |\n", code(cell(t.Threat)), t.Severity, scoreText(&t.Score), t.Score.Trials, t.Status)
		}
		return
	}
	b.WriteString("| Threat | Severity | Before | After | Change | Verdict |\n|---|---|---:|---:|---:|---|\n")
	for _, t := range r.Threats {
		delta := ""
		if t.Evolved != nil && t.Evolved.Trials > 0 && t.Score.Trials > 0 {
			delta = fmt.Sprintf("%+.1f", t.Evolved.Score-t.Score.Score)
		}
		fmt.Fprintf(b, "| %s | %s | %s | %s | %s | %s |\n", code(cell(t.Threat)), t.Severity, scoreText(&t.Score), scoreText(t.Evolved), delta, t.Verdict)
	}
}

// String is the score with its 95 % interval and its trials: "87.5 (85.0–90.0,
// 3 trials)"; without an interval to show, the trials alone: "76.0 (1
// trial)", "96.7 (3 trials, no spread)".
func (s Score) String() string {
	switch {
	case s.Trials == 1:
		return fmt.Sprintf("%.1f (1 trial)", s.Score)
	case s.High-s.Low < 0.05: // no spread to show: an interval would read "76.0–76.0"
		return fmt.Sprintf("%.1f (%d trials, no spread)", s.Score, s.Trials)
	}
	return fmt.Sprintf("%.1f (%.1f–%.1f, %d trials)", s.Score, s.Low, s.High, s.Trials)
}

// evolvedTrials is how many trials the champion ran.
func (r *Report) evolvedTrials() int {
	if r.Evolved == nil {
		return 0
	}
	return r.Evolved.Trials
}

// cell escapes what would end a table cell.
func cell(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ").Replace(s)
}

// code is s as inline code, between runs of backticks longer than any in s
// (and padded with spaces when s starts or ends with one).
func code(s string) string {
	longest, run := 0, 0
	for _, c := range s {
		if c == '`' {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	f := strings.Repeat("`", longest+1)
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") {
		s = " " + s + " "
	}
	return f + s + f
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

// Markdown renders the summary for a pull request or a step summary, its
// first screen answering how the runs fared: a headline counting the runs
// by [Report.Status] and naming those that need a look, then a table with
// one row per run, the worst first (its status in a symbol and a word, the
// test and package that ran it, its score before → after and the delta,
// its threats counted by verdict), then each run's report as
// [Report.Markdown] renders it, folded in a <details> element.
func (s *Summary) Markdown() []byte {
	var b bytes.Buffer
	b.WriteString("## RAFAEL: resilience of " + plural(len(s.Reports), "run") + "\n\n")
	fmt.Fprintf(&b, "**%s**\n\n", s.headline())
	b.WriteString("| Status | Module | Test | Tier | Seed | Score | Threats |\n|---|---|---|---|---:|---:|---|\n")
	runs := s.worstFirst()
	for _, r := range runs {
		st := r.Status()
		fmt.Fprintf(&b, "| %s %s | %s | %s | %s | %d | %s | %s |\n", st.symbol(), st, cell(r.Module), cell(r.where()), r.Tier, r.Seed, r.change(), r.verdicts())
	}
	// Each run's report, folded: the table above is the first screen.
	for _, r := range runs {
		st := r.Status()
		fmt.Fprintf(&b, "\n<details><summary>%s <strong>%s</strong> (%s, seed %d): %s, %s</summary>\n\n", st.symbol(), htmlText(r.Module), r.Tier, r.Seed, st, r.change())
		b.Write(r.Markdown())
		b.WriteString("\n</details>\n")
	}
	return b.Bytes()
}

// htmlText escapes s for HTML inside Markdown.
func htmlText(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// attackVerdict says how the final champion fared under an attack: "holds
// (2 of 2 trials met the SLO)", or which SLO term broke.
func attackVerdict(a Attack) string {
	met := 0
	var broke []string
	for _, tr := range a.Trials {
		if len(tr.Violations) == 0 {
			met++
		} else if len(broke) == 0 {
			broke = append(broke, slo.Join(tr.Violations))
		}
	}
	switch {
	case len(a.Trials) == 0:
		return "not measured"
	case met == len(a.Trials):
		return fmt.Sprintf("holds (%d of %d trials met the SLO)", met, len(a.Trials))
	}
	return fmt.Sprintf("breaks in %d of %d trials: %s", len(a.Trials)-met, len(a.Trials), broke[0])
}

// short is a digest's first 12 hex digits.
func short(digest string) string {
	if len(digest) > len("sha256:")+12 {
		return digest[:len("sha256:")+12]
	}
	return digest
}

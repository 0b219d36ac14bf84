package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"github.com/rafaelabs/rafael/genome"
	"github.com/rafaelabs/rafael/guardian"
	"github.com/rafaelabs/rafael/report"
	"github.com/rafaelabs/rafael/vaultdata"
)

// printProofs says, plainly, where p was proven and what backs its score.
func printProofs(e *env, p vaultdata.Pattern) {
	r := p.Reliability()
	fmt.Fprintf(e.stdout, "%s: declared score %d; the last proof measured %.2f; %d proof(s)\n", p.ID, p.Score, r.Score, r.Proofs)
	for _, pr := range p.Proofs {
		fmt.Fprintf(e.stdout, "  proven on %s: score %.2f, seed %d, %s\n", pr.Where, pr.Score, pr.Seed, pr.Date.Format("2006-01-02"))
		if pr.Test != nil {
			fmt.Fprintf(e.stdout, "    re-run: %s\n", pr.Test.Command())
		}
	}
	if p.Tier() != "wire" {
		fmt.Fprintf(e.stdout, "  never run against a real %s: proven on a simulated model only\n", p.Stack)
	}
	if a := p.Adopted; a != nil {
		fmt.Fprintf(e.stdout, "  adopted for module %s by audit entry %d (%s)\n", a.Module, a.Seq, a.Entry)
	}
}

func vaultVerifyCommand() *command {
	var root string
	var update bool
	return &command{
		name:    "verify",
		args:    "DIR [-C ROOT] [-update]",
		summary: "re-prove every pattern of a vault directory, each on its tier",
		help: `Verify loads every pattern file of DIR (a file that does not load is a
failure, named) and re-runs each of its proofs: the Go test the proof names,
through go test, from the repository's root (ROOT, default the current
directory), with RAFAEL_VAULT_DIR=DIR so that the test proves DIR's pattern,
not the shipped one. A proof on the simulated model runs in-process; a wire
proof runs the pattern's client against the real server and is skipped, and
said so, where that server cannot be had. Nothing is written unless -update
is given: then each proof is written back with what it measured, and the
declared score is derived again from the proofs (the lowest, less a margin).
Exit code 1 names each pattern that failed a proof or did not load.`,
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&root, "C", ".", "the repository's root, where the proofs' go test commands run")
			fs.BoolVar(&update, "update", false, "write each proof back into DIR with what it measured")
		},
		run: func(e *env, args []string) int {
			if len(args) != 1 {
				return e.usagef("vault verify: want one vault directory, got %d arguments", len(args))
			}
			return vaultVerify(e, args[0], root, update)
		},
	}
}

// vaultVerify re-runs every proof of every pattern of dir.
func vaultVerify(e *env, dir, root string, update bool) int {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return e.usagef("vault verify: %v", err)
	}
	if st, err := os.Stat(abs); err != nil || !st.IsDir() {
		return e.usagef("vault verify: %s is not a directory of pattern files", dir)
	}
	v, err := vaultdata.Open(abs)
	if err != nil {
		fmt.Fprintf(e.stdout, "FAIL %s does not load:\n", dir)
		for _, line := range strings.Split(err.Error(), "\n") {
			fmt.Fprintf(e.stdout, "  %s\n", line)
		}
		return exitFailure
	}
	var failed, unproven []string
	for _, p := range v.List() {
		passed, ran := 0, 0
		for _, pr := range p.Proofs {
			if pr.Test == nil {
				fmt.Fprintf(e.stdout, "--   %s on %s: no test recorded to re-run it\n", p.ID, pr.Where)
				continue
			}
			ran++
			out, err := runProof(root, abs, *pr.Test, update)
			skip, ranAny := outcome(out)
			if err == nil && !ranAny && skip == "" {
				err = fmt.Errorf("no test matches -run %s in %s", pr.Test.Run, pr.Test.Package)
				out += "\n" + err.Error()
			}
			switch {
			case err != nil:
				fmt.Fprintf(e.stdout, "FAIL %s on %s: %s\n", p.ID, pr.Where, pr.Test.Command())
				for _, line := range tail(out, 15) {
					fmt.Fprintf(e.stdout, "       %s\n", line)
				}
				if !slices.Contains(failed, p.ID) {
					failed = append(failed, p.ID)
				}
			case skip != "":
				fmt.Fprintf(e.stdout, "SKIP %s on %s: %s\n", p.ID, pr.Where, skip)
			default:
				passed++
				fmt.Fprintf(e.stdout, "ok   %s on %s\n", p.ID, pr.Where)
			}
		}
		if ran == 0 || passed == 0 && !slices.Contains(failed, p.ID) {
			unproven = append(unproven, p.ID)
		}
	}
	if len(unproven) > 0 {
		fmt.Fprintf(e.stdout, "not re-proven here (no proof could run): %s\n", strings.Join(unproven, ", "))
	}
	if len(failed) > 0 {
		fmt.Fprintf(e.stdout, "vault verify: %d of %d patterns failed a proof: %s\n", len(failed), len(v.List()), strings.Join(failed, ", "))
		return exitFailure
	}
	if update {
		fmt.Fprintf(e.stdout, "vault verify: every proof passed; %s updated\n", dir)
	} else {
		fmt.Fprintf(e.stdout, "vault verify: every proof that could run passed; nothing written\n")
	}
	return exitOK
}

// runProof runs one proof's test with go test from root, on the vault dir.
func runProof(root, dir string, t vaultdata.Test, update bool) (string, error) {
	args := t.Args()
	args = slices.Insert(args, slices.Index(args, "test")+1, "-v")
	cmd := exec.Command("go", args...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), vaultdata.DirEnv+"="+dir)
	if update {
		cmd.Env = append(cmd.Env, vaultdata.UpdateEnv+"="+dir)
	}
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// outcome reads go test -v's output of a proof: the reason its test
// skipped ("" when it did not), and whether a test ran and passed at all (a
// -run pattern that matches nothing passes without running anything).
func outcome(out string) (skip string, passed bool) {
	sc := bufio.NewScanner(strings.NewReader(out))
	sub := false // a subtest passed: the parent's pass alone may only wrap a skip
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "--- PASS") {
			passed = true
			sub = sub || strings.Contains(line, "/")
		}
		if strings.HasPrefix(line, "--- SKIP") && skip == "" {
			skip = "skipped"
			if sc.Scan() {
				skip = strings.TrimSpace(sc.Text())
			}
		}
	}
	if sub {
		skip = ""
	}
	return skip, passed
}

// tail returns the last n lines of out.
func tail(out string, n int) []string {
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	return lines[max(0, len(lines)-n):]
}

func vaultExportCommand() *command {
	var (
		reportPath, out, id, name, summary, stack, category, tags, example, where, gdir string
		trust                                                                           []string
	)
	return &command{
		name:    "export",
		args:    "-report R.json -id ID -name NAME -stack S -category C -o DIR [-guardian DIR -trust KEY.pub]",
		summary: "turn an adopted champion and its report into a vault pattern",
		help: `Export writes a pattern to the vault directory -o from a harness report: the
champion genome (or the genome it measured), the SLO, the threats as data,
and the run as the pattern's first proof, with the test that re-runs it.
With -guardian, the audit log there (verified under the -trust keys, never
keys in the directory) must have adopted that very genome for the report's
module; the adopting entry is recorded in the pattern. The pattern is
experimental until its proofs are re-run (rafael vault verify).`,
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&reportPath, "report", "", "the harness report (its .json file)")
			fs.StringVar(&out, "o", "", "the vault directory to write the pattern to")
			fs.StringVar(&id, "id", "", "the pattern's id: lowercase letters, digits and '-'")
			fs.StringVar(&name, "name", "", "a title for people")
			fs.StringVar(&summary, "summary", "", "one or two sentences: what it survives and how")
			fs.StringVar(&stack, "stack", "", "the technology stack: "+strings.Join(vaultdata.Stacks(), ", "))
			fs.StringVar(&category, "category", "", "retry, circuit-breaker, timeout, rate-limit, bulkhead, fallback, hedging or composite")
			fs.StringVar(&tags, "tag", "", "comma-separated tags")
			fs.StringVar(&example, "example", "", "a file with a short Go example of the pattern in use (default: a policy.Do call)")
			fs.StringVar(&where, "where", "", `where the run proved it, plainly, such as "wire: pgx v5 on PostgreSQL 15" (default: the tier and the test)`)
			fs.StringVar(&gdir, "guardian", "", "the guardian directory whose audit log adopted the champion")
			keysFlag(fs, "trust", "a public key (PEM) trusted to sign the audit log; repeatable (or $"+guardian.AuditKeysEnv+")", &trust)
		},
		run: func(e *env, args []string) int {
			if len(args) != 0 {
				return e.usagef("vault export: takes flags only, got %q", strings.Join(args, " "))
			}
			for _, f := range []struct{ name, v string }{{"-report", reportPath}, {"-o", out}, {"-id", id}, {"-name", name}, {"-stack", stack}, {"-category", category}} {
				if f.v == "" {
					return e.usagef("vault export: %s is required", f.name)
				}
			}
			rep, err := report.ReadFile(reportPath)
			if err != nil {
				return e.usagef("vault export: %s", oneLine(err))
			}
			cat, err := vaultdata.ParseCategory(category)
			if err != nil {
				return e.usagef("vault export: -category: %s", oneLine(err))
			}
			p := vaultdata.Pattern{ID: id, Name: name, Summary: summary, Category: cat, Stack: stack,
				Example: "policy, _ := genome.Compile(g) // g: this pattern's genome\nerr := policy.Do(ctx, call)\n"}
			for _, t := range strings.Split(tags, ",") {
				if t = strings.TrimSpace(t); t != "" {
					p.Tags = append(p.Tags, t)
				}
			}
			if example != "" {
				data, err := os.ReadFile(example)
				if err != nil {
					return e.usagef("vault export: -example: %v", err)
				}
				p.Example = string(data)
			}
			if len(rep.ChampionGenome) == 0 {
				return e.usagef("vault export: %s did not evolve, so it holds no genome to export: export the report of the run that evolved the champion", reportPath)
			}
			if gdir != "" {
				a, code := adoptionOf(e, gdir, trust, rep)
				if code != exitOK {
					return code
				}
				p.Adopted = a
			}
			p, err = vaultdata.FromReport(rep, p)
			if err != nil {
				return e.usagef("vault export: %s", oneLine(err))
			}
			if where != "" {
				p.Proofs[len(p.Proofs)-1].Where = where
			}
			path, err := vaultdata.Export(out, p)
			if err != nil {
				return e.usagef("vault export: %s", err)
			}
			fmt.Fprintf(e.stdout, "wrote %s: %s, score %d, %d threat(s), proven on %s\n", path, p.ID, p.Score, len(p.Threats), p.Proofs[0].Where)
			if p.Adopted != nil {
				fmt.Fprintf(e.stdout, "adopted for module %s by audit entry %d\n", p.Adopted.Module, p.Adopted.Seq)
			}
			return exitOK
		},
	}
}

// adoptionOf returns the audit entry of gdir's verified log that adopted
// rep's champion for rep's module.
func adoptionOf(e *env, gdir string, trust []string, rep *report.Report) (*vaultdata.Adoption, int) {
	g, code := openAudited(e, "vault export", gdir, trust)
	if g == nil {
		return nil, code
	}
	champion, err := genome.Parse(rep.ChampionGenome)
	if err != nil {
		return nil, e.usagef("vault export: the report's champion: %s", oneLine(err))
	}
	a, err := g.Adopted(context.Background(), rep.Module, champion.Digest())
	if err != nil {
		return nil, e.failf(exitFailure, "vault export: %s: export the report of a run whose champion was adopted", oneLine(err))
	}
	if !a.InForce {
		fmt.Fprintf(e.stderr, "rafael: vault export: note: module %s has adopted another genome since entry %d\n", rep.Module, a.Entry.Seq)
	}
	return &vaultdata.Adoption{Module: a.Module, Digest: a.Digest, Seq: int(a.Entry.Seq), Entry: prefixed(a.Entry.Hash)}, exitOK
}

// prefixed returns an entry hash as "sha256:<hex>".
func prefixed(h string) string {
	if strings.HasPrefix(h, "sha256:") {
		return h
	}
	return "sha256:" + h
}

package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/rafaelabs/rafael/vaultdata"
)

func vaultCommand() *command {
	return &command{
		name: "vault",
		help: `Vault lists, shows and searches the pattern library: the patterns shipped
with RAFAEL (embedded), or a team's own directory of pattern files (-dir);
verifies a directory by re-running every pattern's proofs; exports an adopted
champion as a pattern.`,
		subs: []*command{vaultListCommand(), vaultShowCommand(), vaultSearchCommand(), vaultVerifyCommand(), vaultExportCommand()},
	}
}

// openVault returns the embedded vault, or the one in dir.
func openVault(e *env, name, dir string) (*vaultdata.Vault, int) {
	if dir == "" {
		return vaultdata.Default(), exitOK
	}
	v, err := vaultdata.Open(dir)
	if err != nil {
		return nil, e.usagef("%s: %s", name, oneLine(err))
	}
	return v, exitOK
}

func vaultDirFlag(dir *string) func(fs *flag.FlagSet) {
	return func(fs *flag.FlagSet) {
		fs.StringVar(dir, "dir", "", "a team's vault directory (default: the patterns shipped with RAFAEL)")
	}
}

// printPatterns prints one line per pattern: id, stack, category, score,
// status, where it was proven, name.
func printPatterns(e *env, ps []vaultdata.Pattern) {
	w := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "ID\tSTACK\tCATEGORY\tSCORE\tSTATUS\tPROVEN\tNAME")
	for _, p := range ps {
		proven := "model only"
		if p.Tier() == "wire" {
			proven = "wire"
		}
		if len(p.Proofs) == 0 { // a lazily loaded header: its proofs are not read yet
			proven = "-"
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%d\t%s\t%s\t%s\n", p.ID, p.Stack, p.Category, p.Score, p.Status, proven, p.Name)
	}
	w.Flush()
}

func vaultListCommand() *command {
	var dir string
	return &command{
		name:    "list",
		args:    "[-dir DIR]",
		summary: "list the vault's patterns",
		help: `List prints every pattern of the vault: id, stack, category, declared score,
status, where it was proven (on the wire with its named client, or on its
simulated model only) and name. rafael vault show ID says more.`,
		flags: vaultDirFlag(&dir),
		run: func(e *env, args []string) int {
			if len(args) != 0 {
				return e.usagef("vault list: takes no arguments, got %q", strings.Join(args, " "))
			}
			v, code := openVault(e, "vault list", dir)
			if v == nil {
				return code
			}
			printPatterns(e, v.List())
			return exitOK
		},
	}
}

func vaultShowCommand() *command {
	var dir string
	return &command{
		name:    "show",
		args:    "<id> [-dir DIR]",
		summary: "show one pattern: its genome, example, threats and provenance",
		help: `Show says where a pattern was proven (each proof: on the simulated model, or
on the wire with the client and server it names; what it measured; the
command that re-runs it), then prints the pattern as its JSON file holds it:
the genome, the Go example, the threats and SLO it was verified against.
An unknown id is an error that lists the closest ids.`,
		flags: vaultDirFlag(&dir),
		run: func(e *env, args []string) int {
			if len(args) != 1 {
				return e.usagef("vault show: want one pattern id, got %d arguments", len(args))
			}
			v, code := openVault(e, "vault show", dir)
			if v == nil {
				return code
			}
			p, err := v.Pattern(args[0])
			if err != nil {
				return e.usagef("vault show: %s", oneLine(err))
			}
			data, err := p.MarshalJSON()
			if err != nil {
				return e.usagef("vault show: %s", oneLine(err))
			}
			var pretty bytes.Buffer
			if err := json.Indent(&pretty, data, "", "  "); err != nil {
				return e.usagef("vault show: %s", oneLine(err))
			}
			printProofs(e, p)
			fmt.Fprintf(e.stdout, "%s\n", pretty.Bytes())
			return exitOK
		},
	}
}

func vaultSearchCommand() *command {
	var dir, stack, category, tags string
	var minScore int
	return &command{
		name:    "search",
		args:    "[-stack S] [-category C] [-tag T,...] [-min SCORE] [-dir DIR]",
		summary: "search the vault by stack, category, tags and minimum score",
		help: `Search prints the patterns that match every filter given, best score first.
-stack matches a stack or its family ("postgres" matches postgres/pgx);
-category is one of retry, circuit-breaker, timeout, rate-limit, bulkhead,
fallback, hedging, composite; -tag lists tags the pattern must all have.`,
		flags: func(fs *flag.FlagSet) {
			vaultDirFlag(&dir)(fs)
			fs.StringVar(&stack, "stack", "", "a stack or family of stacks, such as postgres or redis/go-redis")
			fs.StringVar(&category, "category", "", "a category, such as retry")
			fs.StringVar(&tags, "tag", "", "comma-separated tags the pattern must all have")
			fs.IntVar(&minScore, "min", 0, "the lowest declared score (0–100)")
		},
		run: func(e *env, args []string) int {
			if len(args) != 0 {
				return e.usagef("vault search: takes flags only, got %q", strings.Join(args, " "))
			}
			q := vaultdata.Query{Stack: stack, MinScore: minScore}
			if category != "" {
				c, err := vaultdata.ParseCategory(category)
				if err != nil {
					return e.usagef("vault search: -category: %s", oneLine(err))
				}
				q.Category = c
			}
			if minScore < 0 || minScore > 100 {
				return e.usagef("vault search: -min %d is outside 0–100", minScore)
			}
			for _, t := range strings.Split(tags, ",") {
				if t = strings.TrimSpace(t); t != "" {
					q.Tags = append(q.Tags, t)
				}
			}
			v, code := openVault(e, "vault search", dir)
			if v == nil {
				return code
			}
			ps := v.Search(q)
			if len(ps) == 0 {
				fmt.Fprintln(e.stdout, "no pattern matches")
				return exitOK
			}
			printPatterns(e, ps)
			return exitOK
		},
	}
}

package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
)

// The exit codes of every command.
const (
	exitOK      = 0 // done, nothing wrong found
	exitFailure = 1 // a failure found: tests failed, a report regressed, an audit log was tampered with
	exitUsage   = 2 // bad usage or bad input: unknown command or flag, missing or unreadable file
)

// env is what a command may touch besides the file system: its standard
// streams and environment. Tests pass their own.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
}

// command is one entry of the command table: a leaf with run, or a group
// (report, audit) with subcommands.
type command struct {
	name    string
	args    string // the arguments after the name, for the usage line
	summary string // one line for rafael help
	help    string // what it does, in a paragraph or two
	flags   func(fs *flag.FlagSet)
	// passthrough: arguments after "--" are not parsed; run gets them after a "--".
	passthrough bool
	run         func(e *env, args []string) int
	subs        []*command
}

// commands is the table: adding a command is one file that defines its
// *command and one line here.
func commands() []*command {
	return []*command{
		initCommand(),
		testCommand(),
		reportCommand(),
		auditCommand(),
		approveCommand(),
		keygenCommand(),
		guardianCommand(),
		vaultCommand(),
		versionCommand(),
	}
}

const exitCodesHelp = `Exit codes: 0 ok; 1 a failure was found (tests failed, a report regressed or a threat stopped running,
the audit log does not verify, an approval does not count); 2 bad usage or bad input.`

// run runs the rafael command line args (without the program name) and
// returns the exit code.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	e := &env{stdin: stdin, stdout: stdout, stderr: stderr, getenv: os.Getenv}
	top := &command{name: "rafael", subs: commands()}
	if len(args) == 0 {
		topHelp(stderr, top) // a usage error: on stderr, as go does
		return exitUsage
	}
	switch args[0] {
	case "-version", "--version", "-V":
		return dispatch(e, top, append([]string{"version"}, args[1:]...), "")
	case "help", "-h", "-help", "--help":
		if len(args) > 1 {
			c, full, ok := find(top, args[1:])
			if !ok {
				return e.usagef("help: unknown command %q: run rafael help for the list", strings.Join(args[1:], " "))
			}
			cmdHelp(stdout, c, full)
			return exitOK
		}
		topHelp(stdout, top)
		return exitOK
	}
	return dispatch(e, top, args, "")
}

// dispatch finds the (sub)command args name and runs it.
func dispatch(e *env, group *command, args []string, path string) int {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") && !isHelp(args[0]) {
		switch {
		case path != "":
			return e.usagef("%s: missing subcommand: want one of %s (see rafael help %s)", path, names(group.subs), path)
		case len(args) > 0:
			return e.usagef("unknown flag %s: rafael takes a command first, then its flags: want one of %s (see rafael help)", args[0], names(group.subs))
		}
	}
	if isHelp(args[0]) {
		cmdHelp(e.stdout, group, path)
		return exitOK
	}
	var c *command
	for _, s := range group.subs {
		if s.name == args[0] {
			c = s
		}
	}
	full := strings.TrimSpace(path + " " + args[0])
	if c == nil {
		if path == "" {
			return e.usagef("unknown command %q: want one of %s (see rafael help)", args[0], names(group.subs))
		}
		return e.usagef("%s: unknown subcommand %q: want one of %s", path, args[0], names(group.subs))
	}
	if c.subs != nil {
		return dispatch(e, c, args[1:], full)
	}
	fs := newFlagSet(full, c)
	rest, after := args[1:], []string(nil)
	if c.passthrough {
		if i := slices.Index(rest, "--"); i >= 0 {
			rest, after = rest[:i], rest[i:]
		}
	}
	pos, err := parseInterspersed(fs, rest)
	if errors.Is(err, flag.ErrHelp) {
		cmdHelp(e.stdout, c, full)
		return exitOK
	}
	if err != nil {
		return e.usagef("%s: %v (see rafael %s -h)", full, err, full)
	}
	return c.run(e, append(pos, after...))
}

// newFlagSet returns c's flags, silent: errors are printed by the caller.
func newFlagSet(name string, c *command) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	if c.flags != nil {
		c.flags(fs)
	}
	return fs
}

func isHelp(s string) bool { return s == "-h" || s == "-help" || s == "--help" }

// find resolves a command path such as ["report", "diff"] for help.
func find(top *command, path []string) (*command, string, bool) {
	c, full := top, ""
	for _, p := range path {
		var next *command
		for _, s := range c.subs {
			if s.name == p {
				next = s
			}
		}
		if next == nil {
			return nil, "", false
		}
		full = strings.TrimSpace(full + " " + p)
		c = next
	}
	return c, full, true
}

// parseInterspersed parses flags that may come before, between or after the
// positional arguments (rafael report diff old new -threshold 2), and
// returns the positional ones. Everything after "--" is positional.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if n := len(args) - len(rest); n > 0 && args[n-1] == "--" {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

func names(cs []*command) string {
	var ns []string
	for _, c := range cs {
		ns = append(ns, c.name)
	}
	return strings.Join(ns, ", ")
}

// usagef prints a one-line usage error and returns exitUsage.
func (e *env) usagef(format string, args ...any) int {
	fmt.Fprintf(e.stderr, "rafael: "+format+"\n", args...)
	return exitUsage
}

// failf prints a one-line error and returns code.
func (e *env) failf(code int, format string, args ...any) int {
	fmt.Fprintf(e.stderr, "rafael: "+format+"\n", args...)
	return code
}

func topHelp(w io.Writer, top *command) {
	fmt.Fprintln(w, "rafael runs RAFAEL's resilience tests and works with their reports and audit log.")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Usage: rafael <command> [arguments]   (rafael help <command>, rafael <command> -h)")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Commands:")
	for _, c := range top.subs {
		if c.subs != nil {
			for _, s := range c.subs {
				fmt.Fprintf(w, "  %-16s %s\n", c.name+" "+s.name, s.summary)
			}
			continue
		}
		fmt.Fprintf(w, "  %-16s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, exitCodesHelp)
}

func cmdHelp(w io.Writer, c *command, path string) {
	if c.subs != nil {
		fmt.Fprintf(w, "Usage: rafael %s <subcommand>\n\n", path)
		if c.help != "" {
			fmt.Fprintf(w, "%s\n\n", c.help)
		}
		for _, s := range c.subs {
			fmt.Fprintf(w, "  %-8s %s\n", s.name, s.summary)
		}
		fmt.Fprintf(w, "\nrafael help %s <subcommand> for its flags.\n\n%s\n", path, exitCodesHelp)
		return
	}
	fmt.Fprintf(w, "Usage: %s\n\n%s\n", strings.TrimSpace("rafael "+path+" "+c.args), c.help)
	fs := newFlagSet(path, c)
	n := 0
	fs.VisitAll(func(*flag.Flag) { n++ })
	if n > 0 {
		fmt.Fprintln(w, "\nFlags:")
		fs.SetOutput(w)
		fs.PrintDefaults()
	}
	fmt.Fprintf(w, "\n%s\n", exitCodesHelp)
}

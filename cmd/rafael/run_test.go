package main

import (
	"strings"
	"testing"
)

func TestHelpListsEveryCommand(t *testing.T) {
	out, _ := wantExit(t, exitOK, "help")
	for _, c := range []string{"init", "test", "report render", "report merge", "report diff", "audit verify", "approve", "version", "Exit codes"} {
		if !strings.Contains(out, c) {
			t.Errorf("rafael help does not mention %q:\n%s", c, out)
		}
	}
	// Without a command it is a usage error: the help goes to stderr, as
	// go's does, so that a script's stdout stays empty.
	if code, out, errb := rafael(t); code != exitUsage || out != "" || !strings.Contains(errb, "Usage") {
		t.Errorf("rafael without arguments: exit %d, stdout %q; want %d, nothing on stdout and the help on stderr", code, out, exitUsage)
	}
}

func TestEveryCommandHasHelp(t *testing.T) {
	for _, args := range [][]string{
		{"init", "-h"}, {"test", "-h"}, {"report", "-h"}, {"report", "render", "-h"}, {"report", "merge", "--help"},
		{"report", "diff", "-h"}, {"audit", "-h"}, {"audit", "verify", "-h"}, {"approve", "-h"}, {"version", "-h"},
		{"help", "report", "diff"}, {"help", "audit"},
	} {
		out, _ := wantExit(t, exitOK, args...)
		if !strings.Contains(out, "Usage: rafael") || !strings.Contains(out, "Exit codes") {
			t.Errorf("rafael %s: help lacks the usage line or the exit codes:\n%s", strings.Join(args, " "), out)
		}
	}
}

func TestBadUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		msgs []string
	}{
		{[]string{"frobnicate"}, []string{`unknown command "frobnicate"`, "rafael help"}},
		{[]string{"help", "frobnicate"}, []string{`unknown command "frobnicate"`}},
		{[]string{"report"}, []string{"report: missing subcommand", "render, merge, diff"}},
		{[]string{"report", "explode"}, []string{`unknown subcommand "explode"`}},
		{[]string{"audit", "-dir", "x"}, []string{"audit: missing subcommand"}},
		{[]string{"report", "diff", "-bogus", "a", "b"}, []string{"flag provided but not defined: -bogus", "rafael report diff -h"}},
		{[]string{"report", "diff", "a", "b", "-threshold", "lots"}, []string{"-threshold", "invalid value"}},
		{[]string{"test", "-run", "X"}, []string{"flag provided but not defined: -run"}},
		{[]string{"version", "extra"}, []string{"takes no arguments"}},
		{[]string{"-x"}, []string{"unknown flag -x", "a command first", "rafael help"}},
		{[]string{"-out", "d", "test"}, []string{"unknown flag -out", "a command first"}},
	} {
		wantUsage(t, tc.args, tc.msgs...)
	}
}

func TestVersion(t *testing.T) {
	for _, args := range [][]string{{"version"}, {"-version"}, {"--version"}, {"-V"}} {
		out, errb := wantExit(t, exitOK, args...)
		if !strings.HasPrefix(out, "rafael ") || !strings.Contains(out, "go1.") || errb != "" {
			t.Errorf("rafael %s = %q (stderr %q), want the module and the Go version", strings.Join(args, " "), out, errb)
		}
	}
}

func TestFlagsAfterArguments(t *testing.T) {
	for _, tc := range []struct {
		args, want []string
	}{
		{[]string{"a", "-threshold", "2", "b"}, []string{"a", "b"}},
		{[]string{"-threshold=2", "a", "b"}, []string{"a", "b"}},
		{[]string{"a", "--", "-b"}, []string{"a", "-b"}},
	} {
		var thr float64
		c := reportDiffCommand()
		fs := newFlagSet("diff", c)
		fs.Float64Var(&thr, "t2", 0, "")
		got, err := parseInterspersed(fs, tc.args)
		if err != nil || strings.Join(got, " ") != strings.Join(tc.want, " ") {
			t.Errorf("parseInterspersed(%q) = %q, %v; want %q", tc.args, got, err, tc.want)
		}
	}
}

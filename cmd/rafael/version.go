package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

func versionCommand() *command {
	return &command{
		name:    "version",
		summary: "print rafael's module version and the Go version",
		help:    "Version prints the module path and version rafael was built from, its VCS revision when known, and the Go version.",
		run: func(e *env, args []string) int {
			if len(args) != 0 {
				return e.usagef("version: takes no arguments")
			}
			path, version, rev := "github.com/rafaelabs/rafael", "(unknown)", ""
			if bi, ok := debug.ReadBuildInfo(); ok {
				if bi.Main.Path != "" {
					path, version = bi.Main.Path, bi.Main.Version
				}
				for _, s := range bi.Settings {
					if s.Key == "vcs.revision" {
						rev = " " + s.Value
					}
				}
			}
			fmt.Fprintf(e.stdout, "rafael %s %s%s %s\n", path, version, rev, runtime.Version())
			return exitOK
		},
	}
}

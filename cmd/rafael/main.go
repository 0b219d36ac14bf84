// Command rafael runs RAFAEL's resilience tests and works with what they
// leave behind: reports, the audit log and approvals. See README.md, or run
// rafael help.
package main

import "os"

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

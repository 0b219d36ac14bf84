package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/rafaelabs/rafael/guardian"
)

func approveCommand() *command {
	var keyFile, actor, dir string
	return &command{
		name:    "approve",
		args:    "<proposal-digest> -key KEY.pem -actor NAME [-dir testdata/rafael]",
		summary: "sign an approval of a pending genome proposal",
		help: `Approve signs an approval of a pending proposal (the digest the harness
prints and the report's audit entry points at) with guardian.Approve and
stores it in DIR/approvals with Guardian.WriteApproval. The next proposal of
the same change (go test -rafael.update) counts it if the key is NAME's in
guardian.json and NAME did not propose the change.`,
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&keyFile, "key", "", "the approver's private key (PEM PKCS#8 Ed25519); required")
			fs.StringVar(&actor, "actor", "", "the approver's name as guardian.json lists it; required")
			fs.StringVar(&dir, "dir", filepath.Join("testdata", "rafael"), "the guardian's directory")
		},
		run: func(e *env, args []string) int {
			if len(args) != 1 {
				return e.usagef("approve: want one proposal digest, got %d arguments", len(args))
			}
			if keyFile == "" || actor == "" {
				return e.usagef("approve: -key and -actor are required (see rafael approve -h)")
			}
			if st, err := os.Stat(dir); err != nil || !st.IsDir() {
				return e.usagef("approve: %s is not a directory: give the guardian's directory with -dir", dir)
			}
			data, err := os.ReadFile(keyFile)
			if err != nil {
				return e.usagef("approve: -key: %v", err)
			}
			key, err := guardian.ParsePrivateKey(data)
			if err != nil {
				return e.usagef("approve: -key %s: %s: give a PEM PRIVATE KEY (PKCS#8 Ed25519)", keyFile, oneLine(err))
			}
			g, err := guardian.Open(dir)
			if err != nil {
				return e.usagef("approve: %s", oneLine(err))
			}
			pending, err := g.Pending(context.Background())
			if err != nil {
				return e.usagef("approve: %s", oneLine(err))
			}
			var at guardian.EntryRef
			for _, p := range pending {
				if p.Proposal == args[0] {
					at = p.At
				}
			}
			envelope, err := guardian.Approve(args[0], at, key, actor)
			if err != nil {
				return e.usagef("approve: %s", oneLine(err))
			}
			path, err := g.WriteApproval(context.Background(), envelope)
			if err != nil {
				return e.usagef("approve: %s", oneLine(err))
			}
			fmt.Fprintln(e.stdout, path)
			return exitOK
		},
	}
}

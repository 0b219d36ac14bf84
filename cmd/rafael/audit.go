package main

import (
	"context"
	"crypto/ed25519"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/rafaelabs/rafael/guardian"
)

func auditCommand() *command {
	return &command{
		name: "audit",
		help: "Audit checks the guardian's signed, hash-chained audit log offline.",
		subs: []*command{auditVerifyCommand()},
	}
}

func auditVerifyCommand() *command {
	var dir, pin, origin string
	var keys []string
	return &command{
		name:    "verify",
		args:    "[-dir testdata/rafael] [-key pub.pem]... [-pin CHECKPOINT] [-origin LINE]",
		summary: "verify audit.jsonl and audit.checkpoint; exit 1 when tampered",
		help: `Verify checks DIR/audit.jsonl and DIR/audit.checkpoint with guardian.Verify:
the hash chain, every entry's Ed25519 signature, the checkpoint's signature and
Merkle root, and with -pin that the log still extends a checkpoint accepted
earlier. It prints every problem and exits 1 when there is one.

The trusted keys are the -key files (PEM public keys). Without -key they are
the ones the guardian trusts: guardian.json's auditKeys and the key in
$RAFAEL_SIGNING_KEY. The checkpoint's origin must then be "rafael audit DIR"
as the harness writes it (run from the package directory, or give -origin).`,
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&dir, "dir", filepath.Join("testdata", "rafael"), "the guardian's directory")
			fs.Func("key", "a trusted public key (PEM PKIX Ed25519); repeat for several", func(s string) error {
				keys = append(keys, s)
				return nil
			})
			fs.StringVar(&pin, "pin", "", "a checkpoint file accepted earlier: the log must still extend it")
			fs.StringVar(&origin, "origin", "", `the checkpoint's expected origin line (default: none with -key, "rafael audit DIR" without)`)
		},
		run: func(e *env, args []string) int {
			if len(args) != 0 {
				return e.usagef("audit verify: unexpected argument %q: give the directory with -dir", args[0])
			}
			return auditVerify(e, dir, keys, pin, origin)
		},
	}
}

func auditVerify(e *env, dir string, keyFiles []string, pinFile, origin string) int {
	logPath := filepath.Join(dir, "audit.jsonl")
	log, err := os.ReadFile(logPath)
	if err != nil {
		return e.usagef("audit verify: %s: %v: give the guardian's directory with -dir", logPath, errors.Unwrap(err))
	}
	var pinned []byte
	if pinFile != "" {
		if pinned, err = os.ReadFile(pinFile); err != nil {
			return e.usagef("audit verify: -pin: %v", err)
		}
	}
	if len(keyFiles) > 0 {
		var trusted []ed25519.PublicKey
		for _, f := range keyFiles {
			data, err := os.ReadFile(f)
			if err != nil {
				return e.usagef("audit verify: -key: %v", err)
			}
			k, err := guardian.ParsePublicKey(data)
			if err != nil {
				return e.usagef("audit verify: -key %s: %s: give a PEM PUBLIC KEY (PKIX Ed25519)", f, oneLine(err))
			}
			trusted = append(trusted, k)
		}
		cpPath := filepath.Join(dir, "audit.checkpoint")
		cp, err := os.ReadFile(cpPath)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return e.usagef("audit verify: %v", err)
		}
		err = guardian.Verify(log, cp, guardian.Trust{Keys: trusted, Pinned: pinned, Origin: origin})
		return verifyResult(e, logPath, err)
	}
	var opts []guardian.Option
	if origin != "" {
		opts = append(opts, guardian.WithOrigin(origin))
	}
	g, err := guardian.Open(dir, opts...)
	if err != nil {
		return e.usagef("audit verify: %s", oneLine(err))
	}
	_ = pinned
	return verifyResult(e, logPath, g.Verify(context.Background()))
}

// verifyResult prints every problem Verify found, one a line, and returns
// the exit code: 1 for a record that fails verification, 2 when it could not
// be checked (no trusted key, say).
func verifyResult(e *env, logPath string, err error) int {
	if err == nil {
		fmt.Fprintf(e.stdout, "%s: the audit log and its checkpoint verify\n", logPath)
		return exitOK
	}
	if !errors.Is(err, guardian.ErrTampered) {
		return e.usagef("audit verify: %s", oneLine(err))
	}
	errs := []error{err}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	}
	for _, p := range errs {
		fmt.Fprintf(e.stderr, "rafael: %s\n", oneLine(p))
	}
	return e.failf(exitFailure, "audit verify: %s fails verification: %d problem(s); restore it from version control and find out who changed it", logPath, len(errs))
}

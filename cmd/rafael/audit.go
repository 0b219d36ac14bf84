package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/rafaelabs/rafael/guardian"
	"github.com/rafaelabs/rafael/internal/atomicfile"
)

func auditCommand() *command {
	return &command{
		name: "audit",
		help: `Audit checks the guardian's signed, hash-chained audit log offline, and mends
a log a crash or a full disk left half-written. The keys that verify it come
from -key or $RAFAEL_AUDIT_KEYS (and $RAFAEL_SIGNING_KEY's public half), never
from the directory it protects.`,
		subs: []*command{auditVerifyCommand(), auditRepairCommand()},
	}
}

// keysFlag adds a repeatable flag of PEM public key files.
func keysFlag(fs *flag.FlagSet, name, usage string, files *[]string) {
	fs.Func(name, usage, func(s string) error {
		*files = append(*files, s)
		return nil
	})
}

const noTrustedKey = "no trusted key: give the public key that signs the audit log with -key pub.pem or $" +
	guardian.AuditKeysEnv + "; keys in the directory are never trusted"

func auditVerifyCommand() *command {
	var dir, pin, policy, origin string
	var keys []string
	return &command{
		name:    "verify",
		args:    "[-dir testdata/rafael] [-key pub.pem]... [-pin FILE] [-policy sha256:…] [-origin LINE]",
		summary: "verify the audit log, its checkpoint and the genome files; exit 1 when they fail",
		help: `Verify checks DIR/audit.jsonl and DIR/audit.checkpoint: the hash chain, every
entry's Ed25519 signature, the checkpoint's signature and Merkle root, that the
log opens with its approver policy, and that every genome file holds what its
last adoption wrote. It prints every problem on a line of its own and exits 1
when there is one, saying whether the record was tampered with or a write was
interrupted (then rafael audit repair mends it).

The trusted keys are the -key files (PEM public keys, several blocks allowed),
$RAFAEL_AUDIT_KEYS (PEM text or a list of files) and the public half of
$RAFAEL_SIGNING_KEY. Keys in DIR are never trusted: whoever can write DIR may
hold no key. The checkpoint's origin must be "rafael audit <module>/<dir>", as
the guardian wrote it (found from DIR's go.mod, whatever the working
directory), unless -origin says otherwise. -policy (or $RAFAEL_GUARDIAN_POLICY) is the digest of an
approver policy the log must have adopted: the first proposal printed it.

-pin FILE (or $RAFAEL_AUDIT_PIN) catches a history cut back to an older state:
when FILE exists, the log must still extend the checkpoint in it; after a
successful verification FILE is replaced with the current audit.checkpoint
(created the first time). Keep FILE outside DIR, where a writer of DIR cannot
replace it: in CI, restore it from a cache before the step (and before the
branch's tests run) and save it after, per branch, under a key that changes
every run so that the newest one is restored (actions/cache/restore and save
with key: rafael-pin-${{ github.ref_name }}-${{ github.run_id }} and
restore-keys: rafael-pin-${{ github.ref_name }}-). A push that rewinds or
replaces the log then fails against the checkpoint an earlier run accepted.
A FILE inside DIR is refused.`,
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&dir, "dir", filepath.Join("testdata", "rafael"), "the guardian's directory")
			keysFlag(fs, "key", "a trusted public key file (PEM PKIX Ed25519, one or more blocks); repeat for several", &keys)
			fs.StringVar(&pin, "pin", "", "a checkpoint file outside DIR: the log must extend it; replaced by the current checkpoint after a successful verification (default $"+guardian.PinEnv+")")
			fs.StringVar(&policy, "policy", "", "the digest (sha256:…) of an approver policy the log must have adopted (default $"+guardian.PolicyEnv+")")
			fs.StringVar(&origin, "origin", "", `the checkpoint's origin line (default "rafael audit" and DIR's module path)`)
		},
		run: func(e *env, args []string) int {
			if len(args) != 0 {
				return e.usagef("audit verify: unexpected argument %q: give the directory with -dir", args[0])
			}
			return auditVerify(e, dir, keys, pin, policy, origin)
		},
	}
}

// openAudited opens the guardian of dir for a command that reads its
// audit log: the log must exist, and a key must be trusted.
func openAudited(e *env, name, dir string, keyFiles []string, opts ...guardian.Option) (*guardian.Guardian, int) {
	logPath := filepath.Join(dir, "audit.jsonl")
	if st, err := os.Stat(logPath); err != nil || !st.Mode().IsRegular() {
		return nil, e.usagef("%s: no audit log in %s: give the guardian's directory with -dir", name, dir)
	}
	keys, err := trustedKeys(e, "-key", keyFiles)
	if err != nil {
		return nil, e.usagef("%s: %s", name, err)
	}
	if len(keys) == 0 {
		return nil, e.usagef("%s: %s", name, noTrustedKey)
	}
	g, err := guardian.Open(dir, append([]guardian.Option{guardian.WithTrustedKeys(keys...)}, opts...)...)
	if err != nil {
		return nil, e.usagef("%s: %s", name, oneLine(err))
	}
	return g, exitOK
}

func auditVerify(e *env, dir string, keyFiles []string, pin, policy, origin string) int {
	const name = "audit verify"
	pinFrom := "-pin"
	if pin == "" {
		pin, pinFrom = e.getenv(guardian.PinEnv), "$"+guardian.PinEnv
	}
	if policy == "" {
		policy = e.getenv(guardian.PolicyEnv)
	}
	if pin != "" && isInside(pin, dir) {
		return e.usagef("%s: %s %s is inside %s, the directory it protects: whoever can rewind the log there can rewind the pin too; keep it outside (a CI cache)", name, pinFrom, pin, dir)
	}
	// The guardian signs nothing here: $RAFAEL_SIGNING_KEY's public half is
	// among the trusted keys already.
	opts := []guardian.Option{guardian.WithSigningKey(nil), guardian.WithPinFile(pin), guardian.WithPolicy(policy)}
	if origin != "" {
		opts = append(opts, guardian.WithOrigin(origin))
	}
	g, code := openAudited(e, name, dir, keyFiles, opts...)
	if g == nil {
		return code
	}
	cpPath := filepath.Join(dir, "audit.checkpoint")
	cp, _ := os.ReadFile(cpPath)
	var oldPin []byte
	if pin != "" {
		var err error
		if oldPin, err = os.ReadFile(pin); err != nil && !errors.Is(err, os.ErrNotExist) {
			return e.usagef("%s: %s: %v", name, pinFrom, err)
		}
	}

	if err := g.Verify(context.Background()); err != nil {
		return verifyFailure(e, name, dir, pin, err)
	}
	entries, _ := checkpointSize(cp)
	fmt.Fprintf(e.stdout, "%s: the audit log (%d entries), its checkpoint and the genome files verify\n", dir, entries)
	if pin == "" || len(cp) == 0 {
		return exitOK
	}
	// Pin what was verified: a checkpoint replaced since is not pinned.
	if now, err := os.ReadFile(cpPath); err != nil || !bytes.Equal(now, cp) {
		return e.failf(exitFailure, "%s: %s changed while it was verified (a write in progress?): %s was not moved; run again", name, cpPath, pin)
	}
	if bytes.Equal(oldPin, cp) {
		fmt.Fprintf(e.stdout, "the pin %s holds this checkpoint already (%d entries)\n", pin, entries)
		return exitOK
	}
	if err := os.MkdirAll(filepath.Dir(pin), 0o755); err != nil {
		return e.usagef("%s: %s: %v", name, pinFrom, err)
	}
	if err := atomicfile.Write(pin, cp); err != nil {
		return e.usagef("%s: %s: writing %s: %v", name, pinFrom, pin, err)
	}
	if oldPin == nil {
		fmt.Fprintf(e.stdout, "pinned %s (%d entries) in %s\n", cpPath, entries, pin)
	} else {
		was, _ := checkpointSize(oldPin)
		fmt.Fprintf(e.stdout, "moved the pin %s from %d to %d entries\n", pin, was, entries)
	}
	return exitOK
}

// verifyFailure prints every problem Verify found, one a line, then a
// summary: tampering, or an interrupted write that repair mends. Errors
// that are neither (an unreadable file) are bad input.
func verifyFailure(e *env, name, dir, pin string, err error) int {
	if !isVerifyFailure(err) {
		return e.usagef("%s: %s", name, oneLine(err))
	}
	problems := []error{err}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		problems = j.Unwrap()
	}
	var pinned, genomes, logs bool
	for _, p := range problems {
		printLines(e.stderr, p.Error())
		var ve *guardian.VerifyError
		if errors.As(p, &ve) {
			switch {
			case ve.Part == "pinned checkpoint":
				pinned = true
			case strings.HasPrefix(ve.Part, "genome file") && ve.Kind != guardian.Tampered:
				genomes = true
			case ve.Kind != guardian.Tampered:
				logs = true
			}
		}
	}
	if pinned {
		fmt.Fprintf(e.stderr, "rafael: %s: the log no longer extends the checkpoint pinned in %s: its history was cut back or rewritten; the pin was not moved\n", name, pin)
	}
	if errors.Is(err, guardian.ErrTampered) {
		return e.failf(exitFailure, "%s: %s fails verification: %d problem(s): tampered with, or signed by a key not trusted; restore it from version control and find out who changed it", name, dir, len(problems))
	}
	var fix []string
	if logs {
		fix = append(fix, "run rafael audit repair -dir "+dir)
	}
	if genomes {
		fix = append(fix, "the next proposal (go test -rafael.update) finishes the genome file's write")
	}
	return e.failf(exitFailure, "%s: %s: an interrupted write (a crash or a full disk), not tampering: %s", name, dir, strings.Join(fix, "; "))
}

// checkpointSize reads the tree size, the second line of a checkpoint.
func checkpointSize(cp []byte) (int64, bool) {
	lines := strings.SplitN(string(cp), "\n", 3)
	if len(lines) < 3 {
		return 0, false
	}
	n, err := strconv.ParseInt(lines[1], 10, 64)
	return n, err == nil
}

// isInside reports whether path is dir or lies under it.
func isInside(path, dir string) bool {
	p, err1 := filepath.Abs(path)
	d, err2 := filepath.Abs(dir)
	if err1 != nil || err2 != nil {
		return false
	}
	if rp, err := filepath.EvalSymlinks(filepath.Dir(p)); err == nil {
		p = filepath.Join(rp, filepath.Base(p))
	}
	if rd, err := filepath.EvalSymlinks(d); err == nil {
		d = rd
	}
	rel, err := filepath.Rel(d, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

func auditRepairCommand() *command {
	var dir string
	var keys []string
	var apply bool
	return &command{
		name:    "repair",
		args:    "[-dir testdata/rafael] [-key pub.pem]... [-apply]",
		summary: "show, and with -apply mend, what an interrupted write left in the audit log",
		help: `Repair finds what an interrupted write (a crash or a full disk) left in
DIR/audit.jsonl: a torn last line, and genuine entries the checkpoint does not
cover yet. It shows them and changes nothing; with -apply it removes the torn
line and seals the log with a new checkpoint, signed with $RAFAEL_SIGNING_KEY
(which moves $RAFAEL_AUDIT_PIN along when set). A log that fails verification
for any other reason is tampered with: repair refuses it (exit 1) and never
mends it. The trusted keys are those of audit verify.`,
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&dir, "dir", filepath.Join("testdata", "rafael"), "the guardian's directory")
			keysFlag(fs, "key", "a trusted public key file (PEM PKIX Ed25519, one or more blocks); repeat for several", &keys)
			fs.BoolVar(&apply, "apply", false, "remove the torn line and seal the log (needs $"+guardian.SigningKeyEnv+")")
		},
		run: func(e *env, args []string) int {
			if len(args) != 0 {
				return e.usagef("audit repair: unexpected argument %q: give the directory with -dir", args[0])
			}
			return auditRepair(e, dir, keys, apply)
		},
	}
}

func auditRepair(e *env, dir string, keyFiles []string, apply bool) int {
	const name = "audit repair"
	// The signing key comes from $RAFAEL_SIGNING_KEY, read by Open: it
	// seals the log with -apply.
	g, code := openAudited(e, name, dir, keyFiles,
		guardian.WithPinFile(e.getenv(guardian.PinEnv)), guardian.WithPolicy(e.getenv(guardian.PolicyEnv)))
	if g == nil {
		return code
	}
	r, err := g.Repair(context.Background(), apply)
	if err != nil && isVerifyFailure(err) {
		return guardianFailure(e, name, err)
	}
	w := e.stdout
	logPath := filepath.Join(dir, "audit.jsonl")
	if r.Untouched && err == nil {
		fmt.Fprintf(w, "%s: nothing to repair: no torn line, and the checkpoint covers all %d entries\n", dir, r.Checkpoint)
		return exitOK
	}
	if r.Torn != nil {
		head, more := r.Torn, ""
		if len(head) > 200 {
			head, more = head[:200], " (the first 200)"
		}
		fmt.Fprintf(w, "%s line %d is torn: %d bytes%s, an append that a crash or a full disk interrupted:\n  %q\n", logPath, r.TornLine, len(r.Torn), more, head)
	}
	if r.Unsealed > 0 {
		fmt.Fprintf(w, "%d genuine entries after the %d the checkpoint covers are not sealed (a crash before the seal)\n", r.Unsealed, r.Checkpoint)
	}
	if err != nil {
		return e.usagef("%s: %s", name, oneLine(err))
	}
	if !r.Applied {
		what := "seal the log"
		if r.Torn != nil {
			what = "remove the torn line and seal the log"
		}
		fmt.Fprintf(w, "nothing changed; run again with -apply to %s (needs $%s)\n", what, guardian.SigningKeyEnv)
		return exitOK
	}
	if r.Torn != nil {
		fmt.Fprintf(w, "removed the torn line %d (%d bytes)\n", r.TornLine, len(r.Torn))
	}
	fmt.Fprintf(w, "sealed the log: %s covers %d entries\n", filepath.Join(dir, "audit.checkpoint"), r.Checkpoint)
	return exitOK
}

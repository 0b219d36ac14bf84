package guardian

import (
	"crypto/ed25519"
	"errors"
	"fmt"
)

// ErrTampered is matched (with errors.Is) by every [VerifyError] that shows
// the record was changed: a changed byte, a deleted, moved, duplicated or
// forged entry, a cut log, a signature by an untrusted key, a forged or
// foreign checkpoint, a history that no longer extends a pinned checkpoint.
var ErrTampered = errors.New("guardian: audit record fails verification")

// ErrInterrupted is matched by a [VerifyError] that shows a write was
// interrupted, not tampered with: a torn last line (a crash or a full disk
// in the middle of an append), genuine entries the checkpoint does not
// cover yet (a crash before the seal), or a genome file still holding the
// genome an adoption replaced (a crash before the file was written).
// [Guardian.Repair] with apply mends all three; the next Propose mends the
// last two by itself.
var ErrInterrupted = errors.New("guardian: an audit write was interrupted")

// Kind says what a [VerifyError] shows.
type Kind uint8

// The kinds of problem.
const (
	Tampered Kind = iota // the record was changed or forged
	Torn                 // the last line is incomplete: an append was interrupted
	Unsealed             // genuine entries after the checkpoint: a seal was interrupted
)

// VerifyError is one problem found by [Verify]: where it is and what is
// wrong.
type VerifyError struct {
	Part    string // "log" (or ""), "checkpoint", "pinned checkpoint", "policy" or a genome file's name
	Line    int    // 1-based line of the log, when Part is "log"
	Seq     int64  // the entry's sequence number, when it could be read
	Kind    Kind
	Problem string
}

// Error returns "guardian: audit log line 4 (seq 4): <problem>" or
// "guardian: audit checkpoint: <problem>".
func (e *VerifyError) Error() string {
	switch {
	case e.Part != "" && e.Part != "log":
		return "guardian: audit " + e.Part + ": " + e.Problem
	case e.Seq != 0:
		return fmt.Sprintf("guardian: audit log line %d (seq %d): %s", e.Line, e.Seq, e.Problem)
	}
	return fmt.Sprintf("guardian: audit log line %d: %s", e.Line, e.Problem)
}

// Is reports whether target is ErrTampered (for a Tampered problem) or
// ErrInterrupted (for a Torn or Unsealed one).
func (e *VerifyError) Is(target error) bool {
	if e.Kind == Tampered {
		return target == ErrTampered
	}
	return target == ErrInterrupted
}

// Trust is what an audit record is verified against. None of it may come
// from the directory the record lives in: whoever can write that directory
// may hold no key.
type Trust struct {
	// Keys may sign entries and checkpoints. At least one is required.
	Keys []ed25519.PublicKey
	// Pinned is a checkpoint accepted earlier, if any: the log must still
	// hold the entries it covered, unchanged.
	Pinned []byte
	// Origin, if set, must be the checkpoint's origin line.
	Origin string
	// Policy, if set, is the digest of an approver policy the log must
	// have adopted (its first, or a later one the team pinned).
	Policy string
}

// Verify checks an audit log (the contents of audit.jsonl) and its signed
// checkpoint offline: every line is an entry whose sequence number and
// previous hash continue the chain, whose time is UTC and not earlier than
// the one before, whose DSSE envelope is signed by a trusted key over an
// in-toto statement repeating the entry's fields, and whose record follows
// from those before (the log opens with its approver policy); the
// checkpoint is signed by a trusted key and its Merkle root covers exactly
// the log's entries; a pinned checkpoint is a prefix of the log. It returns
// nil or the problems found, joined, each a *VerifyError; it stops after
// 20, so a pathological log costs bounded memory and output.
func Verify(log, checkpoint []byte, t Trust) error {
	if len(t.Keys) == 0 {
		return errNoTrustedKeys
	}
	h := load(log, checkpoint, t, true)
	h.checkPolicyPin(t.Policy)
	return errors.Join(h.problems...)
}

var errNoTrustedKeys = fmt.Errorf("guardian: verify: no trusted keys: give the public keys that sign the audit log from outside its directory (rafael audit verify -key pub.pem, or $%s)", AuditKeysEnv)

func lineOf(err error) int {
	if ve, ok := err.(*VerifyError); ok {
		return ve.Line
	}
	return 0
}

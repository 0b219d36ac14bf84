package guardian

import (
	"cmp"
	"crypto/ed25519"
	"errors"
	"fmt"
	"slices"
)

// ErrTampered is matched (with errors.Is) by every [VerifyError].
var ErrTampered = errors.New("guardian: audit record fails verification")

// VerifyError is one problem found by [Verify]: where it is and what is
// wrong.
type VerifyError struct {
	Part    string // "log", "checkpoint" or "pinned checkpoint"
	Line    int    // 1-based line of the log, when Part is "log"
	Seq     int64  // the entry's sequence number, when it could be read
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

// Is reports whether target is ErrTampered.
func (e *VerifyError) Is(target error) bool { return target == ErrTampered }

// Trust is what an audit record is verified against.
type Trust struct {
	// Keys may sign entries and checkpoints. At least one is required.
	Keys []ed25519.PublicKey
	// Pinned is a checkpoint accepted earlier, if any: the log must still
	// hold the entries it covered, unchanged.
	Pinned []byte
	// Origin, if set, must be the checkpoint's origin line.
	Origin string
}

// Verify checks an audit log (the contents of audit.jsonl) and its signed
// checkpoint offline: every line is an entry whose sequence number and
// previous hash continue the chain, whose time is UTC and not earlier than
// the one before, whose DSSE envelope is signed by a trusted key over an
// in-toto statement repeating the entry's fields; the checkpoint is signed
// by a trusted key and its Merkle root covers exactly the log's entries;
// a pinned checkpoint is a prefix of the log. It returns nil or every
// problem found, joined, each a *VerifyError.
func Verify(log, checkpoint []byte, t Trust) error {
	if len(t.Keys) == 0 {
		return errors.New("guardian: verify: no trusted keys: pass the public keys that sign the audit log in Trust.Keys")
	}
	lines := splitLog(log)
	errs := chainProblems(lines)
	errs = append(errs, signatureProblems(lines, t.Keys)...)
	slices.SortStableFunc(errs, func(a, b error) int { return cmp.Compare(lineOf(a), lineOf(b)) })
	tree, err := treeOf(lines)
	if err != nil {
		return fmt.Errorf("guardian: verify: building the Merkle tree: %w", err)
	}
	n := int64(len(lines))
	head, cerrs := checkHead("checkpoint", checkpoint, tree, n, t)
	errs = append(errs, cerrs...)
	if len(t.Pinned) > 0 {
		pinned, perrs := checkHead("pinned checkpoint", t.Pinned, tree, n, t)
		errs = append(errs, perrs...)
		if head != nil && pinned != nil && pinned.Origin != head.Origin {
			errs = append(errs, &VerifyError{Part: "pinned checkpoint", Problem: fmt.Sprintf("origin %q differs from the checkpoint's %q", pinned.Origin, head.Origin)})
		}
	}
	return errors.Join(errs...)
}

// checkHead verifies one signed checkpoint against the tree of n entries.
// The current checkpoint must cover all of them; a pinned one a prefix.
func checkHead(part string, data []byte, tree *merkle, n int64, t Trust) (*checkpoint, []error) {
	bad := func(format string, args ...any) []error {
		return []error{&VerifyError{Part: part, Problem: fmt.Sprintf(format, args...)}}
	}
	if len(data) == 0 {
		if n == 0 {
			return nil, nil
		}
		return nil, bad("is missing, so nothing seals the %d entries", n)
	}
	c, err := openCheckpoint(data, t.Keys)
	if err != nil {
		return nil, bad("%v", err)
	}
	if t.Origin != "" && c.Origin != t.Origin {
		return &c, bad("origin %q, want %q", c.Origin, t.Origin)
	}
	if c.Size > n {
		return &c, bad("covers %d entries but the log has %d: entries were removed", c.Size, n)
	}
	root, err := tree.root(c.Size)
	if err != nil {
		return &c, bad("%v", err)
	}
	if root != c.Root {
		return &c, bad("Merkle root of the first %d entries does not match: an entry was changed, moved or removed", c.Size)
	}
	if part == "checkpoint" && c.Size < n {
		return &c, bad("covers %d entries but the log has %d: entries %d–%d are not sealed", c.Size, n, c.Size+1, n)
	}
	return &c, nil
}

// signatureProblems opens every decodable entry's envelope.
func signatureProblems(lines []line, keys []ed25519.PublicKey) []error {
	byPrint := make(map[string]ed25519.PublicKey, len(keys))
	for _, k := range keys {
		byPrint[fingerprint(k)] = k
	}
	problems := make([]error, len(lines))
	forEach(len(lines), func(i int) {
		if l := &lines[i]; l.err == nil {
			if err := openEntry(&l.entry, byPrint); err != nil {
				problems[i] = &VerifyError{Line: l.no, Seq: l.entry.Seq, Problem: err.Error()}
			}
		}
	})
	var out []error
	for _, p := range problems {
		if p != nil {
			out = append(out, p)
		}
	}
	return out
}

func lineOf(err error) int {
	if ve, ok := err.(*VerifyError); ok {
		return ve.Line
	}
	return 0
}

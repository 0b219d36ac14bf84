package guardian

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"time"
)

// Limits on what the guardian reads, so that a pathological file in the
// directory costs bounded memory and prints a bounded report.
const (
	maxLogBytes        = 256 << 20 // audit.jsonl
	maxLineBytes       = 1 << 20   // one audit entry
	maxCheckpointBytes = 64 << 10  // audit.checkpoint, a pinned checkpoint
	maxConfigBytes     = 1 << 20   // guardian.json
	maxApprovalBytes   = 64 << 10  // one approval
	maxGenomeBytes     = 1 << 20   // a genome file
	maxProblems        = 20        // problems reported before verification stops
	chunkLines         = 512       // lines decoded at once
)

// line is one entry of the log being read: its bytes, their hash, and what
// they decode to.
type line struct {
	no    int    // 1-based line number
	raw   []byte // the line without its newline
	hash  string // lineHash(raw)
	entry entry
	rec   record
	err   error // why the line is not a genuine entry, or nil
	check bool  // its signature is to be checked
}

// history is an audit log read and checked against a Trust: where it ends,
// what happened to every proposal and module, the policy in force, and
// every problem found (at most maxProblems).
type history struct {
	n         int64        // entries read
	read      int64        // bytes of the log they take, newlines included
	written   []byte       // bytes this process appended since the log was read
	held      func() error // the directory's lock is still this process's; nil when not locked
	head      EntryRef     // the last entry
	last      time.Time    // its time
	tree      merkle       // over every entry read
	sealed    int64        // entries the checkpoint covers, when it verifies
	origin    string       // the checkpoint's origin
	tornTail  []byte       // an incomplete last line, if any
	problems  []error
	stopped   bool // too many problems: the rest of the log was not read
	policy    *policyState
	policies  map[string]bool // digests of every policy adopted
	first     string          // the first policy's digest
	proposals map[string]*proposalState
	modules   map[string][]written // adoptions and rollbacks per module, oldest first
}

// written is an entry that wrote a genome file: an adoption or a rollback.
type written struct {
	record
	ref EntryRef
}

// policyState is the approver policy in force and the entry that adopted it.
type policyState struct {
	digest string
	raw    []byte
	cfg    Config
	ref    EntryRef
}

// proposalState is what the log says of one proposal (by digest) since it
// was last proposed.
type proposalState struct {
	kind      string // "genome" or "policy"
	module    string
	from, to  string
	at        EntryRef // its "proposed" entry: what approvals bind to
	proposer  string   // fingerprint of the key that signed that entry
	label     string   // the proposer's free-form label
	open      bool     // proposed and neither adopted nor rejected since
	adopted   bool     // the last word on it was adoption
	approvers map[string]bool
	last      EntryRef
	rec       record // the proposed entry's record (change, impact filled by evaluated)
}

// hasTampering reports whether a problem other than an interrupted write
// (a torn or unsealed tail) was found.
func (h *history) hasTampering() bool {
	for _, err := range h.problems {
		if errors.Is(err, ErrTampered) {
			return true
		}
	}
	return false
}

// problem records a problem; it reports false once the cap is reached.
func (h *history) problem(err error) bool {
	if h.stopped {
		return false
	}
	if len(h.problems) >= maxProblems {
		h.stopped = true
		h.problems = append(h.problems, &VerifyError{Line: lineOf(err), Problem: fmt.Sprintf("more than %d problems: verification stopped here; the rest of the log was not read", maxProblems)})
		return false
	}
	h.problems = append(h.problems, err)
	return true
}

// load reads and checks an audit log and its checkpoint against t. With
// full, every entry's signature is checked; otherwise only those the
// checkpoint does not cover, since a trusted checkpoint's Merkle root
// already commits to every byte of the rest.
func load(log, cp []byte, t Trust, full bool) *history {
	return newHistory().extend(log, cp, t, full)
}

func newHistory() *history {
	return &history{policies: map[string]bool{}, proposals: map[string]*proposalState{}, modules: map[string][]written{}}
}

// extend reads the entries of log past those h has read already (log must
// begin with the very bytes h read: see Guardian.resume) and checks the
// whole against the checkpoint and the trust, as load does.
func (h *history) extend(log, cp []byte, t Trust, full bool) *history {
	h.problems, h.stopped, h.tornTail, h.sealed, h.origin = nil, false, nil, 0, ""
	keys := make(map[string]ed25519.PublicKey, len(t.Keys))
	for _, k := range t.Keys {
		keys[fingerprint(k)] = k
	}
	var c *checkpoint
	if len(cp) > 0 {
		if opened, err := openCheckpoint(cp, t.Keys); err != nil {
			h.problem(&VerifyError{Part: "checkpoint", Problem: err.Error()})
		} else {
			c = &opened
			h.origin = c.Origin
		}
	}
	covered := int64(0)
	if c != nil && !full {
		covered = c.Size
	}
	h.readLines(log[h.read:], keys, covered)
	h.checkHead(c, len(cp) > 0, t)
	if len(t.Pinned) > 0 {
		h.checkPinned(t)
	}
	return h
}

// checkPolicyPin checks that the log adopted the policy pinned from
// outside (its first, or a later one the team pinned since).
func (h *history) checkPolicyPin(pin string) {
	if pin != "" && !h.hasTampering() && h.n > 0 && !h.policies[pin] {
		h.problem(&VerifyError{Part: "policy", Problem: fmt.Sprintf("the pinned policy %s was never adopted in this log (its first policy is %s): the history was replaced, or the pin is stale", short(pin), short(h.first))})
	}
}

// readLines reads the log in chunks: split and hash, decode and check
// signatures in parallel, then chain-check and fold into the history in
// order. It stops at the problem cap, so a pathological log is not read
// to its end.
func (h *history) readLines(log []byte, keys map[string]ed25519.PublicKey, covered int64) {
	chunk := make([]line, 0, chunkLines)
	for no := int(h.n) + 1; len(log) > 0 && !h.stopped; {
		chunk = chunk[:0]
		for len(chunk) < chunkLines && len(log) > 0 {
			raw, rest, found := bytes.Cut(log, []byte{'\n'})
			log = rest
			if !found {
				h.tornTail = raw
				h.problem(&VerifyError{Line: no, Kind: Torn, Problem: fmt.Sprintf("is incomplete (%d bytes, no newline): an append was interrupted (a crash or a full disk); rafael audit repair shows it and removes it when asked", len(raw))})
				break
			}
			chunk = append(chunk, line{no: no, raw: raw})
			no++
		}
		forEach(len(chunk), func(i int) {
			l := &chunk[i]
			l.check = int64(l.no) > covered
			l.decode(keys)
		})
		for i := range chunk {
			if !h.fold(&chunk[i]) {
				return
			}
		}
	}
}

// decode parses the line into its entry and record, and checks the
// signature when asked to.
func (l *line) decode(keys map[string]ed25519.PublicKey) {
	sum := sha256.Sum256(l.raw)
	l.hash = "sha256:" + hex.EncodeToString(sum[:])
	switch {
	case len(l.raw) == 0:
		l.err = errors.New("is empty")
	case len(l.raw) > maxLineBytes:
		l.err = fmt.Errorf("is %d bytes, over the %d-byte limit of an entry", len(l.raw), maxLineBytes)
	default:
		l.err = decodeEntry(l.raw, &l.entry)
	}
	if l.err == nil {
		l.rec, l.err = openEntry(&l.entry, keys, l.check)
	}
}

// fold chain-checks one decoded line and applies its record; it reports
// false when the problem cap stops the reading.
func (h *history) fold(l *line) bool {
	h.read += int64(len(l.raw)) + 1
	if err := h.tree.add(h.n, l.raw); err != nil {
		return h.problem(&VerifyError{Line: l.no, Problem: err.Error()})
	}
	h.n++
	if l.err != nil {
		ok := h.problem(&VerifyError{Line: l.no, Seq: l.entry.Seq, Problem: l.err.Error()})
		h.head = EntryRef{Seq: h.n, Hash: l.hash}
		return ok
	}
	e := &l.entry
	bad := func(format string, args ...any) bool {
		return h.problem(&VerifyError{Line: l.no, Seq: e.Seq, Problem: fmt.Sprintf(format, args...)})
	}
	ok := true
	if e.Seq != h.n {
		ok = bad("sequence number is %d, want %d (an entry was deleted, duplicated or moved)", e.Seq, h.n)
	}
	if e.Prev != h.head.Hash {
		ok = ok && bad("previous hash %s does not match line %d (%s)", short(e.Prev), l.no-1, short(h.head.Hash))
	}
	tm, err := time.Parse(time.RFC3339Nano, e.Time)
	switch {
	case err != nil || tm.Location() != time.UTC:
		ok = ok && bad("time %q is not an RFC 3339 UTC time", e.Time)
	case tm.Before(h.last):
		ok = ok && bad("time %s is before the previous entry's %s", e.Time, h.last.Format(time.RFC3339Nano))
	default:
		h.last = tm
	}
	h.head = EntryRef{Seq: h.n, Hash: l.hash}
	// Once an entry is not genuine, the records after it may refer to
	// it: their own flaws would only repeat the first problem.
	if err := h.apply(l.rec, h.head, e.Signer); err != nil && len(h.problems) == 0 {
		ok = bad("%v", err)
	}
	return ok && !h.stopped
}

// checkHead checks the checkpoint against the entries read: its Merkle root
// covers a prefix and, unless an append was interrupted before its seal,
// all of them.
func (h *history) checkHead(c *checkpoint, present bool, t Trust) {
	bad := func(kind Kind, format string, args ...any) {
		h.problem(&VerifyError{Part: "checkpoint", Kind: kind, Problem: fmt.Sprintf(format, args...)})
	}
	switch {
	case h.stopped:
		return
	case !present && h.n > 0:
		bad(Tampered, "is missing, so nothing seals the %d entries: restore audit.checkpoint from version control", h.n)
		return
	case c == nil:
		return
	case t.Origin != "" && c.Origin != t.Origin:
		bad(Tampered, "origin %q, want %q: this log belongs to another directory or module (copied here?)", c.Origin, t.Origin)
	}
	switch {
	case c.Size > h.n:
		bad(Tampered, "covers %d entries but the log has %d: entries were removed", c.Size, h.n)
		return
	}
	root, err := h.tree.root(c.Size)
	if err != nil || root != c.Root {
		bad(Tampered, "Merkle root of the first %d entries does not match: an entry was changed, moved or removed", c.Size)
		return
	}
	h.sealed = c.Size
	if c.Size < h.n && !h.hasTampering() {
		bad(Unsealed, "covers %d entries but the log has %d: entries %d–%d are genuine but not sealed (an append was interrupted before its seal: a crash); the next proposal or rafael audit repair seals them", c.Size, h.n, c.Size+1, h.n)
	}
}

// checkPinned checks that the log still extends a checkpoint accepted
// earlier: the same origin, and a prefix with the same Merkle root.
func (h *history) checkPinned(t Trust) {
	bad := func(format string, args ...any) {
		h.problem(&VerifyError{Part: "pinned checkpoint", Problem: fmt.Sprintf(format, args...)})
	}
	p, err := openCheckpoint(t.Pinned, t.Keys)
	switch {
	case h.stopped:
		return
	case err != nil:
		bad("%v", err)
		return
	case h.origin != "" && p.Origin != h.origin:
		bad("origin %q differs from the checkpoint's %q", p.Origin, h.origin)
		return
	case p.Size > h.n:
		bad("covers %d entries but the log has %d: the history was cut or rolled back to an older state", p.Size, h.n)
		return
	}
	if root, err := h.tree.root(p.Size); err != nil || root != p.Root {
		bad("the first %d entries differ from those the pinned checkpoint sealed: the history was rewritten", p.Size)
	}
}

// forEach calls fn(0) … fn(n-1), spread over the available processors when
// n is large enough to repay it. It returns when every call has returned.
func forEach(n int, fn func(i int)) {
	workers := min(runtime.GOMAXPROCS(0), 1+n/64)
	if workers <= 1 {
		for i := range n {
			fn(i)
		}
		return
	}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := w; i < n; i += workers {
				fn(i)
			}
		})
	}
	wg.Wait()
}

func decodeEntry(raw []byte, e *entry) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(e); err != nil {
		return fmt.Errorf("is not an audit entry: %v", err)
	}
	if dec.More() {
		return errors.New("has data after the entry")
	}
	return nil
}

// openEntry decodes an entry's signed statement and, with check, verifies
// its signature by a trusted key (by fingerprint); the statement must
// repeat the entry's fields and name the record's subject.
func openEntry(e *entry, keys map[string]ed25519.PublicKey, check bool) (record, error) {
	var payload []byte
	if check {
		k, ok := keys[e.Signer]
		if !ok {
			return record{}, fmt.Errorf("signed by key %s, which is not trusted (a forged entry, or a key missing from -key / %s)", e.Signer, AuditKeysEnv)
		}
		p, _, err := e.Envelope.open([]ed25519.PublicKey{k})
		if err != nil {
			return record{}, fmt.Errorf("envelope: %v", err)
		}
		payload = p
	} else {
		p, err := decodeBase64(e.Envelope.Payload)
		if err != nil {
			return record{}, errors.New("envelope payload is not base64")
		}
		payload = p
	}
	var st statement[record]
	if err := json.Unmarshal(payload, &st); err != nil {
		return record{}, fmt.Errorf("signed payload is not an in-toto statement: %v", err)
	}
	r := &st.Predicate
	switch {
	case st.Type != statementType || st.PredicateType != auditPredicate:
		return record{}, fmt.Errorf("statement type %q / predicate %q, want %q / %q", st.Type, st.PredicateType, statementType, auditPredicate)
	case r.Seq != e.Seq || r.Prev != e.Prev || r.Time != e.Time || r.Actor != e.Actor || r.Event != e.Event:
		return record{}, errors.New("seq, prev, time, actor or event differs from what was signed")
	case len(st.Subject) != 1 || st.Subject[0].Digest["sha256"] == "" || "sha256:"+st.Subject[0].Digest["sha256"] != r.To:
		return record{}, errors.New("statement subject is not the digest the entry records")
	}
	return *r, nil
}

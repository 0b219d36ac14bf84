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

// entry is one line of audit.jsonl.
type entry struct {
	Seq      int64    `json:"seq"`
	Prev     string   `json:"prev"`  // hash of the previous line, "" for the first
	Time     string   `json:"time"`  // UTC, RFC 3339
	Actor    string   `json:"actor"` // who caused the event
	Event    string   `json:"event"`
	Signer   string   `json:"signer"` // fingerprint of the key that signed the envelope
	Envelope envelope `json:"envelope"`
}

// lineHash is the hash that the next entry's Prev names.
func lineHash(line []byte) string {
	sum := sha256.Sum256(line)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// newEntry builds and signs the entry for rec, filling in the chain fields.
func newEntry(rec record, subjectName string, key ed25519.PrivateKey) ([]byte, error) {
	st := statement[record]{
		Type:          statementType,
		Subject:       []subject{subjectOf(subjectName, rec.To)},
		PredicateType: auditPredicate,
		Predicate:     rec,
	}
	payload, err := json.Marshal(st)
	if err != nil {
		return nil, fmt.Errorf("encoding the %s statement: %w", rec.Event, err)
	}
	e := entry{
		Seq: rec.Seq, Prev: rec.Prev, Time: rec.Time, Actor: rec.Actor, Event: rec.Event,
		Signer:   fingerprint(key.Public().(ed25519.PublicKey)),
		Envelope: sealEnvelope(payload, key),
	}
	return json.Marshal(e)
}

// line is one parsed line of the log.
type line struct {
	no    int    // 1-based line number
	raw   []byte // the line without its newline
	entry entry
	err   error // why the line is not an entry, or nil
}

// splitLog cuts the log into lines and decodes them (in parallel). A final
// line without a newline is kept and flagged: it is what a crash in the
// middle of an append leaves.
func splitLog(data []byte) []line {
	out := make([]line, 0, bytes.Count(data, []byte{'\n'})+1)
	for no := 1; len(data) > 0; no++ {
		raw, rest, found := bytes.Cut(data, []byte{'\n'})
		l := line{no: no, raw: raw}
		switch {
		case !found:
			l.err = errors.New("is incomplete (no newline): an append was interrupted, or the file was cut")
		case len(raw) == 0:
			l.err = errors.New("is empty")
		}
		out = append(out, l)
		data = rest
	}
	forEach(len(out), func(i int) {
		if l := &out[i]; l.err == nil {
			l.err = decodeEntry(l.raw, &l.entry)
		}
	})
	return out
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

// chainProblems checks what needs no key: every line decodes, sequence
// numbers count up from 1, each entry names the hash of the line before it,
// and times are UTC and do not go backwards.
func chainProblems(lines []line) []error {
	var errs []error
	var prevTime time.Time
	for i, l := range lines {
		if l.err != nil {
			errs = append(errs, &VerifyError{Line: l.no, Problem: l.err.Error()})
			continue
		}
		e := &l.entry
		bad := func(format string, args ...any) {
			errs = append(errs, &VerifyError{Line: l.no, Seq: e.Seq, Problem: fmt.Sprintf(format, args...)})
		}
		if want := int64(i + 1); e.Seq != want {
			bad("sequence number is %d, want %d (an entry was deleted, duplicated or moved)", e.Seq, want)
		}
		wantPrev := ""
		if i > 0 {
			wantPrev = lineHash(lines[i-1].raw)
		}
		if e.Prev != wantPrev {
			bad("previous hash %s does not match line %d (%s)", short(e.Prev), i, short(wantPrev))
		}
		t, err := time.Parse(time.RFC3339Nano, e.Time)
		switch {
		case err != nil || t.Location() != time.UTC:
			bad("time %q is not an RFC 3339 UTC time", e.Time)
		case t.Before(prevTime):
			bad("time %s is before the previous entry's %s", e.Time, prevTime.Format(time.RFC3339Nano))
		default:
			prevTime = t
		}
	}
	return errs
}

// recordHead is the part of a record that verification compares with the
// entry; decoding only it keeps verification cheap.
type recordHead struct {
	Event string `json:"event"`
	Seq   int64  `json:"seq"`
	Prev  string `json:"prev"`
	Time  string `json:"time"`
	Actor string `json:"actor"`
	To    string `json:"to"`
}

// openEntry checks the signature of an entry with the keys trusted, by
// fingerprint, and that the signed statement repeats the entry's fields.
func openEntry(e *entry, keys map[string]ed25519.PublicKey) error {
	k, ok := keys[e.Signer]
	if !ok {
		return fmt.Errorf("signed by key %s, which is not trusted", e.Signer)
	}
	payload, _, err := e.Envelope.open([]ed25519.PublicKey{k})
	if err != nil {
		return fmt.Errorf("envelope: %v", err)
	}
	var st statement[recordHead]
	if err := json.Unmarshal(payload, &st); err != nil {
		return fmt.Errorf("signed payload is not an in-toto statement: %v", err)
	}
	r := &st.Predicate
	switch {
	case st.Type != statementType || st.PredicateType != auditPredicate:
		return fmt.Errorf("statement type %q / predicate %q, want %q / %q", st.Type, st.PredicateType, statementType, auditPredicate)
	case r.Seq != e.Seq || r.Prev != e.Prev || r.Time != e.Time || r.Actor != e.Actor || r.Event != e.Event:
		return errors.New("seq, prev, time, actor or event differs from what was signed")
	case len(st.Subject) != 1 || st.Subject[0].Digest["sha256"] == "" || "sha256:"+st.Subject[0].Digest["sha256"] != r.To:
		return errors.New("statement subject is not the proposed genome's digest")
	}
	return nil
}

// short abbreviates a digest for a message.
func short(digest string) string {
	if digest == "" {
		return `""`
	}
	if len(digest) > 19 {
		return digest[:19] + "…"
	}
	return digest
}

package guardian

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
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

package guardian

import (
	"encoding/json"
	"strings"

	"github.com/rafaelabs/rafael/genome"
)

// in-toto Statement v1 (https://github.com/in-toto/attestation/blob/main/spec/v1/statement.md).
const (
	statementType     = "https://in-toto.io/Statement/v1"
	auditPredicate    = "https://github.com/rafaelabs/rafael/guardian/audit/v1"
	approvalPredicate = "https://github.com/rafaelabs/rafael/guardian/approval/v1"
)

// statement is an in-toto Statement v1 with a typed predicate. The JSON
// field names are the specification's, not Go's defaults.
type statement[P any] struct {
	Type          string    `json:"_type"`
	Subject       []subject `json:"subject"`
	PredicateType string    `json:"predicateType"`
	Predicate     P         `json:"predicate"`
}

// subject names an artifact by its digests ({"sha256": "<hex>"}).
type subject struct {
	Name   string            `json:"name"`
	Digest map[string]string `json:"digest"`
}

// subjectOf turns a "sha256:<hex>" digest into an in-toto subject.
func subjectOf(name, digest string) subject {
	alg, hex, _ := strings.Cut(digest, ":")
	return subject{Name: name, Digest: map[string]string{alg: hex}}
}

// The audit events, one entry each.
const (
	eventProposed   = "proposed"
	eventEvaluated  = "evaluated"
	eventApproved   = "approved"
	eventAdopted    = "adopted"
	eventRejected   = "rejected"
	eventRolledBack = "rolled-back"

	eventPolicyProposed = "policy-proposed" // guardian.json differs from the policy in force
	eventPolicyAdopted  = "policy-adopted"  // the first policy, or a change approved under the previous one
)

// The kinds of proposal.
const (
	kindGenome = "genome"
	kindPolicy = "policy"
)

// record is the predicate of an audit entry. Seq, Prev, Time, Actor and
// Event repeat the entry's own fields so that the signature covers them.
type record struct {
	Event    string          `json:"event"`
	Seq      int64           `json:"seq"`
	Prev     string          `json:"prev"`
	Time     string          `json:"time"`
	Actor    string          `json:"actor"`
	Module   string          `json:"module"`
	Proposal string          `json:"proposal"`           // digest of the proposal approvers sign
	From     string          `json:"from"`               // digest of the genome being replaced
	To       string          `json:"to"`                 // digest of the proposed genome (the subject)
	Change   []changeRecord  `json:"change,omitempty"`   // proposed
	Evidence string          `json:"evidence,omitempty"` // proposed: digest of the evidence
	Impact   *Impact         `json:"impact,omitempty"`   // evaluated
	Rules    []RuleResult    `json:"rules,omitempty"`    // evaluated
	Approval *approvalRecord `json:"approval,omitempty"` // approved
	Genome   json.RawMessage `json:"genome,omitempty"`   // proposed, adopted, rolled-back: the genome written
	Replaced json.RawMessage `json:"replaced,omitempty"` // adopted, rolled-back: the genome replaced, for Rollback
	Reason   string          `json:"reason,omitempty"`   // adopted, rejected, rolled-back
	Threats  []string        `json:"threats,omitempty"`  // proposed: the threats the evidence covers
	Policy   json.RawMessage `json:"policy,omitempty"`   // policy-proposed, policy-adopted: guardian.json, canonical
	Origin   string          `json:"origin,omitempty"`   // policy-adopted (the first): the log's origin
}

// changeRecord is one genome.Change as the audit record keeps it.
type changeRecord struct {
	Kind  string `json:"kind"` // "changed", "added" or "removed"
	Field string `json:"field"`
	From  string `json:"from,omitempty"`
	To    string `json:"to,omitempty"`
}

func changeRecords(d genome.Delta) []changeRecord {
	out := make([]changeRecord, len(d))
	for i, c := range d {
		r := changeRecord{Kind: "changed", Field: c.Field, From: c.From, To: c.To}
		switch c.Kind {
		case genome.Added:
			r.Kind, r.Field = "added", c.Gene.String()
		case genome.Removed:
			r.Kind, r.Field = "removed", c.Gene.String()
		}
		out[i] = r
	}
	return out
}

// approvalRecord is a counted approval as the "approved" entry keeps it,
// with the approver's signed envelope as evidence.
type approvalRecord struct {
	Approver string          `json:"approver"`
	Role     string          `json:"role,omitempty"`
	Key      string          `json:"key"` // fingerprint of the approver's public key
	Envelope json.RawMessage `json:"envelope"`
}

// approval is the predicate of a signed approval: the proposal's digest
// and the position of its "proposed" entry, so that an approval counts for
// that proposal once and is never reused after a rollback re-proposes it.
type approval struct {
	Proposal string   `json:"proposal"`
	At       EntryRef `json:"at"`
	Actor    string   `json:"actor"` // a free-form label; the key is the identity
}

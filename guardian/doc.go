// Package guardian decides whether an evolved genome may replace a module's
// adopted one, and keeps a record of every such decision that an auditor can
// check offline: who proposed the change, what evidence supported it, which
// rules it passed, who approved it (never its author), and that nothing was
// edited afterwards.
//
// A guardian works in one directory, conventionally testdata/rafael:
//
//	guardian.json          trusted approvers, thresholds, module marks, rules
//	<module>.genome.json   the adopted genome (written only here, atomically)
//	approvals/*.json       signed approvals (DSSE) of pending proposals
//	audit.jsonl            the audit log, one signed entry per event
//	audit.checkpoint       the signed head of the log (a C2SP checkpoint)
//
// # Deciding
//
// [Open] reads the configuration ([Config]) and the signing key.
// [Guardian.Propose] takes a [Proposal], rates it with [Assess] (an [Impact]
// of [Low], [Medium] or [High], with reasons), runs the [Rule]s
// ([BuiltinRules] and any added [WithRules]), counts approvals, and returns a
// [Decision]: [Adopted], [Pending] or [Rejected]. Low impact is adopted
// without approval; medium needs one approver, high two distinct ones; an
// approver who proposed the change does not count. [Approve] makes a signed
// approval of a pending proposal and [Guardian.WriteApproval] stores it.
// [Guardian.Rollback] restores the genome an adoption replaced.
//
// # The record
//
// Each event (proposed, evaluated, approved, adopted, rejected, rolled-back)
// is one line of audit.jsonl with a sequence number, the SHA-256 of the line
// before it, a UTC time, the actor, and an in-toto Statement v1 (subject: the
// proposed genome's digest; predicate: the change, the evidence digest, the
// impact, the rule results, the approval) in a DSSE envelope signed with
// Ed25519. After every append the log is fsynced and audit.checkpoint is
// rewritten: a note (golang.org/x/mod/sumdb/note) over the RFC 6962 Merkle
// root of all lines. An adopted genome file is replaced only after its entry
// is durable; a crash in between is finished by the next Propose.
//
// The signing key comes from [WithSigningKey] or $RAFAEL_SIGNING_KEY
// ([SigningKeyEnv]: a PEM PKCS#8 file or the PEM text); without one an
// ephemeral key signs and [Decision.Trusted] is false. Keys never appear in
// errors or records, only their fingerprints.
//
// # Checking
//
// [Verify] (or [Guardian.Verify]) checks a log and its checkpoint against a
// [Trust] and returns every problem found, each a [*VerifyError] matching
// [ErrTampered]: a changed byte, a deleted, moved or duplicated entry, a cut
// log, a signature by an untrusted key, a forged checkpoint, a history that
// no longer extends a pinned checkpoint. [ParsePublicKey] and
// [ParsePrivateKey] read PEM keys.
package guardian

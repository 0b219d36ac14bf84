// Package guardian decides whether an evolved genome may replace a module's
// adopted one, and keeps a record of every such decision that an auditor can
// check offline: who proposed the change (a key), what evidence supported
// it, which rules it passed, who approved it (never its proposer), under
// which approver policy, and that nothing was edited afterwards.
//
// A guardian works in one directory, conventionally testdata/rafael:
//
//	guardian.json          the approver policy: approvers and their keys, thresholds, modules, rules
//	<module>.genome.json   the adopted genome (written only here, atomically)
//	approvals/*.json       signed approvals (DSSE) of pending proposals
//	audit.jsonl            the audit log, one signed entry per event
//	audit.checkpoint       the signed head of the log (a C2SP checkpoint)
//
// One process writes at a time: it holds a lock (flock) on the directory
// itself, which no writer of the directory can delete.
//
// # Trust
//
// Whoever can write the directory may hold no key, so nothing in it is
// trusted by being there. The keys that verify the log come from outside:
// the signing key ($RAFAEL_SIGNING_KEY, [SigningKeyEnv], or
// [WithSigningKey]; a CI secret), and the other keys that signed entries
// ($RAFAEL_AUDIT_KEYS, [AuditKeysEnv], or [WithTrustedKeys]). Without a
// trusted key, nothing is verified, and without the signing key nothing is
// written.
//
// The approver policy (guardian.json) is recorded in the log: the first
// proposal records it and prints its digest, which a team pins in CI
// ($RAFAEL_GUARDIAN_POLICY, [PolicyEnv]) so that a directory whose history
// and policy were replaced together is caught. After that, a changed
// guardian.json counts only when approved by the policy in force (as TUF
// rotates its root): two of its approvers by default
// (approvals.policy), or by a new pin from outside. Until then it is
// recorded as a pending policy proposal, and decisions follow the policy
// in force. A policy without approvers changes only by a pin.
//
// Every write takes the directory's lock and verifies the whole record
// first, against the trusted keys: a cut, emptied, transplanted (its
// checkpoint names another module or directory: [Origin]) or forged
// history is refused with what was found, and nothing is written. Genuine
// entries past the checkpoint (a crash between an append and its seal) are
// sealed; a torn last line (a crash or a full disk in the middle of an
// append) is told apart from tampering ([ErrInterrupted]) and removed only
// on request ([Guardian.Repair], rafael audit repair). A checkpoint kept
// outside the directory ($RAFAEL_AUDIT_PIN, [PinEnv], or rafael audit
// verify -pin FILE) catches a history rolled back to an older, genuinely
// signed state: the log must extend it, and every write moves it forward.
//
// The guardian reads regular files only: a symbolic link or a named pipe
// where a file should be is refused (never followed, never waited on), an
// entry over 1 MiB or a log over 256 MiB is refused, and verification
// stops after 20 problems, so a pathological log costs bounded memory and
// prints a bounded report.
//
// # Deciding
//
// [Guardian.Propose] takes a [Proposal], rates it with [Assess] (an [Impact]
// of [Low], [Medium] or [High], with reasons), runs the [Rule]s
// ([BuiltinRules] and any added [WithRules]), counts approvals, and returns a
// [Decision]: [Adopted], [Pending] or [Rejected]. Low impact is adopted
// without approval; medium needs one approver, high two distinct ones.
//
// The genome a change replaces is the one the log last adopted for the
// module. A genome file the log never adopted (hand-written with rafael
// init, or planted) is no baseline anyone approved: a module's first
// adoption is assessed from the empty genome (or from Proposal.Old, which
// the calling code vouches for), so its reviewers see the whole genome.
//
// A proposal's digest covers what is proposed (the module, the genome it
// replaces and the one it proposes, the threats, the evidence's digest),
// never when, so the same change proposed by the next run is the same
// proposal. Identities are keys: the proposer is the signing key (with a
// free-form label), and an approval signed by that key never counts, nor
// one by an approver whose name is the label (names compare
// case-insensitively). An approval ([Approve]) binds to the proposal's
// digest and the position of its "proposed" entry, so it counts for that
// proposal only and is never reused after a rollback. [Guardian.Pending]
// lists the open proposals with their impact and changes;
// [Guardian.WriteApproval] stores an approval after checking it approves
// one of them; the next Propose of the change counts it, and adoption makes
// the audit entry durable first, then replaces the genome file atomically.
// [Guardian.Rollback] restores the genome an adoption replaced.
//
// # The record
//
// Each event (policy-adopted, policy-proposed, proposed, evaluated,
// approved, adopted, rejected, rolled-back) is one line of audit.jsonl with
// a sequence number, the SHA-256 of the line before it, a UTC time, the
// actor's label, the signer's key fingerprint, and an in-toto Statement v1
// (subject: the proposed genome's or policy's digest; predicate: the change,
// the evidence digest, the impact, the rule results, the approval) in a
// DSSE envelope signed with Ed25519. After every append the log is fsynced
// and audit.checkpoint is rewritten: a note (golang.org/x/mod/sumdb/note)
// over the RFC 6962 Merkle root of all lines. A failed append (a full disk)
// is truncated back, so it leaves no torn line when the file system allows.
//
// # Checking
//
// [Verify] checks a log and its checkpoint against a [Trust] and returns
// the problems found, each a [*VerifyError] matching [ErrTampered] or
// [ErrInterrupted]. [Guardian.Verify] does the same for a directory and
// also checks every genome file against the entry that last wrote it (a
// genome file the log never adopted is reported). [ParsePublicKey],
// [ParsePrivateKey] and [PublicKeysFromEnv] read PEM keys.
package guardian

package guardian

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/rafaelabs/rafael/internal/atomicfile"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

var digestPattern = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)

// Approve returns a signed approval of the proposal with the given digest
// (Decision.Proposal) whose "proposed" entry is at (Decision.At, or
// [PendingProposal.At]): a DSSE envelope, signed with key, over an in-toto statement
// whose subject is the proposal. label is a free-form name for the
// approver; the key is the identity. Store it with
// [Guardian.WriteApproval]. It counts only if key is an approver's key in
// the policy in force and not the key that proposed the change, and only
// for the proposal at that position: after a rollback, a change proposed
// again needs approving again.
func Approve(proposalDigest string, at EntryRef, key ed25519.PrivateKey, label string) ([]byte, error) {
	switch {
	case !digestPattern.MatchString(proposalDigest):
		return nil, fmt.Errorf("guardian: approve: proposal digest %q: want \"sha256:\" and 64 hex digits, as Decision.Proposal gives", proposalDigest)
	case at.Seq < 1 || !digestPattern.MatchString(at.Hash):
		return nil, fmt.Errorf("guardian: approve: position %+v: want the proposal's entry (seq ≥ 1 and its hash), as Decision.At or PendingProposal.At gives", at)
	case len(key) != ed25519.PrivateKeySize:
		return nil, errors.New("guardian: approve: key is not an Ed25519 private key")
	}
	st := statement[approval]{
		Type:          statementType,
		Subject:       []subject{subjectOf("proposal", proposalDigest)},
		PredicateType: approvalPredicate,
		Predicate:     approval{Proposal: proposalDigest, At: at, Actor: label},
	}
	payload, err := json.Marshal(st)
	if err != nil {
		return nil, err
	}
	return append(marshalEnvelope(sealEnvelope(payload, key)), '\n'), nil
}

// WriteApproval stores an approval made with [Approve] in the approvals
// directory, atomically, and returns its path. It takes the directory's
// lock and verifies the record first, and refuses an approval of anything
// but an open proposal at the position it names, or one not signed by an
// approver of the policy in force.
func (g *Guardian) WriteApproval(ctx context.Context, envelope []byte) (string, error) {
	if len(envelope) > maxApprovalBytes {
		return "", fmt.Errorf("guardian: write approval: %d bytes, over the %d-byte limit", len(envelope), maxApprovalBytes)
	}
	st, err := decodeApproval(envelope)
	if err != nil {
		return "", fmt.Errorf("guardian: write approval: %w", err)
	}
	unlock, _, err := g.lock(ctx)
	if err != nil {
		return "", err
	}
	defer unlock()
	h, err := g.readVerified()
	if err != nil {
		return "", err
	}
	p := h.proposals[st.Predicate.Proposal]
	switch {
	case p == nil || !p.open:
		return "", fmt.Errorf("guardian: write approval: proposal %s is not pending in %s: list the pending ones with rafael approve", short(st.Predicate.Proposal), g.dir)
	case p.at != st.Predicate.At:
		return "", fmt.Errorf("guardian: write approval: it approves the proposal at audit seq %d, but the pending one is at seq %d: approve that one", st.Predicate.At.Seq, p.at.Seq)
	}
	env, _ := decodeEnvelope(envelope)
	if _, _, err := env.open(approverKeys(h.policy.cfg)); err != nil {
		return "", fmt.Errorf("guardian: write approval: not signed by an approver of the policy in force (%s)", short(h.policy.digest))
	}
	if err := os.MkdirAll(g.path(approvalsDir), 0o755); err != nil {
		return "", fmt.Errorf("guardian: write approval: %w", err)
	}
	if _, _, err := listRegular(g.path(approvalsDir), "*.json"); err != nil {
		return "", fmt.Errorf("guardian: write approval: %w", err) // a symbolic link would write elsewhere
	}
	sum := sha256.Sum256(envelope)
	name := st.Predicate.Proposal[len("sha256:"):][:16] + "-" + hex.EncodeToString(sum[:8]) + ".json"
	path := filepath.Join(g.path(approvalsDir), name)
	if err := atomicfile.Write(path, envelope); err != nil {
		return "", fmt.Errorf("guardian: write approval: %w", err)
	}
	return path, nil
}

func approverKeys(c Config) []ed25519.PublicKey {
	keys := make([]ed25519.PublicKey, len(c.Approvers))
	for i, a := range c.Approvers {
		keys[i] = a.Key
	}
	return keys
}

// decodeApproval reads an approval envelope without checking its signature.
func decodeApproval(data []byte) (statement[approval], error) {
	var st statement[approval]
	env, err := decodeEnvelope(data)
	if err != nil {
		return st, err
	}
	payload, err := decodeBase64(env.Payload)
	if err != nil {
		return st, errors.New("payload is not base64")
	}
	if err := json.Unmarshal(payload, &st); err != nil {
		return st, fmt.Errorf("payload is not an in-toto statement: %v", err)
	}
	if st.Type != statementType || st.PredicateType != approvalPredicate || !digestPattern.MatchString(st.Predicate.Proposal) ||
		len(st.Subject) != 1 || "sha256:"+st.Subject[0].Digest["sha256"] != st.Predicate.Proposal {
		return st, fmt.Errorf("not a rafael approval statement (predicateType %q)", st.PredicateType)
	}
	return st, nil
}

func decodeEnvelope(data []byte) (envelope, error) {
	var env envelope
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&env); err != nil {
		return env, fmt.Errorf("not a DSSE envelope: %v", err)
	}
	return env, nil
}

// counted is an approval that counts toward a threshold.
type counted struct {
	approver Approver
	fp       string // the approver key's fingerprint
	envelope []byte
}

// record is the approval as the "approved" entry keeps it.
func (c counted) record() *approvalRecord {
	return &approvalRecord{Approver: c.approver.Name, Role: c.approver.Role, Key: c.fp, Envelope: c.envelope}
}

// collectApprovals reads the approvals directory and returns the distinct
// approvers (keys of cfg) of the proposal p at its position, other than
// its proposer, and a note for every approval of it that does not count.
func (g *Guardian) collectApprovals(p *proposalState, cfg Config) (out []counted, ignored []string, err error) {
	files, ignored, err := listRegular(g.path(approvalsDir), "*.json")
	if err != nil {
		return nil, nil, err
	}
	if len(files) > maxApprovalFiles {
		return nil, nil, fmt.Errorf("guardian: %s holds %d approvals, more than %d: remove those of proposals decided long ago (git rm), or find out who planted them", g.path(approvalsDir), len(files), maxApprovalFiles)
	}
	defer func() { ignored = capNotes(ignored) }()
	keys := approverKeys(cfg)
	for _, f := range files {
		name := filepath.Join(approvalsDir, filepath.Base(f))
		data, err := readRegular(f, maxApprovalBytes)
		if err != nil {
			ignored = append(ignored, fmt.Sprintf("%s: %v", name, err))
			continue
		}
		st, err := decodeApproval(data)
		if err != nil {
			ignored = append(ignored, fmt.Sprintf("%s: %v", name, err))
			continue
		}
		if st.Predicate.Proposal != p.rec.Proposal {
			continue // another proposal's
		}
		if st.Predicate.At != p.at {
			ignored = append(ignored, fmt.Sprintf("%s: approves this change as proposed at audit seq %d, not at seq %d: an approval is not reused; approve again", name, st.Predicate.At.Seq, p.at.Seq))
			continue
		}
		env, _ := decodeEnvelope(data)
		_, signers, err := env.open(keys)
		if err != nil {
			ignored = append(ignored, fmt.Sprintf("%s: not signed by an approver of the policy in force", name))
			continue
		}
		for _, k := range signers {
			a := cfg.Approvers[indexKey(keys, k)]
			fp := fingerprint(k)
			switch {
			case fp == p.proposer:
				ignored = append(ignored, fmt.Sprintf("%s: signed by %s, whose key proposed this change: a proposer never approves their own change", name, a.Name))
			case strings.EqualFold(strings.TrimSpace(a.Name), strings.TrimSpace(p.label)):
				ignored = append(ignored, fmt.Sprintf("%s: %s proposed this change (as %q) and cannot approve it", name, a.Name, p.label))
			case countedKey(out, k):
				ignored = append(ignored, fmt.Sprintf("%s: %s approved already; each approver counts once", name, a.Name))
			default:
				out = append(out, counted{approver: a, fp: fp, envelope: bytes.TrimSpace(data)})
			}
		}
	}
	return out, ignored, nil
}

// maxApprovalFiles bounds the approvals read for one decision.
const maxApprovalFiles = 1000

// capNotes keeps the first notes and says how many more there were.
func capNotes(notes []string) []string {
	if len(notes) <= maxProblems {
		return notes
	}
	return append(notes[:maxProblems:maxProblems], fmt.Sprintf("and %d more approvals that do not count", len(notes)-maxProblems))
}

func indexKey(keys []ed25519.PublicKey, k ed25519.PublicKey) int {
	for i, x := range keys {
		if x.Equal(k) {
			return i
		}
	}
	return -1
}

func countedKey(cs []counted, k ed25519.PublicKey) bool {
	for _, c := range cs {
		if c.approver.Key.Equal(k) {
			return true
		}
	}
	return false
}

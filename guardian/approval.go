package guardian

import (
	"bytes"
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
	"sort"
)

var digestPattern = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)

// Approve returns a signed approval of the proposal with the given digest
// (Decision.Proposal): a DSSE envelope, signed with key, over an in-toto
// statement whose subject is the proposal. actor names the approver as
// guardian.json does. Store it with [Guardian.WriteApproval]; it counts only
// if key is an approver's key in guardian.json and the approver did not
// propose the change.
func Approve(proposalDigest string, key ed25519.PrivateKey, actor string) ([]byte, error) {
	switch {
	case !digestPattern.MatchString(proposalDigest):
		return nil, fmt.Errorf("guardian: approve: proposal digest %q: want \"sha256:\" and 64 hex digits, as Decision.Proposal gives", proposalDigest)
	case len(key) != ed25519.PrivateKeySize:
		return nil, errors.New("guardian: approve: key is not an Ed25519 private key")
	case actor == "":
		return nil, errors.New("guardian: approve: actor is empty: name the approver as guardian.json does")
	}
	st := statement[approval]{
		Type:          statementType,
		Subject:       []subject{subjectOf("proposal", proposalDigest)},
		PredicateType: approvalPredicate,
		Predicate:     approval{Proposal: proposalDigest, Actor: actor},
	}
	payload, err := json.Marshal(st)
	if err != nil {
		return nil, err
	}
	return append(marshalEnvelope(sealEnvelope(payload, key)), '\n'), nil
}

// WriteApproval stores an approval made with [Approve] in the approvals
// directory, atomically, and returns its path. It checks the envelope's form
// but not its signer, which Propose checks against guardian.json.
func (g *Guardian) WriteApproval(envelope []byte) (string, error) {
	st, err := decodeApproval(envelope)
	if err != nil {
		return "", fmt.Errorf("guardian: write approval: %w", err)
	}
	dir := g.path(approvalsDir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("guardian: write approval: %w", err)
	}
	sum := sha256.Sum256(envelope)
	name := st.Predicate.Proposal[len("sha256:"):][:16] + "-" + hex.EncodeToString(sum[:8]) + ".json"
	path := filepath.Join(dir, name)
	if err := atomicfile.Write(path, envelope); err != nil {
		return "", fmt.Errorf("guardian: write approval: %w", err)
	}
	return path, nil
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
	envelope []byte
}

// collectApprovals reads the approvals directory and returns the distinct
// approvers of the proposal digest who are not its proposer, and a note for
// every approval of it that does not count.
func (g *Guardian) collectApprovals(digest, proposer string) ([]counted, []string, error) {
	files, err := filepath.Glob(filepath.Join(g.path(approvalsDir), "*.json"))
	if err != nil {
		return nil, nil, err
	}
	sort.Strings(files)
	keys := make([]ed25519.PublicKey, len(g.cfg.Approvers))
	for i, a := range g.cfg.Approvers {
		keys[i] = a.Key
	}
	var out []counted
	var ignored []string
	for _, f := range files {
		name := filepath.Join(approvalsDir, filepath.Base(f))
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, nil, fmt.Errorf("guardian: %w", err)
		}
		st, err := decodeApproval(data)
		if err != nil {
			ignored = append(ignored, fmt.Sprintf("%s: %v", name, err))
			continue
		}
		if st.Predicate.Proposal != digest {
			continue // another proposal's
		}
		env, _ := decodeEnvelope(data)
		_, signers, err := env.open(keys)
		if err != nil {
			ignored = append(ignored, fmt.Sprintf("%s: not signed by an approver listed in guardian.json", name))
			continue
		}
		for _, k := range signers {
			a := g.cfg.Approvers[indexKey(keys, k)]
			switch {
			case a.Name == proposer:
				ignored = append(ignored, fmt.Sprintf("%s: %s proposed this change and cannot approve it", name, a.Name))
			case countedKey(out, k):
				ignored = append(ignored, fmt.Sprintf("%s: %s approved already; each approver counts once", name, a.Name))
			default:
				out = append(out, counted{approver: a, envelope: bytes.TrimSpace(data)})
			}
		}
	}
	return out, ignored, nil
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

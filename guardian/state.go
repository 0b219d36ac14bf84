package guardian

import (
	"errors"
	"fmt"
	"time"

	"github.com/rafaelabs/rafael/internal/atomicfile"
)

// EntryRef points at one audit entry: its sequence number and the hash of
// its line (what the next entry's prev names).
type EntryRef struct {
	Seq  int64  `json:"seq"`
	Hash string `json:"hash"`
}

// apply folds one record, signed by the key with fingerprint signer, into
// the history. A record that does not follow from the ones before (an
// approval of a proposal never made, an entry before the first policy) is
// an error: only a forger writes one.
func (h *history) apply(r record, ref EntryRef, signer string) error {
	if h.policy == nil && r.Event != eventPolicyAdopted {
		return fmt.Errorf("%s entry before any policy-adopted entry: every log starts by recording its approver policy. A log written by RAFAEL before the policy was recorded: verify it with that version, keep it aside (audit.jsonl.old), and let the next proposal start a new one; otherwise it was forged", r.Event)
	}
	p := h.proposals[r.Proposal]
	switch r.Event {
	case eventPolicyAdopted:
		cfg, canon, digest, err := parsePolicy("the recorded policy", r.Policy)
		if err != nil || digest != r.To {
			return fmt.Errorf("the recorded policy does not decode to its digest %s", short(r.To))
		}
		if h.policy == nil && r.Origin == "" {
			return errors.New("the first policy names no origin")
		}
		h.policy = &policyState{digest: digest, raw: canon, cfg: cfg, ref: ref}
		h.policies[digest] = true
		if h.first == "" {
			h.first = digest
		}
		if p != nil {
			p.open, p.adopted, p.last = false, true, ref
		}
		return nil
	case eventProposed, eventPolicyProposed:
		kind := kindGenome
		if r.Event == eventPolicyProposed {
			kind = kindPolicy
		}
		h.proposals[r.Proposal] = &proposalState{
			kind: kind, module: r.Module, from: r.From, to: r.To, at: ref, proposer: signer, label: r.Actor,
			open: true, approvers: map[string]bool{}, last: ref, rec: r,
		}
		return nil
	}
	if p == nil {
		return fmt.Errorf("%s entry for proposal %s, which was never proposed", r.Event, short(r.Proposal))
	}
	p.last = ref
	switch r.Event {
	case eventEvaluated:
		p.rec.Impact, p.rec.Rules = r.Impact, r.Rules
	case eventApproved:
		if r.Approval == nil {
			return errors.New("approved entry without its approval")
		}
		p.approvers[r.Approval.Key] = true
	case eventAdopted:
		p.open, p.adopted = false, true
		h.modules[r.Module] = append(h.modules[r.Module], written{r, ref})
	case eventRejected:
		p.open, p.adopted = false, false
	case eventRolledBack:
		p.open, p.adopted = false, false
		h.modules[r.Module] = append(h.modules[r.Module], written{r, ref})
	default:
		return fmt.Errorf("unknown event %q", r.Event)
	}
	return nil
}

// appendRecords signs recs, chains them after the history's head, appends
// them to the log with one fsync, and seals a new checkpoint. It returns the
// reference of the last one.
func (g *Guardian) appendRecords(h *history, recs []record) (EntryRef, error) {
	var buf []byte
	// A clock behind the last entry (another machine's, say) must not make
	// the log fail its own check: time never goes backwards in it.
	now := g.now().UTC()
	if now.Before(h.last) {
		now = h.last
	}
	h.last = now
	signer := fingerprint(g.public())
	for _, r := range recs {
		r.Seq, r.Prev = h.head.Seq+1, h.head.Hash
		r.Time = now.Format(time.RFC3339Nano)
		raw, err := newEntry(r, subjectName(r), g.key)
		if err != nil {
			return EntryRef{}, fmt.Errorf("guardian: %w", err)
		}
		if err := h.tree.add(h.n, raw); err != nil {
			return EntryRef{}, fmt.Errorf("guardian: %w", err)
		}
		h.n++
		h.head = EntryRef{Seq: r.Seq, Hash: lineHash(raw)}
		if err := h.apply(r, h.head, signer); err != nil {
			return EntryRef{}, fmt.Errorf("guardian: %w", err)
		}
		buf = append(append(buf, raw...), '\n')
	}
	if err := h.stillLocked(); err != nil {
		h.problem(err)
		return EntryRef{}, err
	}
	if err := appendSync(g.path(logFile), buf); err != nil {
		h.problem(err) // the history no longer matches the file: never remember it
		return EntryRef{}, fmt.Errorf("guardian: appending to the audit log: %w", err)
	}
	h.read += int64(len(buf))
	h.written = append(h.written, buf...)
	if recs[0].Module == "" {
		g.stage("appended-policy")
	} else {
		g.stage("appended")
	}
	return h.head, g.seal(h)
}

func subjectName(r record) string {
	if r.Module == "" {
		return configFile
	}
	return r.Module + ".genome.json"
}

// stillLocked checks, before a write, that the directory this process
// locked is still the one at its path.
func (h *history) stillLocked() error {
	if h.held == nil {
		return errors.New("guardian: writing without the directory's lock")
	}
	return h.held()
}

// seal writes a checkpoint over every entry of the log, atomically, and
// moves the pin file along when there is one.
func (g *Guardian) seal(h *history) error {
	if err := h.stillLocked(); err != nil {
		return err
	}
	root, err := h.tree.root(h.n)
	if err != nil {
		return fmt.Errorf("guardian: sealing: %w", err)
	}
	note, err := signCheckpoint(checkpoint{Origin: g.origin, Size: h.n, Root: root}, g.key)
	if err != nil {
		return fmt.Errorf("guardian: sealing: %w", err)
	}
	if err := atomicfile.Write(g.path(checkpointFile), note); err != nil {
		return fmt.Errorf("guardian: writing the checkpoint: %w", err)
	}
	h.sealed = h.n
	if g.pinFile != "" {
		if err := atomicfile.Write(g.pinFile, note); err != nil {
			return fmt.Errorf("guardian: moving the pin %s to the new checkpoint: %w", g.pinFile, err)
		}
	}
	return nil
}

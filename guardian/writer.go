package guardian

import (
	"context"
	"fmt"
	"strings"
)

// writer is a write in progress: the lock is held and the record verified.
type writer struct {
	h     *history
	s     *snapshot
	t     Trust
	notes []string
}

// done keeps the history for the next write, when everything verified and
// was written.
func (g *Guardian) done(w *writer) { g.remember(w.s, w.t) }

// config is the policy in force with the rules given in Go.
func (w *writer) config(extra []Rule) Config {
	cfg := w.h.policy.cfg
	cfg.Rules = append(append([]Rule(nil), cfg.Rules...), extra...)
	return cfg
}

// begin starts a write, with the lock held: it reads the record and
// verifies it against the keys and pins from outside the directory, seals
// genuine entries an interrupted append left unsealed, refuses anything
// else that fails, brings the approver policy up to date with
// guardian.json as far as the policy in force allows, and finishes genome
// writes a crash interrupted.
func (g *Guardian) begin(ctx context.Context, held func() error) (*writer, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s, t, unsealed, err := g.readTrusted()
	if err != nil {
		return nil, err
	}
	s.h.held = held
	w := &writer{h: s.h, s: s, t: t}
	if unsealed {
		from := s.h.sealed + 1
		if err := g.seal(s.h); err != nil {
			return nil, err
		}
		w.notes = append(w.notes, fmt.Sprintf("sealed entries %d–%d, which an interrupted append had left unsealed", from, s.h.n))
	}
	if err := g.refuse(s.h); err != nil {
		return nil, err
	}
	if err := g.updatePolicy(w); err != nil {
		return nil, err
	}
	recovered, err := g.recover(s.h)
	w.notes = append(w.notes, recovered...)
	return w, err
}

// readTrusted reads the record, with the lock held, and checks it
// against the keys and pins from outside the directory, entries covered by
// the checkpoint through its Merkle root. Genuine entries past the
// checkpoint (an append whose seal a crash interrupted) are no problem
// here: unsealed says there are some, and a writer seals them.
func (g *Guardian) readTrusted() (s *snapshot, t Trust, unsealed bool, err error) {
	if t, err = g.trust(); err != nil {
		return nil, t, false, err
	}
	if s, err = g.read(t, false); err != nil {
		return nil, t, false, err
	}
	if onlyUnsealed(s.h) {
		s.h.problems, unsealed = nil, true
	}
	return s, t, unsealed, nil
}

// onlyUnsealed reports whether the only problem is genuine entries past
// the checkpoint.
func onlyUnsealed(h *history) bool {
	if len(h.problems) != 1 {
		return false
	}
	ve, ok := h.problems[0].(*VerifyError)
	return ok && ve.Kind == Unsealed
}

// updatePolicy compares guardian.json with the policy in force. The first
// policy of a log is recorded as it is (it must be the pinned one, if a
// policy is pinned). A changed one is adopted when it is the pinned policy
// or when enough of the policy in force's approvers approved it;
// otherwise it is recorded as proposed and the policy in force stays.
func (g *Guardian) updatePolicy(w *writer) error {
	data, err := readOptionalRegular(g.path(configFile), maxConfigBytes)
	if err != nil {
		return err
	}
	_, canon, digest, err := parsePolicy(g.path(configFile), data)
	if err != nil {
		return err
	}
	h := w.h
	if h.policy == nil {
		if g.policy != "" && g.policy != digest {
			return fmt.Errorf("guardian: %s is policy %s, but the pinned policy ($%s) is %s: this directory's first policy is not the team's; restore guardian.json or fix the pin", g.path(configFile), digest, PolicyEnv, g.policy)
		}
		reason := fmt.Sprintf("first policy: pin it with %s=%s so that a replaced history is caught", PolicyEnv, digest)
		if g.policy != "" {
			reason = "first policy, as pinned"
		}
		// An empty log is sealed first, so that a crash in its first
		// append leaves genuine entries past a checkpoint, not a log
		// without one.
		if err := g.seal(h); err != nil {
			return err
		}
		r := record{Event: eventPolicyAdopted, Actor: "guardian", Proposal: proposalDigest(kindPolicy, "", "", digest, nil, ""),
			To: digest, Policy: canon, Origin: g.origin, Reason: reason}
		if _, err := g.appendRecords(h, []record{r}); err != nil {
			return err
		}
		w.notes = append(w.notes, fmt.Sprintf("recorded the approver policy %s (%s) for %q; pin it: %s=%s", digest, g.path(configFile), g.origin, PolicyEnv, digest))
		return nil
	}
	if g.policy != "" && !h.policies[g.policy] && g.policy != digest {
		return fmt.Errorf("guardian: the pinned policy ($%s) %s was never adopted in %s's log and %s is not it (%s): the history was replaced, or the pin is stale",
			PolicyEnv, g.policy, g.dir, g.path(configFile), digest)
	}
	if digest == h.policy.digest {
		return nil
	}
	return g.changePolicy(w, canon, digest)
}

// changePolicy handles a guardian.json that differs from the policy in
// force.
func (g *Guardian) changePolicy(w *writer, canon []byte, digest string) error {
	h := w.h
	cur := h.policy
	pd := proposalDigest(kindPolicy, "", cur.digest, digest, nil, "")
	base := record{Actor: "guardian.json", Proposal: pd, From: cur.digest, To: digest, Policy: canon}
	var recs []record
	if g.policy == digest {
		r := base
		r.Event, r.Reason = eventPolicyAdopted, fmt.Sprintf("pinned from outside the directory ($%s)", PolicyEnv)
		if _, err := g.appendRecords(h, []record{r}); err != nil {
			return err
		}
		w.notes = append(w.notes, fmt.Sprintf("adopted the approver policy %s, pinned by $%s", digest, PolicyEnv))
		return nil
	}
	st := h.proposals[pd]
	if st == nil || !st.open {
		r := base
		r.Event = eventPolicyProposed
		r.Change = policyChanges(cur.raw, canon)
		if _, err := g.appendRecords(h, []record{r}); err != nil {
			return err
		}
		st = h.proposals[pd]
	}
	need := cur.cfg.policyRequired()
	approvals, _, err := g.collectApprovals(st, cur.cfg)
	if err != nil {
		return err
	}
	var names []string
	for _, a := range approvals {
		names = append(names, a.approver.Name)
		if !st.approvers[a.fp] {
			r := base
			r.Event, r.Actor, r.Approval = eventApproved, a.approver.Name, a.record()
			recs = append(recs, r)
		}
	}
	if need > 0 && len(approvals) >= need {
		r := base
		r.Event, r.Reason = eventPolicyAdopted, "approved under the previous policy by "+strings.Join(names, ", ")
		recs = append(recs, r)
	}
	if len(recs) > 0 {
		if _, err := g.appendRecords(h, recs); err != nil {
			return err
		}
	}
	if h.policy.digest == digest {
		w.notes = append(w.notes, fmt.Sprintf("adopted the approver policy %s, approved by %s under the previous one", digest, strings.Join(names, ", ")))
		return nil
	}
	how := fmt.Sprintf("%d of its approvers approve it (rafael approve %s, at audit seq %d)", need, pd, st.at.Seq)
	if need == 0 {
		how = "it is pinned from outside: the policy in force has no approvers"
	}
	w.notes = append(w.notes, fmt.Sprintf("%s differs from the policy in force (%s): it counts when %s, or when pinned with %s=%s; this decision follows the policy in force",
		g.path(configFile), short(cur.digest), how, PolicyEnv, digest))
	return nil
}

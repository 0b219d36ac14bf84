package guardian

import (
	"context"
	"slices"
	"strings"
)

// PendingProposal is an open proposal as an approver sees it: what it changes, how
// much review it needs, and where it is in the log.
type PendingProposal struct {
	Kind      string   // "genome", or "policy" for a changed guardian.json
	Module    string   // the genome's module ("" for a policy)
	Proposal  string   // the digest to approve
	At        EntryRef // the proposal's entry: approvals bind to it
	Proposer  string   // fingerprint of the key that proposed it
	Label     string   // the proposer's free-form label
	From, To  string   // digests of the genome (or policy) in force and the one proposed
	Impact    *Impact  // a genome change's assessed impact
	Changes   []string // one line per change
	Required  int      // distinct approvals it needs under the policy in force
	Approvers []string // approvals found that count so far, by approver name
	Ignored   []string // approvals found that do not count, and why
}

// Pending lists the open proposals, oldest first, after verifying the
// record against the keys from outside the directory. A proposal whose
// module (or policy) has since adopted another genome (or policy) is not
// listed: it can no longer be adopted.
func (g *Guardian) Pending(ctx context.Context) ([]PendingProposal, error) {
	unlock, _, err := g.lock(ctx)
	if err != nil {
		return nil, err
	}
	defer unlock()
	h, err := g.readVerified()
	if err != nil {
		return nil, err
	}
	cfg := h.policy.cfg
	file, _ := readOptionalRegular(g.path(configFile), maxConfigBytes)
	fileDigest, _ := PolicyDigest(file)
	var out []PendingProposal
	for _, p := range h.proposals {
		if !p.open || stale(h, p) || p.kind == kindPolicy && p.to != fileDigest {
			continue // a policy change guardian.json no longer asks for is not put to approvers
		}
		pd := PendingProposal{Kind: p.kind, Module: p.module, Proposal: p.rec.Proposal, At: p.at, Proposer: p.proposer,
			Label: p.label, From: p.from, To: p.to, Impact: p.rec.Impact}
		for _, c := range p.rec.Change {
			pd.Changes = append(pd.Changes, c.String())
		}
		if p.kind == kindPolicy {
			pd.Required = cfg.policyRequired()
		} else if p.rec.Impact != nil {
			pd.Required = cfg.required(p.rec.Impact.Level)
		}
		counted, ignored, err := g.collectApprovals(p, cfg)
		if err != nil {
			return nil, err
		}
		for _, c := range counted {
			pd.Approvers = append(pd.Approvers, c.approver.Name)
		}
		pd.Ignored = ignored
		out = append(out, pd)
	}
	slices.SortFunc(out, func(a, b PendingProposal) int { return int(a.At.Seq - b.At.Seq) })
	return out, nil
}

// stale reports whether a proposal replaces a genome (or policy) that is
// no longer the one in force.
func stale(h *history, p *proposalState) bool {
	if p.kind == kindPolicy {
		return p.from != h.policy.digest
	}
	ws := h.modules[p.module]
	return len(ws) > 0 && ws[len(ws)-1].To != p.from
}

// String renders a change as one line: "retry.maxAttempts: 3 → 5",
// "+ hedge", "- approver bob (…)".
func (c changeRecord) String() string {
	switch c.Kind {
	case "added":
		return strings.TrimSpace("+ " + c.Field + " " + c.To)
	case "removed":
		return "- " + c.Field
	}
	return c.Field + ": " + c.From + " → " + c.To
}

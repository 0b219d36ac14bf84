package guardian

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/rafaelabs/rafael/genome"
	"github.com/rafaelabs/rafael/internal/atomicfile"
)

// Proposal is a genome change put to the guardian.
type Proposal struct {
	// New is the proposed genome; its Module names the module.
	New *genome.Genome
	// Old is the genome being replaced. Nil means the module's adopted
	// genome file, or an empty genome when there is none; when both are
	// present they must agree.
	Old *genome.Genome
	// Actor names who (or what) proposed the change; that person's approvals
	// of it do not count.
	Actor string
	// Evidence supports the change (a report, say): its SHA-256 is recorded.
	// EvidenceDigest ("sha256:<hex>") may be given instead.
	Evidence       []byte
	EvidenceDigest string
}

// Status is where a proposal stands.
type Status uint8

// The statuses.
const (
	Pending  Status = iota // waiting for approvals; the genome file is untouched
	Adopted                // the audit record is durable and the genome file replaced
	Rejected               // a rule failed; the genome file is untouched
)

// String returns "pending", "adopted" or "rejected".
func (s Status) String() string {
	return enumName([]string{"pending", "adopted", "rejected"}, "Status", uint8(s))
}

// MarshalText encodes s as its name.
func (s Status) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Decision is the outcome of a proposal, for the harness's report.
type Decision struct {
	Status    Status
	Module    string
	Proposal  string       // the proposal's digest: what approvers sign with Approve
	Genome    string       // digest of the proposed genome
	Impact    Impact       // level and reasons
	Rules     []RuleResult // every rule's result
	Required  int          // distinct approvals the impact needs
	Approvers []string     // approvers counted, by name
	Ignored   []string     // approvals found that do not count, and why
	Entry     EntryRef     // the last audit entry about this proposal
	Trusted   bool         // the record is signed by a configured key, not an ephemeral one
	Signer    string       // fingerprint of the signing key (never the key)
	Recovered []string     // interrupted adoptions this call finished first
}

// Propose assesses a change, runs the rules and records the proposal in the
// audit log. A change that fails a rule is rejected. One that passes is
// adopted when its impact is low or enough distinct approvers other than the
// proposer have approved it (files in approvals/); otherwise it is pending.
// Adoption makes the audit entry durable first, then replaces the genome
// file atomically. Proposing a pending change again appends no duplicate
// entries and picks up new approvals; proposing an adopted one changes
// nothing.
func (g *Guardian) Propose(ctx context.Context, p Proposal) (Decision, error) {
	if err := p.check(); err != nil {
		return Decision{}, err
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	d := Decision{Module: p.New.Module, Genome: p.New.Digest(), Trusted: g.trusted(), Signer: fingerprint(g.key.Public().(ed25519.PublicKey))}
	h, recovered, err := g.begin(ctx)
	if err != nil {
		return d, err
	}
	d.Recovered = recovered
	old, err := g.current(p)
	if err != nil {
		return d, err
	}
	if w := h.modules[d.Module]; len(w) > 0 && w[len(w)-1].To == d.Genome && old.Digest() == d.Genome {
		// The proposed genome is the one in force (as when a run repeats
		// the proposal whose write a crash interrupted): nothing to decide.
		d.Status, d.Entry = Adopted, w[len(w)-1].ref
		d.Impact = Impact{Level: Low, Reasons: []string{"no change: the proposed genome is the adopted one"}}
		return d, g.sealIfBehind(h)
	}
	evidence := p.EvidenceDigest
	if p.Evidence != nil {
		sum := sha256.Sum256(p.Evidence)
		evidence = "sha256:" + hex.EncodeToString(sum[:])
	}
	newJSON, _ := p.New.MarshalJSON()
	oldJSON, _ := old.MarshalJSON()
	base := record{Actor: p.Actor, Module: d.Module, From: old.Digest(), To: d.Genome}
	base.Proposal = proposalDigest(base, evidence)
	d.Proposal = base.Proposal
	d.Impact = Assess(old, p.New, g.cfg)
	d.Required = g.cfg.required(d.Impact.Level)
	rules, ok := checkRules(g.cfg.Rules, p.New, g.cfg.Modules[d.Module])
	d.Rules = rules

	st := h.proposals[d.Proposal]
	if st != nil && st.adopted {
		d.Status, d.Entry = Adopted, st.last
		return d, g.sealIfBehind(h)
	}
	var recs []record
	add := func(event string, fill func(*record)) {
		r := base
		r.Event = event
		fill(&r)
		recs = append(recs, r)
	}
	if st == nil || !st.open {
		add(eventProposed, func(r *record) {
			r.Change, r.Evidence, r.Genome = changeRecords(genome.Diff(old, p.New)), evidence, newJSON
		})
		add(eventEvaluated, func(r *record) { r.Impact, r.Rules = &d.Impact, rules })
	}
	switch {
	case !ok:
		d.Status = Rejected
		add(eventRejected, func(r *record) { r.Reason = "rules failed: " + strings.Join(failed(rules), ", ") })
	default:
		var approvals []counted
		if d.Required > 0 {
			if approvals, d.Ignored, err = g.collectApprovals(d.Proposal, p.Actor); err != nil {
				return d, err
			}
		}
		for _, a := range approvals {
			d.Approvers = append(d.Approvers, a.approver.Name)
			fp := fingerprint(a.approver.Key)
			if st != nil && st.open && st.approvers[fp] {
				continue
			}
			add(eventApproved, func(r *record) {
				r.Actor = a.approver.Name
				r.Approval = &approvalRecord{Approver: a.approver.Name, Role: a.approver.Role, Key: fp, Envelope: a.envelope}
			})
		}
		if len(approvals) >= d.Required {
			d.Status = Adopted
			reason := "low impact: adopted without approval"
			if d.Required > 0 {
				reason = fmt.Sprintf("%s impact: approved by %s", d.Impact.Level, strings.Join(d.Approvers, ", "))
			}
			add(eventAdopted, func(r *record) { r.Genome, r.Replaced, r.Reason = newJSON, oldJSON, reason })
		}
	}
	if len(recs) == 0 {
		d.Entry = st.last
		return d, g.sealIfBehind(h)
	}
	if d.Entry, err = g.appendRecords(h, recs); err != nil {
		return d, err
	}
	if d.Status == Adopted {
		g.stage("durable")
		if err := atomicfile.Write(g.genomePath(d.Module), append(newJSON, '\n')); err != nil {
			return d, fmt.Errorf("guardian: the adoption is recorded (seq %d) but writing the genome file failed; the next Propose finishes it: %w", d.Entry.Seq, err)
		}
	}
	return d, nil
}

func (p *Proposal) check() error {
	switch {
	case p.New == nil:
		return errors.New("guardian: propose: Proposal.New is nil")
	case p.Actor == "":
		return errors.New("guardian: propose: Proposal.Actor is empty: name who proposes the change")
	case p.Evidence != nil && p.EvidenceDigest != "":
		return errors.New("guardian: propose: set Evidence or EvidenceDigest, not both")
	case p.EvidenceDigest != "" && !digestPattern.MatchString(p.EvidenceDigest):
		return fmt.Errorf("guardian: propose: EvidenceDigest %q: want \"sha256:\" and 64 hex digits", p.EvidenceDigest)
	case p.Old != nil && p.Old.Module != p.New.Module:
		return fmt.Errorf("guardian: propose: Old is of module %q and New of %q", p.Old.Module, p.New.Module)
	}
	if err := p.New.Validate(); err != nil {
		return fmt.Errorf("guardian: propose: the new genome is invalid: %w", err)
	}
	return nil
}

// current returns the genome being replaced: the adopted file, checked
// against Proposal.Old when both exist.
func (g *Guardian) current(p Proposal) (*genome.Genome, error) {
	path := g.genomePath(p.New.Module)
	onDisk, err := genome.Load(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		if p.Old != nil {
			return p.Old, nil
		}
		return &genome.Genome{Module: p.New.Module}, nil
	case err != nil:
		return nil, fmt.Errorf("guardian: %w", err)
	case p.Old != nil && p.Old.Digest() != onDisk.Digest():
		return nil, fmt.Errorf("guardian: propose: Proposal.Old (%s) is not the adopted genome in %s (%s): propose against the current genome",
			p.Old.Digest(), path, onDisk.Digest())
	}
	return onDisk, nil
}

// proposalDigest binds an approval to one change by one proposer.
func proposalDigest(r record, evidence string) string {
	b, _ := json.Marshal(struct {
		Module, From, To, Evidence, Actor string
	}{r.Module, r.From, r.To, evidence, r.Actor})
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

func failed(rs []RuleResult) []string {
	var ids []string
	for _, r := range rs {
		if !r.Passed {
			ids = append(ids, r.ID)
		}
	}
	return ids
}

// sealIfBehind reseals when the checkpoint does not cover the whole log, as
// after a crash between an append and its seal.
func (g *Guardian) sealIfBehind(h *history) error {
	if h.sealed == int64(len(h.lines)) {
		return nil
	}
	return g.seal(h)
}

package guardian

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/rafaelabs/rafael/genome"
	"github.com/rafaelabs/rafael/internal/atomicfile"
)

// Proposal is a genome change put to the guardian.
type Proposal struct {
	// New is the proposed genome; its Module names the module.
	New *genome.Genome
	// Old is the genome being replaced, as the caller knows it. Nil means
	// the genome the audit log last adopted for the module, or the empty
	// genome when it adopted none; when both exist they must agree. A
	// genome file the log never adopted is never the baseline.
	Old *genome.Genome
	// Actor is a free-form label for who (or what) proposed the change,
	// recorded beside the signing key, which is the proposer's identity:
	// that key's approvals never count, and neither do those of an
	// approver whose name is the label (compared case-insensitively).
	Actor string
	// Threats names the threats the evidence covers.
	Threats []string
	// Evidence supports the change: its SHA-256 is recorded and is part of
	// the proposal's digest, so it must say what the change claims (the
	// verdicts per threat), not when or how fast (no wall-clock times, no
	// measured latencies): the same claim must give the same bytes.
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
	Proposal  string       // the proposal's digest: what approvers approve (rafael approve <digest>)
	At        EntryRef     // the proposal's "proposed" entry: approvals bind to it
	Genome    string       // digest of the proposed genome
	Impact    Impact       // level and reasons
	Rules     []RuleResult // every rule's result
	Required  int          // distinct approvals the impact needs
	Approvers []string     // approvers counted, by name
	Ignored   []string     // approvals found that do not count, and why
	Entry     EntryRef     // the last audit entry about this proposal
	Signer    string       // fingerprint of the signing key: the proposer's identity (never the key)
	Policy    string       // digest of the approver policy the decision followed
	Notes     []string     // what else this call did or found: a policy recorded or pending, a write finished
}

// Propose assesses a change, runs the rules and records the proposal in the
// audit log, after taking the directory's lock and verifying the whole
// record against the keys from outside it. A change that fails a rule is
// rejected. One that passes is adopted when its impact is low or enough
// distinct approvers (keys of the policy in force, other than the
// proposer's) have approved it at its position in the log (files in
// approvals/); otherwise it is pending. Adoption makes the audit entry
// durable first, then replaces the genome file atomically. Proposing a
// pending change again appends no duplicate entries and picks up new
// approvals; proposing the genome in force changes nothing.
func (g *Guardian) Propose(ctx context.Context, p Proposal) (Decision, error) {
	if err := p.check(); err != nil {
		return Decision{}, err
	}
	if g.key == nil {
		return Decision{}, errNoSigningKey
	}
	unlock, held, err := g.lock(ctx)
	if err != nil {
		return Decision{}, err
	}
	defer unlock()
	d := Decision{Module: p.New.Module, Genome: p.New.Digest(), Signer: fingerprint(g.public())}
	w, err := g.begin(ctx, held)
	if err != nil {
		return d, err
	}
	d.Notes, d.Policy = w.notes, w.h.policy.digest
	old, err := g.current(w.h, p, &d)
	if err != nil {
		return d, err
	}
	if ws := w.h.modules[d.Module]; len(ws) > 0 && ws[len(ws)-1].To == d.Genome && old.Digest() == d.Genome {
		// The proposed genome is the one in force (as when a run repeats
		// the proposal whose write a crash interrupted): nothing to decide.
		d.Status, d.Entry = Adopted, ws[len(ws)-1].ref
		d.Impact = Impact{Level: Low, Reasons: []string{"no change: the proposed genome is the adopted one"}}
		g.done(w)
		return d, nil
	}
	d, err = g.decide(w, p, old, d)
	if err == nil {
		g.done(w)
	}
	return d, err
}

var errNoSigningKey = fmt.Errorf("guardian: no signing key: the key that signs the audit log identifies the proposer; set $%s to a PEM Ed25519 private key (rafael keygen -o ci-key.pem makes one; in CI, a secret)", SigningKeyEnv)

// decide records the proposal and what follows from it under the policy
// in force.
func (g *Guardian) decide(w *writer, p Proposal, old *genome.Genome, d Decision) (Decision, error) {
	cfg := w.config(g.extra)
	evidence := p.EvidenceDigest
	if p.Evidence != nil {
		evidence = digestOf(p.Evidence)
	}
	threats := slices.Sorted(slices.Values(p.Threats))
	newJSON, _ := p.New.MarshalJSON()
	oldJSON, _ := old.MarshalJSON()
	base := record{Actor: p.Actor, Module: d.Module, From: old.Digest(), To: d.Genome}
	base.Proposal = proposalDigest(kindGenome, d.Module, base.From, base.To, threats, evidence)
	d.Proposal = base.Proposal
	d.Impact = Assess(old, p.New, cfg)
	d.Required = cfg.required(d.Impact.Level)
	rules, ok := checkRules(cfg.Rules, p.New, cfg.Modules[d.Module])
	d.Rules = rules

	// A proposal adopted before and no longer in force (the module moved
	// on, or was rolled back) is proposed afresh, like one never seen.
	st := w.h.proposals[d.Proposal]
	var recs []record
	add := func(event string, fill func(*record)) {
		r := base
		r.Event = event
		fill(&r)
		recs = append(recs, r)
	}
	fresh := st == nil || !st.open
	if fresh {
		add(eventProposed, func(r *record) {
			r.Change, r.Evidence, r.Genome, r.Threats = changeRecords(genome.Diff(old, p.New)), evidence, newJSON, threats
		})
		add(eventEvaluated, func(r *record) { r.Impact, r.Rules = &d.Impact, rules })
	}
	switch {
	case !ok:
		d.Status = Rejected
		add(eventRejected, func(r *record) { r.Reason = "rules failed: " + strings.Join(failed(rules), ", ") })
	case d.Required == 0:
		d.Status = Adopted
		add(eventAdopted, func(r *record) {
			r.Genome, r.Replaced, r.Reason = newJSON, oldJSON, "low impact: adopted without approval"
		})
	case !fresh:
		// Approvals bind to the proposal's position, so only a proposal
		// already in the log can have any.
		approvals, ignored, err := g.collectApprovals(st, cfg)
		if err != nil {
			return d, err
		}
		d.Ignored = ignored
		for _, a := range approvals {
			d.Approvers = append(d.Approvers, a.approver.Name)
			if st.approvers[a.fp] {
				continue
			}
			add(eventApproved, func(r *record) { r.Actor, r.Approval = a.approver.Name, a.record() })
		}
		if len(approvals) >= d.Required {
			d.Status = Adopted
			reason := fmt.Sprintf("%s impact: approved by %s", d.Impact.Level, strings.Join(d.Approvers, ", "))
			add(eventAdopted, func(r *record) { r.Genome, r.Replaced, r.Reason = newJSON, oldJSON, reason })
		}
	}
	if len(recs) == 0 {
		d.Entry, d.At = st.last, st.at
		return d, nil
	}
	entry, err := g.appendRecords(w.h, recs)
	if err != nil {
		return d, err
	}
	d.Entry = entry
	d.At = w.h.proposals[d.Proposal].at
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

// current returns the genome being replaced: the one the log last wrote
// for the module (the file holds it: recover saw to that), checked against
// Proposal.Old when given. For a module the log never adopted it is
// Proposal.Old, or the empty genome: a genome file the log never adopted
// (hand-written, or planted by a writer of the directory) is no baseline
// anyone approved, so a change is never assessed against it.
func (g *Guardian) current(h *history, p Proposal, d *Decision) (*genome.Genome, error) {
	path := g.genomePath(p.New.Module)
	ws := h.modules[p.New.Module]
	if len(ws) == 0 {
		if data, err := readOptionalRegular(path, maxGenomeBytes); err != nil {
			return nil, err
		} else if data != nil {
			from := "the empty genome"
			if p.Old != nil {
				from = "Proposal.Old"
			}
			d.Notes = append(d.Notes, fmt.Sprintf("%s was never adopted (hand-written, or planted): the change is assessed from %s, not from it", path, from))
		}
		if p.Old != nil {
			return p.Old, nil
		}
		return &genome.Genome{Module: p.New.Module}, nil
	}
	last := ws[len(ws)-1]
	inForce, err := genome.Parse(last.Genome)
	if err != nil || inForce.Digest() != last.To {
		return nil, fmt.Errorf("guardian: audit seq %d: the recorded genome does not match its digest %s; run rafael audit verify", last.Seq, last.To)
	}
	if p.Old != nil && p.Old.Digest() != inForce.Digest() {
		return nil, fmt.Errorf("guardian: propose: Proposal.Old (%s) is not the adopted genome in %s (%s): propose against the current genome",
			p.Old.Digest(), path, inForce.Digest())
	}
	return inForce, nil
}

// proposalDigest names what is proposed, and nothing of when: the kind, the
// module, the genome (or policy) replaced and proposed, the threats, the
// evidence's digest. Approvals sign it.
func proposalDigest(kind, module, from, to string, threats []string, evidence string) string {
	b, _ := json.Marshal(struct {
		Kind     string   `json:"kind"`
		Module   string   `json:"module"`
		From     string   `json:"from"`
		To       string   `json:"to"`
		Threats  []string `json:"threats"`
		Evidence string   `json:"evidence"`
	}{kind, module, from, to, threats, evidence})
	return digestOf(b)
}

func digestOf(b []byte) string {
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

package harness

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/rafaelabs/rafael/genome"
	"github.com/rafaelabs/rafael/guardian"
	"github.com/rafaelabs/rafael/report"
)

// dir is where the module's genome file, the guardian's configuration and
// the audit log live: -rafael.dir, Spec.Dir, or testdata/rafael.
func (r *runner) dir() string {
	if r.set.dir != "" {
		return r.set.dir
	}
	if r.spec.Dir != "" {
		return r.spec.Dir
	}
	return filepath.Join("testdata", "rafael")
}

// propose puts the champion to the guardian (with -rafael.update): the
// guardian assesses it, runs its rules, records the proposal in the signed
// audit log and, when the change's impact needs no approval or the approvals
// are there, writes the module's genome file. The report carries the
// decision.
func (r *runner) propose(t *testing.T, champion *genome.Genome, rep *report.Report) {
	if champion.Digest() == r.genome.Digest() {
		t.Logf("rafael: -rafael.update: the champion is the starting genome; nothing to propose")
		return
	}
	if err := os.MkdirAll(r.dir(), 0o755); err != nil {
		t.Errorf("rafael: -rafael.update: %v", err)
		return
	}
	g, err := guardian.Open(r.dir())
	if err != nil {
		t.Errorf("rafael: -rafael.update: %v", err)
		return
	}
	old, err := genome.Load(filepath.Join(r.dir(), r.spec.Module+".genome.json"))
	if errors.Is(err, fs.ErrNotExist) {
		old, err = nil, nil // the guardian starts from an empty genome
	}
	if err != nil {
		t.Errorf("rafael: -rafael.update: %v", err)
		return
	}
	evidence, err := rep.MarshalIndent()
	if err != nil {
		t.Errorf("rafael: -rafael.update: %v", err)
		return
	}
	d, err := g.Propose(context.Background(), guardian.Proposal{New: champion, Old: old, Actor: "rafael harness: " + t.Name(), Evidence: evidence})
	if err != nil {
		t.Errorf("rafael: -rafael.update: %v", err)
		return
	}
	rep.Audit = &report.AuditRef{Status: d.Status.String(), Seq: int(d.Entry.Seq), Hash: d.Entry.Hash, Impact: d.Impact.Level.String(), Trusted: d.Trusted}
	switch d.Status {
	case guardian.Adopted:
		t.Logf("rafael: the guardian adopted %s (%s impact); %s written; audit entry %d", d.Genome, d.Impact.Level, filepath.Join(r.dir(), r.spec.Module+".genome.json"), d.Entry.Seq)
	default:
		t.Logf("rafael: the guardian left the change %s (%s impact, %d approval(s) needed, %d counted): proposal %s; audit entry %d", d.Status, d.Impact.Level, d.Required, len(d.Approvers), d.Proposal, d.Entry.Seq)
	}
	if !d.Trusted {
		t.Logf("rafael: the audit record is signed by an ephemeral key, not a trusted one: set %s", guardian.SigningKeyEnv)
	}
}

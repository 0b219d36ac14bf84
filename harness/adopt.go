package harness

import (
	"os"
	"path/filepath"
	"strings"
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
	evidence, err := proposalEvidence(rep, champion)
	if err != nil {
		t.Errorf("rafael: -rafael.update: %v", err)
		return
	}
	d, err := g.Propose(t.Context(), guardian.Proposal{
		New: champion, Actor: "rafael harness: " + t.Name(), Threats: proposalThreats(rep), Evidence: evidence,
	})
	for _, n := range d.Notes {
		t.Logf("rafael: guardian: %s", n)
	}
	if err != nil {
		t.Errorf("rafael: -rafael.update: %v", err)
		return
	}
	rep.Audit = &report.AuditRef{Status: d.Status.String(), Seq: int(d.Entry.Seq), Hash: d.Entry.Hash, Impact: d.Impact.Level.String(), Trusted: true}
	for _, why := range d.Ignored {
		t.Logf("rafael: guardian: an approval does not count: %s", why)
	}
	switch d.Status {
	case guardian.Adopted:
		t.Logf("rafael: the guardian adopted %s (%s impact); %s written; audit entry %d", d.Genome, d.Impact.Level, filepath.Join(r.dir(), r.spec.Module+".genome.json"), d.Entry.Seq)
	case guardian.Pending:
		t.Logf("rafael: the guardian left the change pending (%s impact: %d approval(s) needed, %d counted); approvers run: rafael approve %s -dir %s -key THEIR-KEY.pem (with $RAFAEL_AUDIT_KEYS, or -trust, naming the public key that signs the log), then rerun with -rafael.update",
			d.Impact.Level, d.Required, len(d.Approvers), d.Proposal, absolute(r.dir()))
	default:
		t.Logf("rafael: the guardian rejected the change: %s", failedRules(d.Rules))
	}
}

// absolute is path made absolute, so that a command printed with it runs
// from any directory; path itself when that fails.
func absolute(path string) string {
	if abs, err := filepath.Abs(path); err == nil {
		return abs
	}
	return path
}

func failedRules(rules []guardian.RuleResult) string {
	var out []string
	for _, r := range rules {
		if !r.Passed {
			out = append(out, r.ID+": "+r.Problem)
		}
	}
	return strings.Join(out, "; ")
}

package harness

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"
	"testing"

	"github.com/rafaelabs/rafael/genome"
	"github.com/rafaelabs/rafael/report"
)

// startFromAdopted makes the run start from the module's adopted genome,
// DIR/<module>.genome.json, when the spec names no genome: the genome the
// guardian adopted is the one in force, and the next run measures and
// evolves from it. A missing file is the empty genome; a file that is not
// a regular genome file of this module fails the test.
func (r *runner) startFromAdopted(t *testing.T) {
	if r.spec.Genome != nil {
		return
	}
	path := filepath.Join(r.dir(), r.spec.Module+".genome.json")
	g, err := genome.Load(path) // refuses a named pipe or a device, which would block
	if errors.Is(err, fs.ErrNotExist) {
		return
	}
	if err == nil && g.Module != r.spec.Module {
		err = fmt.Errorf("it holds module %q, not %q", g.Module, r.spec.Module)
	}
	if err != nil {
		t.Fatalf("rafael: the adopted genome %s: %v; restore it (git checkout), remove it, or name a starting genome in Spec.Genome", path, err)
	}
	r.genome = g
	t.Logf("rafael: starting from the adopted genome %s (%s)", path, g.Digest())
}

// evidence is what a proposal claims, for the guardian's proposal digest:
// the same claim gives the same bytes, whenever and however fast it was
// measured, so approvals of a change count when the next run proposes it.
type evidence struct {
	Module   string           `json:"module"`
	Seed     uint64           `json:"seed"`
	Tier     string           `json:"tier"`
	SLO      string           `json:"slo"`
	Start    string           `json:"start"`    // the starting genome's digest
	Champion string           `json:"champion"` // the proposed genome's digest
	Threats  []threatEvidence `json:"threats"`
}

type threatEvidence struct {
	Name     string `json:"name"`
	Threat   string `json:"threat"`   // with its parameters
	Before   string `json:"before"`   // the starting genome's status
	After    string `json:"after"`    // the champion's status
	Verdict  string `json:"verdict"`  // held, mitigated, …
	Severity string `json:"severity"` // of the threat
}

// proposalEvidence is the evidence of a proposal of champion from rep: the
// module, the seed, the tier, the SLO, the starting and proposed genomes,
// and per threat (by name) its statuses before and after and its verdict.
// No wall-clock time and no measurement is in it.
func proposalEvidence(rep *report.Report, champion *genome.Genome) ([]byte, error) {
	ev := evidence{Module: rep.Module, Seed: rep.Seed, Tier: rep.Tier, SLO: rep.SLO.String(), Start: rep.Genome, Champion: champion.Digest()}
	for _, th := range rep.Threats {
		ev.Threats = append(ev.Threats, threatEvidence{Name: th.Name, Threat: th.Threat, Before: string(th.Status),
			After: string(th.EvolvedStatus), Verdict: th.Verdict, Severity: th.Severity})
	}
	slices.SortFunc(ev.Threats, func(a, b threatEvidence) int { return cmp.Compare(a.Name, b.Name) })
	return json.Marshal(ev)
}

// proposalThreats names the threats the evidence covers, sorted.
func proposalThreats(rep *report.Report) []string {
	names := make([]string, 0, len(rep.Threats))
	for _, th := range rep.Threats {
		names = append(names, th.Name)
	}
	slices.Sort(names)
	return names
}

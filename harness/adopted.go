package harness

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"

	"github.com/rafaelabs/rafael/genome"
	"github.com/rafaelabs/rafael/report"
)

// maxGenomeFile bounds the adopted genome file the harness reads.
const maxGenomeFile = 1 << 20

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
	data, err := readGenomeFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return
	}
	var g *genome.Genome
	if err == nil {
		g, err = genome.Parse(data)
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

// readGenomeFile reads a regular file without following a symbolic link
// or waiting on a named pipe.
func readGenomeFile(path string) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if errors.Is(err, syscall.ELOOP) {
		return nil, errors.New("it is a symbolic link, not the file the guardian wrote")
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	switch {
	case err != nil:
		return nil, err
	case !st.Mode().IsRegular():
		return nil, fmt.Errorf("it is not a regular file (%s)", st.Mode().Type())
	case st.Size() > maxGenomeFile:
		return nil, fmt.Errorf("it is %d bytes, more than a genome file holds", st.Size())
	}
	return io.ReadAll(io.LimitReader(f, maxGenomeFile))
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
	slices.SortFunc(ev.Threats, func(a, b threatEvidence) int {
		if a.Name < b.Name {
			return -1
		}
		if a.Name > b.Name {
			return 1
		}
		return 0
	})
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

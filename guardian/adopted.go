package guardian

import (
	"context"
	"fmt"
	"slices"
)

// Adoption is an audit entry that adopted a genome for a module.
type Adoption struct {
	Module    string
	Digest    string   // the adopted genome's digest
	Entry     EntryRef // the "adopted" entry
	Approvers []string // fingerprints of the keys that approved the proposal, sorted
	InForce   bool     // the module runs that genome still: no later adoption or rollback
}

// Adopted returns the last entry that adopted the genome digest for module,
// read from the log verified under the trusted keys (never from a genome
// file or a report, which whoever can write the directory can write). A
// genome the log never adopted for module is an error that says so.
func (g *Guardian) Adopted(ctx context.Context, module, digest string) (Adoption, error) {
	unlock, _, err := g.lock(ctx)
	if err != nil {
		return Adoption{}, err
	}
	defer unlock()
	h, err := g.readVerified()
	if err != nil {
		return Adoption{}, err
	}
	recs := h.modules[module]
	i := len(recs) - 1
	for i >= 0 && (recs[i].Event != eventAdopted || recs[i].To != digest) {
		i--
	}
	if i < 0 {
		return Adoption{}, fmt.Errorf("guardian: the audit log of %s never adopted genome %s for module %q", g.dir, short(digest), module)
	}
	last := recs[i]
	a := Adoption{Module: module, Digest: last.To, Entry: last.ref, InForce: i == len(recs)-1}
	if p := h.proposals[last.Proposal]; p != nil {
		for k := range p.approvers {
			a.Approvers = append(a.Approvers, k)
		}
		slices.Sort(a.Approvers)
	}
	return a, nil
}

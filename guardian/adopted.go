package guardian

import (
	"context"
	"fmt"
	"slices"
)

// Adoption is the audit entry that adopted the genome a module runs now.
type Adoption struct {
	Module    string
	Digest    string   // the adopted genome's digest
	Entry     EntryRef // the "adopted" entry
	Approvers []string // fingerprints of the keys whose approvals counted, sorted
}

// Adopted returns the entry that adopted module's genome in force, read
// from the log verified under the trusted keys (never from a genome file or
// a report, which whoever can write the directory can write). A module
// whose last entry is a rollback, or that never adopted a genome, is an
// error that says so.
func (g *Guardian) Adopted(ctx context.Context, module string) (Adoption, error) {
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
	if len(recs) == 0 {
		return Adoption{}, fmt.Errorf("guardian: the audit log of %s adopted no genome for module %q", g.dir, module)
	}
	last := recs[len(recs)-1]
	if last.Event != eventAdopted {
		return Adoption{}, fmt.Errorf("guardian: module %q's last genome entry (seq %d) is a %s, not an adoption", module, last.ref.Seq, last.Event)
	}
	a := Adoption{Module: module, Digest: last.To, Entry: last.ref}
	if p := h.proposals[last.Proposal]; p != nil {
		for k := range p.approvers {
			a.Approvers = append(a.Approvers, k)
		}
		slices.Sort(a.Approvers)
	}
	return a, nil
}

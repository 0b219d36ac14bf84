package genome

import (
	"bytes"
	"fmt"
	"strings"
)

// ChangeKind says whether a [Change] adds a gene, removes one, or changes a
// value.
type ChangeKind uint8

// The change kinds.
const (
	Changed ChangeKind = iota // a parameter or field changed value
	Added                     // a gene was added
	Removed                   // a gene was removed
)

// Change is one difference between two genomes.
type Change struct {
	Kind     ChangeKind
	Gene     GeneKind
	Field    string  // "module", "retry.maxAttempts", or "" for a whole gene
	Param    *Param  // the parameter, when Field names one
	Old, New float64 // the parameter's values in its base unit, when Param is set
	From, To string  // the values as text ("" for an absent gene)
}

// String renders the change as one line: "retry.maxAttempts: 3 → 5",
// "+ hedge {delay 100ms, maxHedges 1}", "- bulkhead".
func (c Change) String() string {
	switch c.Kind {
	case Added:
		return "+ " + c.Gene.String() + " " + c.To
	case Removed:
		return "- " + c.Gene.String() + " " + c.From
	}
	return c.Field + ": " + c.From + " → " + c.To
}

// Delta is the list of changes from one genome to another, in gene order.
type Delta []Change

// String renders one change per line, or "no change".
func (d Delta) String() string {
	if len(d) == 0 {
		return "no change"
	}
	lines := make([]string, len(d))
	for i, c := range d {
		lines[i] = c.String()
	}
	return strings.Join(lines, "\n")
}

// Diff returns the changes that turn a into b: the module and lineage fields,
// genes added and removed, and every parameter whose value differs.
func Diff(a, b *Genome) Delta {
	var d Delta
	if a.Module != b.Module {
		d = append(d, Change{Kind: Changed, Field: "module", From: a.Module, To: b.Module})
	}
	for k := range numGenes {
		switch ha, hb := a.Has(k), b.Has(k); {
		case !ha && hb:
			d = append(d, Change{Kind: Added, Gene: k, To: geneSummary(b, k)})
		case ha && !hb:
			d = append(d, Change{Kind: Removed, Gene: k, From: geneSummary(a, k)})
		case ha && hb:
			for i := range paramTable {
				p := &paramTable[i]
				if p.Gene != k {
					continue
				}
				va, _ := get(p.ptr(a))
				vb, _ := get(p.ptr(b))
				if va != vb {
					d = append(d, Change{Kind: Changed, Gene: k, Field: p.Path(), Param: &p.Param,
						Old: va, New: vb, From: p.Format(va), To: p.Format(vb)})
				}
			}
			if k == GeneFallback {
				fa, fb := a.Fallback, b.Fallback
				if !bytes.Equal(canonicalOrSelf(fa.Value), canonicalOrSelf(fb.Value)) {
					d = append(d, Change{Kind: Changed, Gene: k, Field: "fallback.value", From: string(fa.Value), To: string(fb.Value)})
				}
				if fa.ErrorClass != fb.ErrorClass {
					d = append(d, Change{Kind: Changed, Gene: k, Field: "fallback.errorClass", From: fa.ErrorClass, To: fb.ErrorClass})
				}
			}
		}
	}
	return d
}

func geneSummary(g *Genome, k GeneKind) string {
	var parts []string
	for _, p := range paramTable {
		if p.Gene == k {
			v, _ := get(p.ptr(g))
			if p.Adaptive && v == 0 { // as in the JSON: a static limit, no budget
				continue
			}
			parts = append(parts, p.Name+" "+p.Format(v))
		}
	}
	if k == GeneFallback && g.Fallback.Kind == FallbackError {
		parts = append(parts, fmt.Sprintf("errorClass %s", g.Fallback.ErrorClass))
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

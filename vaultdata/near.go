package vaultdata

import (
	"cmp"
	"slices"
	"strings"
)

// near returns up to three ids of v close to id, closest first: those within
// an edit distance of a third of id's length (at least 2), and those sharing
// id's first word or containing it.
func (v *Vault) near(id string) []string {
	type cand struct {
		id   string
		dist int
	}
	limit := max(2, len(id)/3)
	word, _, _ := strings.Cut(id, "-")
	var cs []cand
	for _, e := range v.entries {
		other := e.head.ID
		d := distance(id, other)
		switch {
		case d <= limit:
		case word != "" && (strings.HasPrefix(other, word+"-") || strings.Contains(other, id)):
			d = limit + 1 + d // after every close spelling
		default:
			continue
		}
		cs = append(cs, cand{other, d})
	}
	slices.SortFunc(cs, func(a, b cand) int { return cmp.Or(cmp.Compare(a.dist, b.dist), cmp.Compare(a.id, b.id)) })
	var out []string
	for _, c := range cs[:min(3, len(cs))] {
		out = append(out, c.id)
	}
	return out
}

// distance is the Levenshtein edit distance between a and b, in bytes.
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

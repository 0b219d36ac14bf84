package vaultdata

import (
	"cmp"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"

	"github.com/rafaelabs/rafael/genome"
)

// shipped holds the patterns this package ships, each verified by a test.
//
//go:embed patterns/*.json
var shipped embed.FS

// Vault is a set of patterns loaded from one directory, sorted by id. It is
// read-only: what it returns are copies.
type Vault struct {
	patterns []Pattern      // sorted by ID
	byID     map[string]int // index into patterns
}

// Default returns the vault this package ships. Its files are checked by the
// package's tests, so it cannot fail in a released build; if it ever does,
// Default panics with every problem.
func Default() *Vault {
	sub, err := fs.Sub(shipped, "patterns")
	if err == nil {
		var v *Vault
		if v, err = Load(sub); err == nil {
			return v
		}
	}
	panic(err)
}

// Open loads the patterns in dir (its *.json files; subdirectories are not
// read), such as a team's own vault of exported champions.
func Open(dir string) (*Vault, error) {
	if _, err := os.ReadDir(dir); err != nil {
		return nil, fmt.Errorf("vaultdata: %w", err)
	}
	return Load(os.DirFS(dir))
}

// Load loads every *.json file at the root of fsys as a pattern. Decoding is
// strict and every problem of every file is reported at once, joined: each a
// [FieldError] "<file>: <field>: <problem>" — an unknown field, a missing id,
// an invalid genome, an unknown stack or category, a bad threat, an id that
// two files share. Nothing is returned unless every file is valid.
func Load(fsys fs.FS) (*Vault, error) {
	names, err := fs.Glob(fsys, "*.json")
	if err != nil {
		return nil, fmt.Errorf("vaultdata: %w", err)
	}
	v := &Vault{byID: make(map[string]int, len(names)), patterns: make([]Pattern, 0, len(names))}
	var errs []error
	owner := make(map[string]string, len(names)) // id → file
	for _, name := range names {
		data, err := fs.ReadFile(fsys, name)
		if err != nil {
			errs = append(errs, fmt.Errorf("vaultdata: %w", err))
			continue
		}
		p, err := decodePattern(name, data)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if first, dup := owner[p.ID]; dup {
			errs = append(errs, &FieldError{File: name, Field: "id", Problem: fmt.Sprintf("%q is also the id of %s: ids are unique in a vault", p.ID, first)})
			continue
		}
		owner[p.ID] = name
		v.patterns = append(v.patterns, *p)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	slices.SortFunc(v.patterns, func(a, b Pattern) int { return cmp.Compare(a.ID, b.ID) })
	for i, p := range v.patterns {
		v.byID[p.ID] = i
	}
	return v, nil
}

// List returns every pattern, sorted by id.
func (v *Vault) List() []Pattern {
	out := make([]Pattern, len(v.patterns))
	for i := range v.patterns {
		out[i] = v.patterns[i].clone()
	}
	return out
}

// Pattern returns the pattern with the given id. An unknown id is an error
// matching [ErrNotFound] that lists the closest ids.
func (v *Vault) Pattern(id string) (Pattern, error) {
	i, ok := v.byID[id]
	if !ok {
		msg := ""
		if near := v.near(id); len(near) > 0 {
			msg = "; did you mean " + list(quoteAll(near)) + "?"
		}
		return Pattern{}, fmt.Errorf("%w %q in a vault of %d%s", ErrNotFound, id, len(v.patterns), msg)
	}
	return v.patterns[i].clone(), nil
}

// Genome returns a copy of the genome of the pattern with the given id,
// named after the pattern; see [Vault.Pattern] for an unknown id.
func (v *Vault) Genome(id string) (*genome.Genome, error) {
	p, err := v.Pattern(id)
	if err != nil {
		return nil, err
	}
	return p.Genome, nil
}

// Query selects patterns; a zero field selects any.
type Query struct {
	Stack    string   // the stack or a family of stacks: "postgres" matches "postgres/pgx"
	Category Category // the category
	Tags     []string // tags the pattern must all have
	MinScore int      // the lowest declared reliability score
}

// Search returns the patterns q selects, the highest score first, then by id.
func (v *Vault) Search(q Query) []Pattern {
	var out []Pattern
	for i := range v.patterns {
		p := &v.patterns[i]
		if q.Stack != "" && !inStack(p.Stack, q.Stack) ||
			q.Category != 0 && p.Category != q.Category ||
			p.Score < q.MinScore {
			continue
		}
		if !hasAll(p.Tags, q.Tags) {
			continue
		}
		out = append(out, p.clone())
	}
	slices.SortStableFunc(out, func(a, b Pattern) int { return cmp.Compare(b.Score, a.Score) })
	return out
}

func hasAll(tags, want []string) bool {
	for _, w := range want {
		if !slices.Contains(tags, w) {
			return false
		}
	}
	return true
}

func quoteAll(s []string) []string {
	out := make([]string, len(s))
	for i, x := range s {
		out[i] = fmt.Sprintf("%q", x)
	}
	return out
}

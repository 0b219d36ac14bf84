package vaultdata

import (
	"cmp"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"sync"

	"github.com/rafaelabs/rafael/genome"
)

// shipped holds the patterns this package ships, each verified by a test.
//
//go:embed patterns/*.json
var shipped embed.FS

// Vault is a set of patterns loaded from one directory, sorted by id. It is
// read-only — what it returns are copies — and safe for concurrent use.
type Vault struct {
	entries []*entry       // sorted by ID
	byID    map[string]int // index into entries
	lazy    bool           // loaded with Lazy: bodies are decoded on first use
}

// Default returns the vault this package ships, loaded once. Its files are
// checked by the package's tests, so it cannot fail in a released build; if
// it ever does, Default panics with every problem.
func Default() *Vault {
	v, err := shippedVault()
	if err != nil {
		panic(err)
	}
	return v
}

var shippedVault = sync.OnceValues(func() (*Vault, error) {
	sub, err := fs.Sub(shipped, "patterns")
	if err != nil {
		return nil, err
	}
	return load(sub, true, nil) // an embed.FS may be read concurrently
})

// Open loads the patterns in dir (its *.json files; subdirectories are not
// read), such as a team's own vault of exported champions, as [Load] does.
func Open(dir string, opts ...Option) (*Vault, error) {
	if _, err := os.ReadDir(dir); err != nil {
		return nil, fmt.Errorf("vaultdata: %w", err)
	}
	return load(os.DirFS(dir), true, opts) // an os.DirFS may be read concurrently
}

// Load loads every *.json file at the root of fsys as a pattern. Decoding is
// strict and every problem of every file is reported at once, joined: each a
// [FieldError] "<file>: <field>: <problem>" — an unknown field, a missing id,
// an invalid genome, an unknown stack or category, a bad threat, an id that
// two files share. Nothing is returned unless every file is valid. The files
// are decoded on GOMAXPROCS goroutines.
//
// With [Lazy], Load checks only each file's header and ids, and leaves the
// rest of each file to be checked on first use or by [Vault.Check].
func Load(fsys fs.FS, opts ...Option) (*Vault, error) {
	return load(fsys, false, opts)
}

// load is Load, reading the files on the decoding goroutines when fsys is
// known to allow it (fs.FS does not promise it): a file of a directory
// takes longer to read than to decode lazily.
func load(fsys fs.FS, concurrent bool, opts []Option) (*Vault, error) {
	var o options
	for _, opt := range opts {
		opt.apply(&o)
	}
	names, err := fs.Glob(fsys, "*.json")
	if err != nil {
		return nil, fmt.Errorf("vaultdata: %w", err)
	}
	entries := make([]*entry, len(names))
	errs := make([]error, len(names)) // by file, in the order of names
	read := func(i int) {
		e := &entry{file: names[i]}
		var err error
		if e.data, err = fs.ReadFile(fsys, e.file); err != nil {
			errs[i] = fmt.Errorf("vaultdata: %w", err)
			return
		}
		entries[i] = e
	}
	if !concurrent {
		for i := range names {
			read(i)
		}
	}
	parallel(len(entries), func(i int) {
		if concurrent {
			read(i)
		}
		if e := entries[i]; e != nil {
			if o.lazy {
				errs[i] = e.header()
			} else {
				_, errs[i] = e.decode(false)
			}
		}
	})
	v := &Vault{byID: make(map[string]int, len(names)), entries: make([]*entry, 0, len(names)), lazy: o.lazy}
	owner := make(map[string]string, len(names)) // id → file
	for i, e := range entries {
		if errs[i] != nil {
			continue
		}
		if first, dup := owner[e.head.ID]; dup {
			errs[i] = &FieldError{File: e.file, Field: "id", Problem: fmt.Sprintf("%q is also the id of %s: ids are unique in a vault", e.head.ID, first)}
			continue
		}
		owner[e.head.ID] = e.file
		v.entries = append(v.entries, e)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	slices.SortFunc(v.entries, func(a, b *entry) int { return cmp.Compare(a.head.ID, b.head.ID) })
	for i, e := range v.entries {
		v.byID[e.head.ID] = i
	}
	return v, nil
}

// Check decodes and validates every pattern not yet decoded and returns
// every problem of every file, joined, as [Load] without [Lazy] reports
// them. It is nil for a vault loaded without Lazy, whose files were all
// checked then.
func (v *Vault) Check() error {
	if !v.lazy {
		return nil
	}
	errs := make([]error, len(v.entries))
	parallel(len(v.entries), func(i int) { _, errs[i] = v.entries[i].decode(true) })
	return errors.Join(errs...)
}

// List returns every pattern, sorted by id; in a [Lazy] vault, those whose
// files are valid.
func (v *Vault) List() []Pattern {
	return v.patterns(v.entries)
}

// patterns returns copies of the patterns of es that are valid, in order,
// decoding those of a lazy vault on GOMAXPROCS goroutines.
func (v *Vault) patterns(es []*entry) []Pattern {
	full := make([]*Pattern, len(es))
	if v.lazy {
		parallel(len(es), func(i int) { full[i], _ = es[i].decode(true) })
	} else {
		for i, e := range es {
			full[i] = e.full
		}
	}
	out := make([]Pattern, 0, len(es))
	for _, p := range full {
		if p != nil {
			out = append(out, p.clone())
		}
	}
	return out
}

// Pattern returns the pattern with the given id. An unknown id is an error
// matching [ErrNotFound] that lists the closest ids; in a [Lazy] vault, a
// file that proves invalid gives its problems, each a [FieldError].
func (v *Vault) Pattern(id string) (Pattern, error) {
	i, ok := v.byID[id]
	if !ok {
		msg := ""
		if near := v.near(id); len(near) > 0 {
			msg = "; did you mean " + list(quoteAll(near)) + "?"
		}
		return Pattern{}, fmt.Errorf("%w %q in a vault of %d%s", ErrNotFound, id, len(v.entries), msg)
	}
	p, err := v.entries[i].decode(v.lazy)
	if err != nil {
		return Pattern{}, err
	}
	return p.clone(), nil
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

// Search returns the patterns q selects, the highest score first, then by
// id; in a [Lazy] vault, those whose files are valid.
func (v *Vault) Search(q Query) []Pattern {
	var hits []*entry
	for _, e := range v.entries {
		p := &e.head
		if q.Stack != "" && !inStack(p.Stack, q.Stack) ||
			q.Category != 0 && p.Category != q.Category ||
			p.Score < q.MinScore {
			continue
		}
		if !hasAll(p.Tags, q.Tags) {
			continue
		}
		hits = append(hits, e)
	}
	if len(hits) == 0 {
		return nil
	}
	out := v.patterns(hits)
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

package vaultdata_test

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"testing/fstest"

	"github.com/rafaelabs/rafael/vaultdata"
)

// thousand returns 1,000 valid pattern files: the shipped patterns, renamed
// and rescored, over every stack and category.
func thousand(tb testing.TB) fstest.MapFS {
	tb.Helper()
	shipped := vaultdata.Default().List()
	fsys := fstest.MapFS{}
	for i := range 1000 {
		p := shipped[i%len(shipped)]
		p.ID = fmt.Sprintf("%s-%04d", p.ID, i)
		p.Genome.Module = p.ID // as in a real vault: no two genomes alike
		p.Score = i % 101
		for j := range p.Proofs {
			p.Proofs[j].Genome, p.Proofs[j].Score = p.Genome.Digest(), 100
		}
		data, err := json.MarshalIndent(p, "", "  ")
		if err != nil {
			tb.Fatal(err)
		}
		fsys[p.ID+".json"] = &fstest.MapFile{Data: data}
	}
	return fsys
}

// BenchmarkLoad1000 loads 1,000 pattern files, decoding and validating each.
func BenchmarkLoad1000(b *testing.B) {
	fsys := thousand(b)
	for b.Loop() {
		if _, err := vaultdata.Load(fsys); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLoadAndSearch1000 loads 1,000 pattern files lazily (each file's
// header decoded and checked) and searches them as BenchmarkSearch1000 does,
// which decodes and checks the whole of each pattern it returns: issue 9's
// "loading and searching 1,000 patterns takes under 10 ms".
func BenchmarkLoadAndSearch1000(b *testing.B) { loadAndSearch(b, lazy(thousand(b)), false) }

// BenchmarkLoadCheckAndSearch1000 is BenchmarkLoadAndSearch1000 with every
// file checked ([vaultdata.Vault.Check]) before the search: a lazy load that
// still refuses any bad file, as Load without Lazy does.
func BenchmarkLoadCheckAndSearch1000(b *testing.B) { loadAndSearch(b, lazy(thousand(b)), true) }

// lazy returns a function loading fsys with Lazy.
func lazy(fsys fs.FS) func() (*vaultdata.Vault, error) {
	return func() (*vaultdata.Vault, error) { return vaultdata.Load(fsys, vaultdata.Lazy()) }
}

// BenchmarkOpenAndSearch1000 is BenchmarkLoadAndSearch1000 from a
// directory of 1,000 files (Open), through the page cache.
func BenchmarkOpenAndSearch1000(b *testing.B) {
	dir := b.TempDir()
	for name, f := range thousand(b) {
		if err := os.WriteFile(filepath.Join(dir, name), f.Data, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	loadAndSearch(b, func() (*vaultdata.Vault, error) { return vaultdata.Open(dir, vaultdata.Lazy()) }, false)
}

func loadAndSearch(b *testing.B, load func() (*vaultdata.Vault, error), check bool) {
	q := vaultdata.Query{Stack: "postgres", Category: vaultdata.Retry, MinScore: 50}
	for b.Loop() {
		v, err := load()
		if err != nil {
			b.Fatal(err)
		}
		if check {
			if err := v.Check(); err != nil {
				b.Fatal(err)
			}
		}
		if len(v.Search(q)) == 0 {
			b.Fatal("no match")
		}
	}
}

// BenchmarkSearch1000 searches 1,000 patterns by stack family, category,
// tag and minimum score.
func BenchmarkSearch1000(b *testing.B) {
	v, err := vaultdata.Load(thousand(b))
	if err != nil {
		b.Fatal(err)
	}
	q := vaultdata.Query{Stack: "postgres", Category: vaultdata.Retry, MinScore: 50}
	for b.Loop() {
		if len(v.Search(q)) == 0 {
			b.Fatal("no match")
		}
	}
}

// BenchmarkSearchAll1000 returns every one of 1,000 patterns (each a copy).
func BenchmarkSearchAll1000(b *testing.B) {
	v, err := vaultdata.Load(thousand(b))
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if len(v.Search(vaultdata.Query{})) != 1000 {
			b.Fatal("not all")
		}
	}
}

package vaultdata

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// Option changes how [Load] and [Open] read a vault.
type Option interface{ apply(*options) }

type options struct{ lazy bool }

type optionFunc func(*options)

func (f optionFunc) apply(o *options) { f(o) }

// Lazy makes [Load] and [Open] decode at once only what a search needs —
// each file's id, name, summary, category, stack, tags, status and score,
// its top-level fields, and that ids are unique — and keep the rest of each
// file to decode and validate on first use, once. It is the fast way to
// read a large vault (loading and searching 1,000 patterns held in memory
// takes about 6 ms, against about 28 ms without Lazy; see BENCHMARKS.md),
// at the price of later errors:
//
//   - [Load] and [Open] report the header's problems only.
//   - A problem in the rest of a file (the genome, the threats, the model,
//     the SLO, the provenance, the example, JSON syntax inside them) is
//     reported by [Vault.Pattern] and [Vault.Genome] for that id, and by
//     [Vault.Check] for every file.
//   - [Vault.List] and [Vault.Search] leave out a pattern whose file proves
//     invalid: call [Vault.Check] first to be sure none is.
//
// A team's tooling that checks its vault directory should not use Lazy, or
// should call [Vault.Check].
func Lazy() Option { return optionFunc(func(o *options) { o.lazy = true }) }

// parallel calls f(0), ..., f(n-1) on up to GOMAXPROCS goroutines and
// returns when every call has.
func parallel(n int, f func(i int)) {
	workers := min(runtime.GOMAXPROCS(0), n)
	if workers <= 1 {
		for i := range n {
			f(i)
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
				f(i)
			}
		})
	}
	wg.Wait()
}

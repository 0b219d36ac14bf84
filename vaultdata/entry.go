package vaultdata

import (
	"errors"
	"slices"
	"sync"
)

// entry is one pattern file of a vault: its header, decoded when the vault
// is loaded, and the whole pattern, decoded then or, in a lazy vault, on
// first use.
type entry struct {
	file string
	head Pattern // the header fields (see decoder.header); the rest is zero

	once sync.Once
	data []byte   // the file, until decoded
	full *Pattern // the whole pattern, once decoded and valid
	err  error    // the file's problems, once decoded
}

// decode decodes the whole file, caching the pattern or its problems. Its
// header is checked; in a lazy vault this is the first time the rest is.
func (e *entry) decode(lazy bool) (*Pattern, error) {
	e.once.Do(func() {
		d := &decoder{file: e.file}
		if m := d.top(e.data, true); m != nil {
			p := &Pattern{}
			if lazy {
				*p = e.head
				// A header field written twice: the search saw the first,
				// the file means the last.
				var again Pattern
				(&decoder{file: e.file}).header(m, &again)
				if !sameHeader(&again, &e.head) {
					d.bad("(file)", "a header field (id, name, summary, category, stack, tags, status or score) is written twice: write each once")
				}
			} else {
				d.header(m, p)
				e.head = *p
			}
			d.body(m, p)
			e.full = p
		}
		if e.err = errors.Join(d.errs...); e.err != nil {
			e.full = nil
		}
		e.data = nil
	})
	return e.full, e.err
}

// header decodes the file's header only, for a lazy vault.
func (e *entry) header() error {
	d := &decoder{file: e.file}
	if m, whole, ok := membersUntil(e.data, requiredHeader, headerFields); ok && !whole {
		// Every header field was found before the end: the names of the
		// members after them are checked on first use.
		d.header(d.known(m, "", topFields), &e.head)
	} else if m := d.top(e.data, false); m != nil {
		d.header(m, &e.head)
	}
	return errors.Join(d.errs...)
}

// headerFields are the members a lazy load reads at once; requiredHeader
// those every file has: once they are read, the first member that is not
// a header field ends the header.
var (
	headerFields   = []string{"id", "name", "summary", "category", "stack", "tags", "status", "score"}
	requiredHeader = []string{"id", "name", "category", "stack", "status", "score"}
)

// sameHeader reports whether a and b have the same header fields.
func sameHeader(a, b *Pattern) bool {
	return a.ID == b.ID && a.Name == b.Name && a.Summary == b.Summary && a.Category == b.Category &&
		a.Stack == b.Stack && slices.Equal(a.Tags, b.Tags) && a.Status == b.Status && a.Score == b.Score
}

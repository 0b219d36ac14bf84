package vaultdata

import (
	"errors"
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
	if m := d.top(e.data, false); m != nil {
		d.header(m, &e.head)
	}
	return errors.Join(d.errs...)
}

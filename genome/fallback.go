package genome

import (
	"encoding/json"
	"fmt"
	"sync/atomic"
)

type fallback struct {
	kind      FallbackKind
	value     []byte
	class     string
	succeeded atomic.Bool          // some call succeeded (Do's "last good")
	last      atomic.Pointer[cell] // the last successful result of Get
}

type cell struct{ v any }

// remember keeps v as the last good result for a cached fallback.
// A Do result (struct{}) costs an atomic store; a Get result is boxed.
func (f *fallback) remember(v any) {
	if _, ok := v.(struct{}); ok {
		if !f.succeeded.Load() {
			f.succeeded.Store(true)
		}
		return
	}
	f.last.Store(&cell{v})
}

func fallbackFor[T any](f *fallback, err error) (T, error) {
	var zero T
	switch f.kind {
	case FallbackStatic:
		var v T
		if _, ok := any(v).(struct{}); ok || len(f.value) == 0 {
			return v, nil
		}
		if e := json.Unmarshal(f.value, &v); e != nil {
			return zero, fmt.Errorf("genome: fallback.value does not decode into %T (%v): %w", v, e, err)
		}
		return v, nil
	case FallbackCached:
		if _, ok := any(zero).(struct{}); ok {
			if f.succeeded.Load() {
				return zero, nil
			}
			return zero, err
		}
		if c := f.last.Load(); c != nil {
			if v, ok := c.v.(T); ok {
				return v, nil
			}
		}
		return zero, err
	}
	return zero, &DegradedError{Class: f.class, Cause: err}
}

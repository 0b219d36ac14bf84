package faults

import "context"

// Func returns fn wrapped so that h's faults act on each call: the wrapper
// calls h.Before(ctx) and returns its error with T's zero value, or else
// calls fn. See [Hook.Before] for what each fault does.
func Func[T any](h *Hook, fn func(context.Context) (T, error)) func(context.Context) (T, error) {
	return func(ctx context.Context) (T, error) {
		if err := h.Before(ctx); err != nil {
			var zero T
			return zero, err
		}
		return fn(ctx)
	}
}

// FuncErr is [Func] for a function that returns only an error.
func FuncErr(h *Hook, fn func(context.Context) error) func(context.Context) error {
	return func(ctx context.Context) error {
		if err := h.Before(ctx); err != nil {
			return err
		}
		return fn(ctx)
	}
}

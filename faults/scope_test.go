package faults

import (
	"context"
	"net"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var _ Scoper = (*Hook)(nil)

// Faults applied in one scope act only on calls that carry it: two trials
// that share a hook can run at the same time.
func TestScopesKeepTrialsApart(t *testing.T) {
	h := NewHook("db", 1)
	call := FuncErr(h, func(context.Context) error { return nil })
	a, b := NewScope(), NewScope()
	ctxA, ctxB := WithScope(context.Background(), a), WithScope(context.Background(), b)

	remove, err := h.InScope(a).Apply(Down{})
	require.NoError(t, err)
	assert.ErrorIs(t, call(ctxA), ErrRefused, "scope a is down")
	assert.NoError(t, call(ctxB), "scope b is not")
	assert.NoError(t, call(context.Background()), "nor is the hook's own state")
	n, unit := h.InScope(a).(Toucher).Touched(KindDown)
	assert.EqualValues(t, 1, n)
	assert.Equal(t, "calls", unit)
	n, _ = h.InScope(b).(Toucher).Touched(KindDown)
	assert.Zero(t, n)
	remove()
	assert.NoError(t, call(ctxA))

	_, err = h.Apply(Down{}) // the hook's own state: calls with no scope
	require.NoError(t, err)
	assert.ErrorIs(t, call(context.Background()), ErrRefused)
	assert.NoError(t, call(ctxA), "a scope does not see the hook's own faults")

	a.End()
	h.mu.Lock()
	_, kept := h.scopes[a]
	h.mu.Unlock()
	assert.False(t, kept, "an ended scope's state is forgotten")
	b.End()
}

// Each scope's random decisions restart from its own seed.
func TestScopesReseedApart(t *testing.T) {
	h := NewHook("api", 1)
	call := FuncErr(h, func(context.Context) error { return nil })
	draw := func(s *Scope) []bool {
		v := h.InScope(s)
		v.(Reseeder).Reseed(42)
		remove, err := v.Apply(Error{Rate: 0.5})
		require.NoError(t, err)
		defer remove()
		ctx := WithScope(context.Background(), s)
		out := make([]bool, 32)
		for i := range out {
			out[i] = call(ctx) != nil
		}
		return out
	}
	a, b := NewScope(), NewScope()
	defer a.End()
	defer b.End()
	first := draw(a)
	assert.Equal(t, first, draw(b), "same seed, same decisions, whatever the other scope drew")
	assert.Contains(t, first, true)
	assert.Contains(t, first, false)
}

// Two bubbles at once, one hook: each trial sees only its own outage.
func TestScopesInConcurrentBubbles(t *testing.T) {
	h := NewConnHook("cache", 1)
	run := func(down bool) (failed int) {
		synctest.Test(t, func(t *testing.T) {
			s := NewScope()
			defer s.End()
			ctx := WithScope(t.Context(), s)
			if down {
				stop := ScheduleTracked(h.InScope(s), Down{}, 0, time.Second, nil)
				defer stop()
			}
			dial := Dialer(h, func(context.Context, string, string) (net.Conn, error) {
				c, srv := net.Pipe()
				go func() { _ = srv.Close() }()
				return c, nil
			})
			for range 10 {
				time.Sleep(50 * time.Millisecond)
				if c, err := dial(ctx, "tcp", "x"); err != nil {
					failed++
				} else {
					_ = c.Close()
				}
			}
		})
		return failed
	}
	results := make(chan [2]int, 1)
	go func() { results <- [2]int{run(true), 0} }()
	calm := run(false)
	got := <-results
	assert.Equal(t, 10, got[0], "the scope with the outage: every dial refused")
	assert.Zero(t, calm, "the other, at the same time: none")
}

// A call that carries no scope (a workload that dropped the trial's
// context) sees the one live scope, as before scopes; with several live it
// sees the hook's own state and is counted astray.
func TestACallWithoutAScope(t *testing.T) {
	h := NewHook("db", 1)
	call := FuncErr(h, func(context.Context) error { return nil })
	a := NewScope()
	_, err := h.InScope(a).Apply(Down{})
	require.NoError(t, err)
	assert.ErrorIs(t, call(context.Background()), ErrRefused, "the only live scope's outage")
	assert.Zero(t, h.Astray())

	b := NewScope()
	_, err = h.InScope(b).Apply(Latency{Delay: time.Millisecond})
	require.NoError(t, err)
	assert.NoError(t, call(context.Background()), "two live scopes: the hook's own state, which has no fault")
	assert.EqualValues(t, 1, h.Astray())
	a.End()
	b.End()
}

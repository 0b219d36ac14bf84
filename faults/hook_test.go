package faults

import (
	"context"
	"errors"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func hookOK(context.Context) error { return nil }

func TestHookSupports(t *testing.T) {
	plain, conns := NewHook("svc", 1), NewConnHook("link", 1)
	for k := range numKinds {
		inProcess := k == KindLatency || k == KindDown || k == KindHang || k == KindReset || k == KindError
		assert.Equal(t, inProcess, plain.Supports(k), "plain hook, %s", k)
		assert.True(t, conns.Supports(k), "conn hook, %s", k)
	}
	assert.False(t, conns.Supports(numKinds))
	assert.Equal(t, "svc", plain.Name())
	var _ Target = plain
}

func TestHookApplyRejects(t *testing.T) {
	h := NewHook("svc", 1)
	_, err := h.Apply(Latency{Delay: -1})
	require.ErrorIs(t, err, ErrInvalid)
	assert.Contains(t, err.Error(), "latency.Delay")

	_, err = h.Apply(Blackhole{})
	require.ErrorIs(t, err, ErrUnsupported)
	assert.Contains(t, err.Error(), `"svc"`)
	assert.Contains(t, err.Error(), "blackhole")

	_, err = h.Apply(nil)
	require.ErrorIs(t, err, ErrInvalid)
	_, err = h.Apply(&Down{})
	require.ErrorIs(t, err, ErrInvalid)

	require.NoError(t, h.Before(t.Context()), "a rejected fault must inject nothing")
}

func TestHookDownRefuses(t *testing.T) {
	h := NewHook("db", 1)
	remove, err := h.Apply(Down{})
	require.NoError(t, err)
	err = h.Before(t.Context())
	require.ErrorIs(t, err, ErrRefused)
	require.ErrorIs(t, err, syscall.ECONNREFUSED)
	assert.EqualError(t, err, "faults: db: connection refused (injected down)")
	remove()
	assert.NoError(t, h.Before(t.Context()))
}

func TestHookRemoveIsIdempotent(t *testing.T) {
	h := NewHook("svc", 1)
	removeErr, err := h.Apply(Error{})
	require.NoError(t, err)
	removeDown, err := h.Apply(Down{})
	require.NoError(t, err)
	removeErr()
	removeErr() // must not remove Down, nor panic
	require.ErrorIs(t, h.Before(t.Context()), ErrRefused)
	removeDown()
	removeDown()
	assert.NoError(t, h.Before(t.Context()))
}

func TestHookErrorAndOrder(t *testing.T) {
	h := NewHook("svc", 1)
	boom := errors.New("boom")
	removeErr, _ := h.Apply(Error{Err: boom})
	assert.Same(t, boom, h.Before(t.Context()))
	removeDown, _ := h.Apply(Down{})
	require.ErrorIs(t, h.Before(t.Context()), ErrRefused, "Down comes before Error")
	removeDown()
	removeErr()
	removeErr, _ = h.Apply(Error{Rate: 1})
	assert.Same(t, ErrInjected, h.Before(t.Context()))
	removeErr()
	assert.NoError(t, h.Before(t.Context()))
}

func TestHookReset(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := NewHook("svc", 1)
		remove, err := h.Apply(Reset{After: 2 * time.Second})
		require.NoError(t, err)
		assert.NoError(t, h.Before(t.Context()), "before After has passed")
		time.Sleep(2 * time.Second)
		err = h.Before(t.Context())
		require.ErrorIs(t, err, ErrReset)
		require.ErrorIs(t, err, syscall.ECONNRESET)
		remove()
		assert.NoError(t, h.Before(t.Context()))
	})
}

// TestHookScheduledOutage is a 30-second outage from t=5s, in virtual time.
func TestHookScheduledOutage(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := NewHook("db", 1)
		call := FuncErr(h, hookOK)
		start := time.Now()
		cancel := Schedule(h, Down{}, 5*time.Second, 30*time.Second, func(err error) { t.Error(err) })
		defer cancel()
		for _, at := range []time.Duration{0, 4999 * time.Millisecond, 5 * time.Second, 20 * time.Second,
			34999 * time.Millisecond, 35 * time.Second, 60 * time.Second} {
			time.Sleep(at - time.Since(start))
			synctest.Wait() // let the schedule's timers run first
			err := call(t.Context())
			if at >= 5*time.Second && at < 35*time.Second {
				assert.ErrorIs(t, err, ErrRefused, "at %v", at)
			} else {
				assert.NoError(t, err, "at %v", at)
			}
		}
	})
}

func hookPattern(seed uint64, rate float64, n int) []bool {
	h := NewHook("svc", seed)
	if _, err := h.Apply(Error{Rate: rate}); err != nil {
		panic(err)
	}
	call := FuncErr(h, hookOK)
	out := make([]bool, n)
	for i := range out {
		out[i] = call(context.Background()) != nil
	}
	return out
}

func TestHookSameSeedSameFailures(t *testing.T) {
	a, b, other := hookPattern(42, 0.3, 200), hookPattern(42, 0.3, 200), hookPattern(43, 0.3, 200)
	assert.Equal(t, a, b, "same seed, same pattern")
	assert.NotEqual(t, a, other, "another seed, another pattern")
	failed := 0
	for _, f := range a {
		if f {
			failed++
		}
	}
	assert.InDelta(t, 0.3, float64(failed)/200, 0.15, "%d of 200 failed", failed)
}

func TestHookReseedRestartsTheDecisions(t *testing.T) {
	h := NewHook("svc", 42)
	_, err := h.Apply(Error{Rate: 0.3})
	require.NoError(t, err)
	call := FuncErr(h, hookOK)
	draw := func() []bool {
		out := make([]bool, 200)
		for i := range out {
			out[i] = call(context.Background()) != nil
		}
		return out
	}
	first := draw()
	assert.NotEqual(t, first, draw(), "without a reseed the stream goes on")
	h.Reseed(42)
	assert.Equal(t, first, draw(), "a reseed replays the decisions of a fresh hook")
	assert.Equal(t, hookPattern(42, 0.3, 200), first)
}

func TestHookLatencyExact(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := NewHook("svc", 1)
		_, err := h.Apply(Latency{Delay: 250 * time.Millisecond})
		require.NoError(t, err)
		call := Func(h, func(context.Context) (int, error) { return 7, nil })
		start := time.Now()
		v, err := call(t.Context())
		require.NoError(t, err)
		assert.Equal(t, 7, v)
		assert.Equal(t, 250*time.Millisecond, time.Since(start))
	})
}

func TestHookLatencyJitterIsSeeded(t *testing.T) {
	delays := func(seed uint64) []time.Duration {
		var out []time.Duration
		synctest.Test(t, func(t *testing.T) {
			h := NewHook("svc", seed)
			_, err := h.Apply(Latency{Delay: 100 * time.Millisecond, Jitter: 50 * time.Millisecond, Toxicity: 0.5})
			require.NoError(t, err)
			for range 50 {
				start := time.Now()
				require.NoError(t, h.Before(t.Context()))
				out = append(out, time.Since(start))
			}
		})
		return out
	}
	a := delays(9)
	assert.Equal(t, a, delays(9))
	spared := 0
	for _, d := range a {
		if d == 0 {
			spared++
			continue
		}
		assert.GreaterOrEqual(t, d, 50*time.Millisecond)
		assert.LessOrEqual(t, d, 150*time.Millisecond)
	}
	assert.Positive(t, spared, "Toxicity 0.5 spares some calls")
	assert.Less(t, spared, 50, "Toxicity 0.5 delays some calls")
}

func TestHookLatencyHonoursCancel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := NewHook("svc", 1)
		_, err := h.Apply(Latency{Delay: time.Second})
		require.NoError(t, err)
		ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
		defer cancel()
		called := false
		start := time.Now()
		err = FuncErr(h, func(context.Context) error { called = true; return nil })(ctx)
		require.ErrorIs(t, err, context.DeadlineExceeded)
		assert.Equal(t, 100*time.Millisecond, time.Since(start))
		assert.False(t, called)
	})
}

func TestHookHangUntilDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := NewHook("svc", 1)
		remove, err := h.Apply(Hang{})
		require.NoError(t, err)
		ctx, cancel := context.WithTimeout(t.Context(), 3*time.Second)
		defer cancel()
		start := time.Now()
		_, err = Func(h, func(context.Context) (string, error) { return "never", nil })(ctx)
		require.ErrorIs(t, err, context.DeadlineExceeded)
		assert.Equal(t, 3*time.Second, time.Since(start))

		// Removing the Hang releases the calls it holds, reset.
		time.AfterFunc(time.Second, remove)
		start = time.Now()
		err = h.Before(t.Context())
		require.ErrorIs(t, err, ErrReset)
		assert.Equal(t, time.Second, time.Since(start))
		assert.NoError(t, h.Before(t.Context()), "removed")
	})
}

func TestHookErrorBeforeLatency(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := NewHook("svc", 1)
		_, _ = h.Apply(Latency{Delay: time.Second})
		remove, _ := h.Apply(Error{})
		start := time.Now()
		require.ErrorIs(t, h.Before(t.Context()), ErrInjected)
		assert.Zero(t, time.Since(start), "an injected error returns at once")
		remove()
		require.NoError(t, h.Before(t.Context()))
		assert.Equal(t, time.Second, time.Since(start))
	})
}

func TestFuncPassesThrough(t *testing.T) {
	h := NewHook("svc", 1)
	boom := errors.New("boom")
	calls := 0
	call := Func(h, func(context.Context) (int, error) { calls++; return 3, boom })
	v, err := call(t.Context())
	assert.Equal(t, 3, v)
	assert.Same(t, boom, err)
	remove, _ := h.Apply(Down{})
	v, err = call(t.Context())
	assert.Zero(t, v)
	require.ErrorIs(t, err, ErrRefused)
	assert.Equal(t, 1, calls, "a refused call never reaches fn")
	remove()
}

// ScheduleTracked keeps the evidence of what a scheduled fault did: when it
// was applied and removed, and how many calls it acted on.
func TestScheduleTrackedKeepsTheEvidence(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := NewHook("api", 1)
		call := FuncErr(h, func(context.Context) error { return nil })
		start := time.Now()
		stop := ScheduleTracked(h, Error{Every: 2}, time.Second, 2*time.Second, nil)
		failed := 0
		time.Sleep(50 * time.Millisecond) // no call at the instant the fault comes or goes: their order is the scheduler's
		for range 40 {                    // a call every 100 ms for 4 s, at 50 ms, 150 ms, …
			if call(t.Context()) != nil {
				failed++
			}
			time.Sleep(100 * time.Millisecond)
		}
		ev := stop()
		assert.Equal(t, "api", ev.Target)
		assert.Equal(t, time.Second, ev.Applied.Sub(start))
		assert.Equal(t, 3*time.Second, ev.Removed.Sub(start))
		assert.Equal(t, "calls", ev.Unit)
		assert.EqualValues(t, failed, ev.Touched, "it acted on the calls it failed")
		assert.Equal(t, 10, failed, "every 2nd of the 20 calls in its 2 s (1.05 s … 2.95 s)")

		never := ScheduleTracked(h, Down{}, time.Hour, time.Second, nil)()
		assert.True(t, never.Applied.IsZero(), "stopped before its time: never applied")
		assert.Zero(t, never.Touched)

		bad := ScheduleTracked(h, Bandwidth{BytesPerSecond: 4096}, 0, time.Second, nil)
		time.Sleep(time.Millisecond)
		assert.ErrorIs(t, bad().Err, ErrUnsupported, "a call hook cannot throttle bytes")
	})
}

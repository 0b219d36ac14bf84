package faults

import (
	"context"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// calls makes n calls of s at once in ctx and returns, per call, when it
// returned (from now) and its error.
func calls(ctx context.Context, s *Server, n int) ([]time.Duration, []error) {
	t0 := time.Now()
	took, errs := make([]time.Duration, n), make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			errs[i] = s.Call(ctx)
			took[i] = time.Since(t0)
		})
		synctest.Wait() // in arrival order
	}
	wg.Wait()
	return took, errs
}

func TestServerServesWorkersAtOnceQueuesTheRestAndRefusesBeyond(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := NewServer("db", 2, 2, 10*time.Millisecond)
		took, errs := calls(t.Context(), s, 5)
		for i := range 4 {
			require.NoError(t, errs[i], "call %d", i)
		}
		assert.Equal(t, []time.Duration{10 * time.Millisecond, 10 * time.Millisecond, 20 * time.Millisecond, 20 * time.Millisecond}, took[:4])
		require.ErrorIs(t, errs[4], ErrOverloaded)
		assert.Zero(t, took[4], "a full queue refuses at once")
		assert.Equal(t, int64(5), s.Stats(t.Context()).Calls)
	})
}

func TestServerSpendsTheTimeOfACallerThatGaveUp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := NewServer("db", 1, 10, 100*time.Millisecond)
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Millisecond)
		defer cancel()
		// Two callers give up after 30ms; the server still serves them both.
		_, errs := calls(ctx, s, 2)
		for _, err := range errs {
			require.ErrorIs(t, err, context.DeadlineExceeded)
		}
		st := s.Stats(t.Context())
		assert.Equal(t, 1, st.Queued, "the second abandoned call still holds its place")
		assert.Equal(t, 170*time.Millisecond, st.Wasted, "70ms of the first call's service and all 100ms of the second's")
		took, errs := calls(t.Context(), s, 1)
		require.NoError(t, errs[0])
		assert.Equal(t, 270*time.Millisecond, took[0], "arriving at 30ms, a new call waits behind 170ms of work nobody waits for, then its own 100ms")
	})
}

func TestServerFaults(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := NewServer("db", 1, 0, 10*time.Millisecond)
		remove, err := s.Apply(Latency{Delay: 40 * time.Millisecond})
		require.NoError(t, err)
		took, errs := calls(t.Context(), s, 1)
		require.NoError(t, errs[0])
		assert.Equal(t, 50*time.Millisecond, took[0], "latency slows the service itself")
		remove()
		remove() // idempotent

		down, err := s.Apply(Down{})
		require.NoError(t, err)
		_, errs = calls(t.Context(), s, 1)
		require.ErrorIs(t, errs[0], ErrRefused)
		down()

		fail, err := s.Apply(Error{Rate: 1})
		require.NoError(t, err)
		_, errs = calls(t.Context(), s, 1)
		require.ErrorIs(t, errs[0], ErrInjected)
		fail()
		n, unit := s.Touched(KindLatency)
		assert.Equal(t, int64(3), n)
		assert.Equal(t, "calls", unit)

		_, err = s.Apply(Hang{})
		require.ErrorIs(t, err, ErrUnsupported)
	})
}

func TestServerKeepsTrialsApart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := NewServer("db", 1, 0, 10*time.Millisecond)
		a, b := NewScope(), NewScope()
		defer a.End()
		defer b.End()
		down, err := s.InScope(a).Apply(Down{})
		require.NoError(t, err)
		defer down()
		ctxA, ctxB := WithScope(t.Context(), a), WithScope(t.Context(), b)
		_, errs := calls(ctxA, s, 1)
		require.ErrorIs(t, errs[0], ErrRefused, "a's fault acts in a")
		// b's single worker is its own: two calls in b at once, the second
		// refused (no queue), while a's state is untouched.
		_, errs = calls(ctxB, s, 2)
		require.NoError(t, errs[0])
		require.ErrorIs(t, errs[1], ErrOverloaded)
		assert.Equal(t, int64(1), s.Stats(ctxA).Calls)
		assert.Equal(t, int64(2), s.Stats(ctxB).Calls)
	})
}

func TestNewServerRefusesAModelWithoutCapacity(t *testing.T) {
	assert.Panics(t, func() { NewServer("db", 0, 1, time.Millisecond) })
	assert.Panics(t, func() { NewServer("db", 1, -1, time.Millisecond) })
}

package sim

import (
	"context"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/rafaelabs/rafael/faults"
	"github.com/stretchr/testify/assert"
)

func TestDependencyServesItsCapacityAndRefusesTheRest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d := &Dependency{Slots: 2, Serve: 10 * time.Millisecond}
		start := time.Now()
		var wg sync.WaitGroup
		errs := make([]error, 3)
		for i := range errs {
			wg.Go(func() { errs[i] = d.Call(t.Context()) })
			synctest.Wait()
		}
		wg.Wait()
		assert.Equal(t, []error{nil, nil, ErrOverloaded}, errs)
		assert.Equal(t, 10*time.Millisecond, time.Since(start), "served in Serve, in virtual time")
		assert.NoError(t, d.Call(t.Context()), "free again")
	})
}

func TestDependencyGoesThroughItsHook(t *testing.T) {
	h := faults.NewHook("db", 1)
	remove, err := h.Apply(faults.Down{})
	assert.NoError(t, err)
	d := &Dependency{Hook: h}
	assert.ErrorIs(t, d.Call(context.Background()), faults.ErrRefused)
	remove()
	assert.NoError(t, d.Call(context.Background()))
}

func TestWorkEndsWithItsContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithTimeout(t.Context(), time.Millisecond)
		defer cancel()
		assert.ErrorIs(t, Work(ctx, time.Hour), context.DeadlineExceeded)
	})
}

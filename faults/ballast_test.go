package faults

import (
	"errors"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"
)

const mib = 1 << 20

// TestBallastNeverExceedsLimit is a state machine: random sequences of Grow
// and Release against a small limit. Size never passes Limit; Grow fails,
// with ErrBallastCap and nothing allocated, exactly when it would pass it.
func TestBallastNeverExceedsLimit(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		limit := rapid.Int64Range(1, 8*mib).Draw(t, "limit")
		b, err := NewBallast(limit)
		require.NoError(t, err)
		defer b.Release()
		var want int64 // the model: bytes held
		t.Repeat(map[string]func(*rapid.T){
			"Grow": func(t *rapid.T) {
				n := rapid.Int64Range(0, limit+limit/2).Draw(t, "n")
				err := b.Grow(n)
				if want+n > limit {
					require.ErrorIs(t, err, ErrBallastCap)
					require.Contains(t, err.Error(), "limit of "+ballastBytes(limit))
				} else {
					require.NoError(t, err)
					want += n
				}
			},
			"Release": func(t *rapid.T) {
				b.Release()
				want = 0
			},
			"": func(t *rapid.T) {
				require.Equal(t, want, b.Size())
				require.LessOrEqual(t, b.Size(), b.Limit())
				require.Equal(t, limit, b.Limit())
			},
		})
		b.Release()
		require.Zero(t, b.Size())
	})
}

func TestBallastGrowTouchesChunks(t *testing.T) {
	b, err := NewBallast(3*mib + 5)
	require.NoError(t, err)
	defer b.Release()
	require.NoError(t, b.Grow(3*mib+5))
	b.mu.Lock()
	sizes := make([]int, len(b.chunks))
	for i, c := range b.chunks {
		sizes[i] = len(c)
		for j := 0; j < len(c); j += ballastPage {
			require.Equal(t, byte(1), c[j], "chunk %d page at %d not touched", i, j)
		}
	}
	b.mu.Unlock()
	assert.Equal(t, []int{mib, mib, mib, 5}, sizes)
	b.Release()
	b.Release() // idempotent
	assert.Zero(t, b.Size())
	assert.Nil(t, b.chunks)
}

func TestBallastRejectsBadArguments(t *testing.T) {
	for _, limit := range []int64{0, -1} {
		_, err := NewBallast(limit)
		assert.ErrorIs(t, err, ErrInvalid, "limit %d", limit)
	}
	b, err := NewBallast(mib)
	require.NoError(t, err)
	assert.ErrorIs(t, b.Grow(-1), ErrInvalid)
	assert.NoError(t, b.Grow(0))
	assert.Zero(t, b.Size())
}

func TestBallastAbsoluteCap(t *testing.T) {
	for _, limit := range []int64{1 << 50, MaxBallast + 1} {
		b, err := NewBallast(limit)
		require.ErrorIs(t, err, ErrBallastCap)
		assert.Nil(t, b)
		assert.Contains(t, err.Error(), "MaxBallast = 4 GiB")
	}
}

func TestBallastMachineCap(t *testing.T) {
	// A 4 GiB machine: 1 GiB is the most a ballast may hold.
	err := ballastCheckLimit(1<<30+1, 4<<30, "MemTotal", true)
	require.ErrorIs(t, err, ErrBallastCap)
	assert.EqualError(t, err, "faults: ballast cap exceeded: limit 1.0 GiB is above the machine cap of 25% of memory = 1 GiB (MemTotal = 4 GiB)")
	assert.NoError(t, ballastCheckLimit(1<<30, 4<<30, "MemTotal", true))
	// Memory unknown: only MaxBallast applies.
	assert.NoError(t, ballastCheckLimit(MaxBallast, 0, "", false))
	assert.ErrorIs(t, ballastCheckLimit(MaxBallast+1, 0, "", false), ErrBallastCap)

	// This machine: whatever it has, its cap is at most a quarter.
	mem, source, ok := ballastMachineMemory()
	if !ok {
		t.Skip("machine memory unknown here")
	}
	t.Logf("machine memory %s from %s", ballastBytes(mem), source)
	if mem/ballastMemDivisor < MaxBallast {
		_, err := NewBallast(mem/ballastMemDivisor + 1)
		require.ErrorIs(t, err, ErrBallastCap)
		assert.Contains(t, err.Error(), "25% of memory")
	}
}

func TestBallastParseMemTotal(t *testing.T) {
	n, ok := ballastParseMemTotal([]byte("MemFree:  1000 kB\nMemTotal:       24684100 kB\nCached: 5 kB\n"))
	assert.True(t, ok)
	assert.Equal(t, int64(24684100)<<10, n)
	for _, bad := range []string{"", "MemTotal: x kB\n", "MemTotal: 5 MB\n", "MemTotal: -5 kB\n"} {
		_, ok := ballastParseMemTotal([]byte(bad))
		assert.False(t, ok, "%q", bad)
	}
}

func TestBallastBytes(t *testing.T) {
	for n, want := range map[int64]string{0: "0 B", 1023: "1023 B", 1024: "1 KiB", 1536: "1.5 KiB", 64 * mib: "64 MiB", MaxBallast: "4 GiB", 1 << 50: "1 PiB"} {
		assert.Equal(t, want, ballastBytes(n), "%d", n)
	}
}

func TestBallastConcurrentGrow(t *testing.T) {
	const limit = 10 * mib
	b, err := NewBallast(limit)
	require.NoError(t, err)
	defer b.Release()
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		grown  int64
		capped int
	)
	for range 16 {
		wg.Go(func() {
			err := b.Grow(mib)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				grown += mib
			case errors.Is(err, ErrBallastCap):
				capped++
			default:
				t.Errorf("Grow: %v", err)
			}
			assert.LessOrEqual(t, b.Size(), int64(limit))
		})
	}
	wg.Wait()
	assert.Equal(t, int64(limit), grown)
	assert.Equal(t, 6, capped)
	assert.Equal(t, int64(limit), b.Size())
}

func TestBallastHoldReleasesAtCleanup(t *testing.T) {
	var b *Ballast
	t.Run("hold", func(t *testing.T) {
		var err error
		b, err = Hold(t, 2*mib)
		require.NoError(t, err)
		assert.Equal(t, int64(2*mib), b.Size())
		assert.Equal(t, int64(2*mib), b.Limit())
	})
	assert.Zero(t, b.Size(), "released when the subtest ended")

	t.Run("refused", func(t *testing.T) {
		b, err := Hold(t, MaxBallast+1)
		assert.ErrorIs(t, err, ErrBallastCap)
		assert.Nil(t, b)
	})
}

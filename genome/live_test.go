package genome

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// writeGenome writes g to path atomically (a temporary file renamed), as
// the guardian writes the adopted genome.
func writeGenome(t *testing.T, path string, g *Genome) {
	t.Helper()
	data, err := g.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// newLive writes g to a file of its own and opens a Live on it.
func newLive(t *testing.T, g *Genome) (*Live, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "checkout.genome.json")
	writeGenome(t, path, g)
	l, err := NewLive(path)
	if err != nil {
		t.Fatal(err)
	}
	return l, path
}

func liveGenome(attempts, threshold int) *Genome {
	return &Genome{Module: "checkout",
		Retry:          &Retry{MaxAttempts: attempts, BaseDelay: time.Millisecond, MaxDelay: time.Millisecond, Multiplier: 1},
		CircuitBreaker: &CircuitBreaker{Mode: BreakerConsecutive, Threshold: threshold, OpenDuration: 10 * time.Minute, HalfOpenProbes: 1, FailureRate: 0.5, Window: 10},
		RateLimit:      &RateLimit{Rate: 1e9, Burst: 1000},
		Bulkhead:       &Bulkhead{MaxConcurrent: 64}}
}

// A reload that retunes the retry keeps the breaker open: the dependency
// it protects is still down. A reload that changes the breaker starts it
// afresh.
func TestLiveKeepsTheStateOfGenesThatDidNotChange(t *testing.T) {
	l, path := newLive(t, liveGenome(1, 2))
	first := l.Digest()
	for range 2 {
		_ = l.Do(t.Context(), func(context.Context) error { return errDown })
	}
	if l.Policy().BreakerState() != Open {
		t.Fatalf("two failures did not open the breaker: %v", l.Policy().BreakerState())
	}

	writeGenome(t, path, liveGenome(3, 2))
	if swapped, err := l.Reload(); !swapped || err != nil {
		t.Fatalf("reload after a change: swapped %v, %v", swapped, err)
	}
	if l.Digest() == first {
		t.Fatal("the digest did not change")
	}
	if l.Policy().BreakerState() != Open {
		t.Fatal("retuning the retry closed the breaker: its state was lost")
	}
	if err := l.Do(t.Context(), func(context.Context) error { return nil }); !errors.Is(err, ErrCircuitOpen) {
		t.Fatalf("a call through the still-open breaker: %v", err)
	}

	if swapped, err := l.Reload(); swapped || err != nil {
		t.Fatalf("a reload of the same file swaps nothing: %v, %v", swapped, err)
	}

	writeGenome(t, path, liveGenome(3, 5))
	if _, err := l.Reload(); err != nil {
		t.Fatal(err)
	}
	if l.Policy().BreakerState() != Closed {
		t.Fatal("a breaker with new parameters starts closed")
	}
}

// A file that does not load leaves the running policy, and says why.
func TestLiveKeepsThePolicyWhenTheFileIsBad(t *testing.T) {
	l, path := newLive(t, liveGenome(2, 5))
	digest := l.Digest()
	good, err := liveGenome(2, 5).MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	outOfRange := strings.Replace(string(good), `"maxAttempts":2`, `"maxAttempts":1000`, 1)
	if outOfRange == string(good) {
		t.Fatalf("the genome's JSON changed shape: %s", good)
	}
	for name, data := range map[string]string{
		"truncated":    string(good[:len(good)/2]),
		"out of range": outOfRange,
	} {
		if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
		swapped, err := l.Reload()
		if swapped || err == nil {
			t.Fatalf("%s: swapped %v, err %v", name, swapped, err)
		}
		for _, want := range []string{path, "the running policy stays"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("%s: %q does not say %q", name, err, want)
			}
		}
		if l.Digest() != digest || l.Do(t.Context(), func(context.Context) error { return nil }) != nil {
			t.Fatalf("%s: the running policy did not stay", name)
		}
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Reload(); err == nil || l.Digest() != digest {
		t.Fatalf("a removed file: %v", err)
	}
	if _, err := NewLive(path); err == nil {
		t.Fatal("NewLive of a missing file must fail: a service must not start without its policy")
	}
}

// Reloads while calls run: no call fails, none is lost by the bulkhead
// (its calls in flight carry over), and the race detector sees nothing.
func TestLiveReloadsUnderConcurrentCalls(t *testing.T) {
	l, path := newLive(t, liveGenome(2, 5))
	ctx, cancel := context.WithCancel(t.Context())
	var calls, failed atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for ctx.Err() == nil {
				calls.Add(1)
				if err := l.Do(ctx, func(context.Context) error { return nil }); err != nil && ctx.Err() == nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
				}
			}
		})
	}
	swaps := 0
	for i := range 200 {
		writeGenome(t, path, liveGenome(2+i%2, 5))
		swapped, err := l.Reload()
		if err != nil {
			t.Fatal(err)
		}
		if swapped {
			swaps++
		}
	}
	cancel()
	wg.Wait()
	if failed.Load() != 0 || swaps != 199 || calls.Load() == 0 { // the first write is the file as loaded
		t.Fatalf("%d of %d calls failed over %d swaps (the first: %v)", failed.Load(), calls.Load(), swaps, firstErr.Load())
	}
	if n := l.Policy().bh.inflight.Load(); n != 0 {
		t.Fatalf("the bulkhead counts %d calls in flight after all returned: a slot was lost across swaps", n)
	}
}

// Watch notices a new file and says so.
func TestLiveWatchReloads(t *testing.T) {
	l, path := newLive(t, liveGenome(2, 5))
	ctx, cancel := context.WithCancel(t.Context())
	reports := make(chan Reloaded, 4)
	done := make(chan struct{})
	go func() { defer close(done); l.Watch(ctx, 100*time.Millisecond, func(r Reloaded) { reports <- r }) }()
	defer func() { cancel(); <-done }()
	before := l.Digest()
	writeGenome(t, path, liveGenome(3, 5))
	select {
	case r := <-reports:
		if r.Err != nil || r.From != before || r.To != l.Digest() || r.To == before {
			t.Fatalf("report %+v", r)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Watch did not notice the new file")
	}
}

package genome

import (
	"context"
	"crypto/sha256"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// Live is a policy that follows a genome file while the service runs: the
// adopted genome the guardian writes, which a service loads at start-up
// and reloads when a new one is adopted. Each reload validates and
// compiles the file and swaps the policy atomically; calls in flight
// finish on the policy they started with, and the state of every gene
// whose parameters did not change — an open breaker, a rate limiter's
// tokens, a bulkhead's calls in flight — carries over, so a reload that
// retunes the retry does not close a breaker that protects a dependency
// still down. A file that does not load or compile leaves the running
// policy in place, and the reload says why.
//
// Live's Do is Policy's Do through one atomic load: still no allocation on
// the success path. Use [Get] with [Live.Policy] for calls that return a
// value.
type Live struct {
	path string
	opts []Option

	cur atomic.Pointer[Policy]

	mu  sync.Mutex // serialises reloads; guards what follows
	sum [sha256.Size]byte
}

// NewLive loads the genome file at path (see [Load]), compiles it with
// opts and returns the Live that runs it. An error there is the caller's
// to handle: a service must not start without its policy.
func NewLive(path string, opts ...Option) (*Live, error) {
	l := &Live{path: path, opts: opts}
	if _, err := l.Reload(); err != nil {
		return nil, err
	}
	return l, nil
}

// Do runs fn through the current policy (see [Policy.Do]).
func (l *Live) Do(ctx context.Context, fn func(context.Context) error) error {
	return l.cur.Load().Do(ctx, fn)
}

// Policy returns the current policy.
func (l *Live) Policy() *Policy { return l.cur.Load() }

// Digest returns the digest of the current policy's genome.
func (l *Live) Digest() string { return l.cur.Load().Digest() }

// Reload reads the file again and, when its content changed, validates and
// compiles it and swaps the policy in. It reports whether it swapped; on an
// error the running policy stays, and the error names the file and what is
// wrong with it.
func (l *Live) Reload() (swapped bool, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	data, err := readFile(l.path)
	if err != nil {
		return false, fmt.Errorf("genome: reload %s: %w (the running policy stays)", l.path, err)
	}
	sum := sha256.Sum256(data)
	prev := l.cur.Load()
	if prev != nil && sum == l.sum {
		return false, nil
	}
	g, err := Parse(data)
	if err != nil {
		return false, fmt.Errorf("%w (reloading: the running policy stays)", &LoadError{Path: l.path, Err: err})
	}
	p, err := compile(g, prev, l.opts)
	if err != nil {
		return false, fmt.Errorf("genome: reload %s: %w (the running policy stays)", l.path, err)
	}
	l.cur.Store(p)
	l.sum = sum
	return true, nil
}

// Reloaded is what one reload of a watched file did: the digests before
// and after a swap, or why the file was refused.
type Reloaded struct {
	From, To string // digests; equal when nothing was swapped
	Err      error  // why the file was refused; the running policy stayed
}

// Watch reloads the file every interval (at least 100ms) until ctx is
// done, and calls report, when it is not nil, after every reload that
// swapped the policy or failed. Run it on a goroutine of its own:
//
//	go live.Watch(ctx, 10*time.Second, func(r genome.Reloaded) { log.Print(r) })
func (l *Live) Watch(ctx context.Context, interval time.Duration, report func(Reloaded)) {
	t := time.NewTicker(max(interval, 100*time.Millisecond))
	defer t.Stop()
	var lastErr string
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		from := l.Digest()
		swapped, err := l.Reload()
		switch {
		case err != nil && err.Error() == lastErr:
			continue // said once is enough: the file has not changed
		case err != nil:
			lastErr = err.Error()
		case !swapped:
			continue
		default:
			lastErr = ""
		}
		if report != nil {
			report(Reloaded{From: from, To: l.Digest(), Err: err})
		}
	}
}

// String says what the reload did, in one line.
func (r Reloaded) String() string {
	if r.Err != nil {
		return r.Err.Error()
	}
	return fmt.Sprintf("genome: reloaded %s → %s", r.From, r.To)
}

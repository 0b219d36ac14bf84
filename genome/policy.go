package genome

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"reflect"
	"time"
)

// Policy is a compiled genome: the executor that applications wrap their
// calls with. A Policy is safe for concurrent use; its breaker, rate limiter
// and bulkhead state is shared by every call through it.
//
// The genes act in this fixed order, outermost first:
//
//	fallback → rate limit → bulkhead → overall timeout → retry →
//	circuit breaker → per-attempt timeout → hedge → call
//
// So the rate limiter and bulkhead admit a call once however often it is
// retried, the breaker sees every attempt, and the fallback sees only what
// every other gene gave up on.
//
// The first attempt runs on the caller's goroutine, and a call that succeeds
// without hedging starts no goroutine. With no timeout and no hedge gene,
// the success path allocates nothing.
//
// Timers are ordinary timers, so a policy compiled inside a
// testing/synctest bubble runs in the bubble's virtual time.
type Policy struct {
	genome  *Genome // a copy of what it was compiled from
	digest  string
	epoch   time.Time
	obs     Observer
	retryIf func(error) bool

	fb         *fallback
	rl         *rateLimiter
	bh         *bulkhead
	overall    time.Duration
	rt         *retrier
	br         *breaker
	perAttempt time.Duration
	hd         *Hedge
	hq         *quantile // an adaptive hedge's delay
	plain      bool      // no per-attempt timeout, hedge or observer
	fast       bool      // plain, and no fallback or overall timeout either
}

// Option configures [Compile].
type Option interface{ apply(*options) }

type options struct {
	seed    uint64
	seeded  bool
	obs     Observer
	retryIf func(error) bool
}

type optionFunc func(*options)

func (f optionFunc) apply(o *options) { f(o) }

// WithSeed sets the seed of the retry jitter. Without it the seed is taken
// from the genome's digest, so a genome always jitters the same way.
func WithSeed(seed uint64) Option {
	return optionFunc(func(o *options) { o.seed, o.seeded = seed, true })
}

// WithObserver sends the policy's events to obs.
func WithObserver(obs Observer) Option {
	return optionFunc(func(o *options) { o.obs = obs })
}

// WithRetryIf retries only failures for which retryable reports true.
// Errors marked [Permanent] and context cancellation are never retried,
// whatever it says.
func WithRetryIf(retryable func(error) bool) Option {
	return optionFunc(func(o *options) { o.retryIf = retryable })
}

// Compile checks the genes of g and builds its executor. A genome that fails
// validation is refused with every violation listed; [Genome.Normalize]
// makes any genome compile. The module name is not checked here.
func Compile(g *Genome, opts ...Option) (*Policy, error) {
	return compile(g, nil, opts)
}

// compile compiles g; with prev, the state of every gene whose parameters
// did not change — a breaker's state, a rate limiter's tokens, a
// bulkhead's calls in flight, the retry jitter's draws, a cached fallback —
// carries over from prev (see [Live]).
func compile(g *Genome, prev *Policy, opts []Option) (*Policy, error) {
	if errs := g.validateGenes(); len(errs) > 0 {
		return nil, fmt.Errorf("genome: compile %q: %w", g.Module, errors.Join(errs...))
	}
	var o options
	for _, opt := range opts {
		opt.apply(&o)
	}
	p := &Policy{digest: g.Digest(), epoch: time.Now(), obs: o.obs, retryIf: o.retryIf, genome: g.Clone()}
	if !o.seeded {
		b, _ := hex.DecodeString(p.digest[len("sha256:"):][:16])
		o.seed = binary.BigEndian.Uint64(b)
	}
	if f := g.Fallback; f != nil {
		p.fb = &fallback{kind: f.Kind, value: canonicalOrSelf(f.Value), class: f.ErrorClass} // what the digest hashes
	}
	if r := g.RateLimit; r != nil {
		p.rl = newRateLimiter(r.Rate, r.Burst)
	}
	if b := g.Bulkhead; b != nil {
		p.bh = newBulkhead(b)
	}
	if t := g.Timeout; t != nil {
		p.overall, p.perAttempt = t.Overall, t.PerAttempt
		if p.overall > 0 && p.perAttempt >= p.overall {
			p.perAttempt = 0 // the overall deadline always comes first
		}
	}
	if r := g.Retry; r != nil {
		p.rt = newRetrier(r, o.seed)
	}
	if b := g.CircuitBreaker; b != nil {
		p.br = newBreaker(b)
	}
	if h := g.Hedge; h != nil {
		hd := *h
		p.hd = &hd
		if h.Quantile > 0 {
			p.hq = newQuantile(h)
		}
	}
	p.plain = p.perAttempt <= 0 && p.hd == nil && p.obs == nil
	p.fast = p.plain && p.fb == nil && p.overall <= 0
	if prev != nil {
		p.carryOver(g, prev)
	}
	return p, nil
}

// carryOver takes from prev the state of the genes g shares with prev's
// genome unchanged. The clock's epoch carries over with them: a rate
// limiter's and a breaker's times are counted from it.
func (p *Policy) carryOver(g *Genome, prev *Policy) {
	was := prev.genome
	if was == nil {
		return
	}
	p.epoch = prev.epoch
	if p.rl != nil && reflect.DeepEqual(g.RateLimit, was.RateLimit) {
		p.rl = prev.rl
	}
	if p.bh != nil && reflect.DeepEqual(g.Bulkhead, was.Bulkhead) {
		p.bh = prev.bh
	}
	if p.rt != nil && reflect.DeepEqual(g.Retry, was.Retry) && p.rt.seed == prev.rt.seed {
		p.rt = prev.rt
	}
	if p.br != nil && reflect.DeepEqual(g.CircuitBreaker, was.CircuitBreaker) {
		p.br = prev.br
	}
	if p.hq != nil && reflect.DeepEqual(g.Hedge, was.Hedge) {
		p.hq = prev.hq
	}
	if p.fb != nil && reflect.DeepEqual(g.Fallback, was.Fallback) {
		p.fb = prev.fb
	}
}

// Digest returns the digest of the genome the policy was compiled from.
func (p *Policy) Digest() string { return p.digest }

// BreakerState returns the state of the circuit breaker, or Closed when the
// policy has none.
func (p *Policy) BreakerState() BreakerState {
	if p.br == nil {
		return Closed
	}
	return BreakerState(p.br.state.Load())
}

// ConcurrencyLimit returns the calls in flight the bulkhead admits now —
// MaxConcurrent for a static limit, where an adaptive limit stands for one
// — or 0 when the policy has no bulkhead.
func (p *Policy) ConcurrencyLimit() int {
	if p.bh == nil {
		return 0
	}
	return int(p.bh.limit.Load())
}

// Do runs fn under the policy and returns nil or the error the genes settled
// on: fn's own error, or an [*Error] naming the gene that stopped the call and
// wrapping fn's last error, or a fallback's [*DegradedError]. fn must return
// when its context is done.
func (p *Policy) Do(ctx context.Context, fn func(context.Context) error) error {
	if !p.fast {
		_, err := execute[struct{}](ctx, p, doFn(fn))
		return err
	}
	// The same path as execute, flattened for a policy with no fallback, no
	// timeout, no hedge and no observer: admission and the first attempt run
	// inline, and a failure resumes the shared retry loop.
	if p.rl != nil && !p.rl.allow(p.epoch) {
		return errRateLimited
	}
	if p.bh != nil {
		if !p.bh.tryAcquire() {
			if err := p.bh.acquire(ctx); err != nil {
				return err
			}
		}
		if p.bh.adaptive() {
			if start := p.now(); p.bh.lim.claim(start) {
				return p.sampled(ctx, fn, start)
			}
		}
		err := p.first(ctx, fn)
		p.bh.release()
		return err
	}
	return p.first(ctx, fn)
}

// sampled makes a fast-path call that the adaptive limit samples: it
// learns the call's latency and outcome — a panic as a failure — and
// releases its slot.
func (p *Policy) sampled(ctx context.Context, fn func(context.Context) error, start int64) (err error) {
	failed := true
	defer func() { p.bh.sample(p, start, failed) }()
	err = p.first(ctx, fn)
	failed = breakerFailure(err)
	return err
}

// sampledTimed is [Policy.sampled] for the general path.
func sampledTimed[T any, C caller[T]](ctx context.Context, p *Policy, c C, start int64) (v T, err error) {
	failed := true
	defer func() { p.bh.sample(p, start, failed) }()
	v, err = timed[T](ctx, p, c)
	failed = breakerFailure(err)
	return v, err
}

// first makes the first attempt of a fast-path call.
func (p *Policy) first(ctx context.Context, fn func(context.Context) error) error {
	if p.br != nil && BreakerState(p.br.state.Load()) != Closed {
		_, err := attempts[struct{}](ctx, ctx, p, doFn(fn), 0, nil, time.Time{})
		return err
	}
	if p.rt != nil {
		p.rt.deposit() // as attempts does for a call it starts
	}
	err := fn(ctx)
	if p.br != nil {
		p.br.done(p, err)
	}
	if err == nil {
		return nil
	}
	_, err = attempts[struct{}](ctx, ctx, p, doFn(fn), 1, err, time.Time{})
	return err
}

// Get runs fn under p like [Policy.Do] and returns its result. With a
// fallback gene the result may be the fallback's: the static value decoded
// into T, or the last result of type T that succeeded through p.
func Get[T any](ctx context.Context, p *Policy, fn func(context.Context) (T, error)) (T, error) {
	return execute[T](ctx, p, getFn[T](fn))
}

// caller is a call under the policy; the two adapters let Do and Get share
// one generic path without wrapping fn in a closure.
type caller[T any] interface {
	call(context.Context) (T, error)
}

type doFn func(context.Context) error

func (f doFn) call(ctx context.Context) (struct{}, error) { return struct{}{}, f(ctx) }

type getFn[T any] func(context.Context) (T, error)

func (f getFn[T]) call(ctx context.Context) (T, error) { return f(ctx) }

func (p *Policy) emit(e Event) {
	if p.obs != nil {
		p.obs.Observe(e)
	}
}

// now is the policy's monotonic clock in nanoseconds (virtual inside a
// synctest bubble).
func (p *Policy) now() int64 { return int64(time.Since(p.epoch)) }

func execute[T any, C caller[T]](ctx context.Context, p *Policy, c C) (T, error) {
	if p.obs != nil {
		// An observer hears how each call ended: what a live fitness
		// figure and a latency metric are made of.
		start := time.Now()
		v, err := outcome[T](ctx, p, c)
		p.obs.Observe(Event{Kind: EventDone, Err: err, Latency: time.Since(start)})
		return v, err
	}
	return outcome[T](ctx, p, c)
}

// outcome is a call's result: the genes from the fallback inwards.
func outcome[T any, C caller[T]](ctx context.Context, p *Policy, c C) (T, error) {
	if p.fb == nil {
		return admit[T](ctx, p, c)
	}
	v, err := admit[T](ctx, p, c)
	if err == nil {
		if p.fb.kind == FallbackCached {
			p.fb.remember(v)
		}
		return v, nil
	}
	if ctx.Err() != nil { // the caller gave up: never mask that
		return v, err
	}
	p.emit(Event{Kind: EventFallback, Gene: GeneFallback, Err: err})
	return fallbackFor[T](p.fb, err)
}

// admit applies the rate limiter, the bulkhead and the overall timeout.
func admit[T any, C caller[T]](ctx context.Context, p *Policy, c C) (T, error) {
	if p.rl != nil && !p.rl.allow(p.epoch) {
		p.emit(Event{Kind: EventRejected, Gene: GeneRateLimit, Err: ErrRateLimited})
		var zero T
		return zero, errRateLimited
	}
	if p.bh != nil {
		if !p.bh.tryAcquire() {
			if err := p.bh.acquire(ctx); err != nil {
				p.emit(Event{Kind: EventRejected, Gene: GeneBulkhead, Err: err})
				var zero T
				return zero, err
			}
		}
		if p.bh.adaptive() {
			if start := p.now(); p.bh.lim.claim(start) {
				return sampledTimed[T](ctx, p, c, start)
			}
		}
		defer p.bh.release()
	}
	return timed[T](ctx, p, c)
}

// timed applies the overall timeout and runs the retry loop.
func timed[T any, C caller[T]](ctx context.Context, p *Policy, c C) (T, error) {
	switch {
	case p.overall > 0 && p.perAttempt > 0:
		// One context per attempt: its deadline is the per-attempt one or
		// the overall one, whichever comes first, and the loop watches the
		// overall deadline itself — one WithDeadline a call, not two.
		return attempts[T](ctx, ctx, p, c, 0, nil, time.Now().Add(p.overall))
	case p.overall > 0:
		octx, cancel := context.WithTimeout(ctx, p.overall)
		defer cancel()
		return attempts[T](ctx, octx, p, c, 0, nil, time.Time{})
	}
	return attempts[T](ctx, ctx, p, c, 0, nil, time.Time{})
}

// past reports whether deadline (zero: none) has come.
func past(deadline time.Time) bool { return !deadline.IsZero() && !time.Now().Before(deadline) }

// attempts is the retry loop: parent is the caller's context, ctx the one
// bounded by the overall timeout, or parent itself with the overall
// deadline given as deadline (zero: none). It resumes after done attempts,
// the last of which failed with err (done is 0 at the start).
func attempts[T any, C caller[T]](parent, ctx context.Context, p *Policy, c C, done int, err error, deadline time.Time) (T, error) {
	var zero T
	attempt := done
	if done == 0 && p.rt != nil {
		p.rt.deposit()
	}
	for {
		if attempt > 0 { // attempt failed with err: stop, or back off and go again
			if ctx.Err() != nil || past(deadline) {
				return zero, stopped(parent, attempt, err)
			}
			if p.rt == nil || !p.retryable(err) {
				return zero, err
			}
			if attempt >= p.rt.maxAttempts {
				return zero, &Error{Gene: GeneRetry, Reason: ErrRetriesExhausted, Attempts: attempt, Cause: err}
			}
			d := p.rt.delay(attempt)
			if ra, ok := retryAfterOf(err); ok {
				// The dependency asked for a wait: never sooner, and not at
				// all beyond what the genome would ever wait.
				if float64(ra) > p.rt.max || !deadline.IsZero() && ra > time.Until(deadline) || beyond(ctx, ra) {
					return zero, &Error{Gene: GeneRetry, Reason: ErrRetriesExhausted, Attempts: attempt, Cause: err}
				}
				d = max(d, ra)
			}
			if !p.rt.withdraw() {
				p.emit(Event{Kind: EventRejected, Gene: GeneRetry, Attempt: attempt, Err: ErrRetryBudget})
				return zero, &Error{Gene: GeneRetry, Reason: ErrRetryBudget, Attempts: attempt, Cause: err}
			}
			p.emit(Event{Kind: EventRetry, Gene: GeneRetry, Attempt: attempt, Delay: d, Err: err})
			if !deadline.IsZero() {
				d = min(d, time.Until(deadline))
			}
			if d > 0 {
				t := time.NewTimer(d)
				select {
				case <-t.C:
				case <-ctx.Done():
					t.Stop()
					return zero, stopped(parent, attempt, err)
				}
			}
			if past(deadline) { // the backoff outlasted the overall timeout
				return zero, stopped(parent, attempt, err)
			}
		}
		attempt++
		var probe uint32
		if p.br != nil {
			ok, pr := p.br.allow(p)
			if !ok {
				p.emit(Event{Kind: EventRejected, Gene: GeneCircuitBreaker, Attempt: attempt, Err: ErrCircuitOpen})
				if attempt == 1 {
					return zero, errCircuitOpen
				}
				return zero, &Error{Gene: GeneCircuitBreaker, Reason: ErrCircuitOpen, Attempts: attempt - 1, Cause: err}
			}
			probe = pr
		}
		var v T
		if probe == 0 && p.plain {
			// The common case: no per-attempt timeout, hedge or observer.
			v, err = c.call(ctx)
			if p.br != nil {
				p.br.done(p, err)
			}
		} else {
			v, err = try[T](ctx, p, c, attempt, probe, deadline)
		}
		if err == nil {
			return v, nil
		}
	}
}

// stopped builds the error for a call whose context ended after attempt
// attempts: the overall timeout when the caller's context is still live,
// else the caller's own cancellation.
func stopped(parent context.Context, attempt int, last error) error {
	if parent.Err() == nil {
		return &Error{Gene: GeneTimeout, Reason: ErrTimeout, Attempts: attempt, Cause: last}
	}
	if attempt == 1 {
		return last
	}
	return &Error{Gene: GeneRetry, Reason: parent.Err(), Attempts: attempt, Cause: last}
}

func (p *Policy) retryable(err error) bool {
	if errors.Is(err, context.Canceled) || IsPermanent(err) || isNoRetry(err) {
		return false
	}
	return p.retryIf == nil || p.retryIf(err)
}

// beyond reports whether waiting d would outlast ctx's deadline: the
// caller would be gone before the retry.
func beyond(ctx context.Context, d time.Duration) bool {
	dl, ok := ctx.Deadline()
	return ok && d > time.Until(dl)
}

// breakerFailure reports whether err counts against the dependency.
func breakerFailure(err error) bool {
	return err != nil && !errors.Is(err, context.Canceled) && !IsPermanent(err)
}

// try runs one attempt: the per-attempt timeout, the hedge and the call, and
// reports the outcome to the breaker.
func try[T any, C caller[T]](ctx context.Context, p *Policy, c C, attempt int, probe uint32, deadline time.Time) (v T, err error) {
	if probe != 0 {
		// A probe must be accounted for even if fn panics, or the breaker
		// would wait for it forever.
		done := false
		defer func() {
			if !done {
				p.br.record(p, probe, true)
			}
		}()
		v, err = tryOnce[T](ctx, p, c, attempt, deadline)
		done = true
		p.br.record(p, probe, breakerFailure(err))
		return v, err
	}
	v, err = tryOnce[T](ctx, p, c, attempt, deadline)
	if p.br != nil {
		p.br.done(p, err)
	}
	return v, err
}

func tryOnce[T any, C caller[T]](ctx context.Context, p *Policy, c C, attempt int, deadline time.Time) (T, error) {
	p.emit(Event{Kind: EventAttempt, Attempt: attempt})
	if p.perAttempt <= 0 {
		if p.hd != nil {
			return hedged[T](ctx, p, c)
		}
		return c.call(ctx)
	}
	var own time.Time
	if attempt == 1 && !deadline.IsZero() {
		// The call began at deadline − overall, a moment ago: the first
		// attempt's deadline needs no second clock read.
		own = deadline.Add(p.perAttempt - p.overall)
	} else {
		own = time.Now().Add(p.perAttempt)
	}
	overall := !deadline.IsZero() && deadline.Before(own) // the attempt ends with the call's overall timeout
	if overall {
		own = deadline
	}
	actx, cancel := context.WithDeadline(ctx, own)
	defer cancel()
	var v T
	var err error
	if p.hd != nil {
		v, err = hedged[T](actx, p, c)
	} else {
		v, err = c.call(actx)
	}
	if err != nil && !overall && ctx.Err() == nil && actx.Err() == context.DeadlineExceeded {
		err = &Error{Gene: GeneTimeout, Reason: ErrTimeout, Attempts: 1, Cause: err}
	}
	return v, err
}

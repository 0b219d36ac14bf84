package genome

import (
	"context"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"pgregory.net/rapid"
)

// anyGenome draws a genome with a random set of genes whose parameters are
// drawn far outside their bounds as well as inside (NaN and ±Inf included).
func anyGenome(t *rapid.T) *Genome {
	g := &Genome{Module: "prop"}
	for _, k := range Catalogue() {
		if rapid.Bool().Draw(t, "has "+k.String()) {
			g.Add(k)
		}
	}
	for _, p := range Params() {
		if !g.Has(p.Gene) {
			continue
		}
		var v float64
		switch rapid.IntRange(0, 3).Draw(t, "how "+p.Path()) {
		case 0: // in bounds
			v = rapid.Float64Range(p.Min, p.Max).Draw(t, p.Path())
		case 1: // anything at all
			v = rapid.Float64().Draw(t, p.Path())
		case 2: // just outside
			v = rapid.SampledFrom([]float64{p.Min - 1, p.Max + 1, -p.Max, 0, math.NaN(), math.Inf(1)}).Draw(t, p.Path())
		default: // small, for durations that keep trials short
			v = rapid.Float64Range(0, float64(50*time.Millisecond)).Draw(t, p.Path())
		}
		g.SetValue(p, v)
	}
	return g
}

func TestPropNormalizedGenomeCompilesAndNeverPanics(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		g := anyGenome(t)
		g.Normalize()
		if err := g.Validate(); err != nil {
			t.Fatalf("normalized genome invalid: %v", err)
		}
		outcomes := rapid.SliceOfN(rapid.IntRange(0, 3), 1, 8).Draw(t, "outcomes")
		rapid.SyncTest(t, func(t *rapid.T) {
			p, err := Compile(g) // inside the bubble, so its timers are virtual
			if err != nil {
				t.Fatalf("compile: %v", err)
			}
			var i atomic.Int32
			fn := func(ctx context.Context) (int, error) {
				n := int(i.Add(1))
				switch outcomes[n%len(outcomes)] {
				case 0:
					return n, nil
				case 1:
					return 0, errDown
				case 2: // slow, but gives up when asked
					select {
					case <-time.After(20 * time.Millisecond):
						return n, nil
					case <-ctx.Done():
						return 0, ctx.Err()
					}
				}
				return 0, Permanent(errDown)
			}
			var wg sync.WaitGroup
			for range 3 {
				wg.Go(func() {
					for range 4 {
						_, _ = Get(t.Context(), p, fn)
					}
				})
			}
			wg.Wait()
		})
	})
}

func TestPropAttemptsNeverExceedMaxAttempts(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		g := anyGenome(t)
		g.Hedge = nil
		g.Fallback = nil
		g.Normalize()
		max := 1
		if g.Retry != nil {
			max = g.Retry.MaxAttempts
		}
		failUntil := rapid.IntRange(0, 25).Draw(t, "failUntil")
		rapid.SyncTest(t, func(t *rapid.T) {
			p, err := Compile(g)
			if err != nil {
				t.Fatal(err)
			}
			calls := 0
			_ = p.Do(t.Context(), func(context.Context) error {
				if calls++; calls <= failUntil {
					return errDown
				}
				return nil
			})
			if calls > max {
				t.Fatalf("%d calls, max attempts %d", calls, max)
			}
		})
	})
}

func TestPropHalfOpenAdmitsNoMoreThanItsProbes(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		probes := rapid.IntRange(1, 6).Draw(t, "probes")
		callers := rapid.IntRange(1, 20).Draw(t, "callers")
		outcomes := rapid.SliceOfN(rapid.Bool(), callers, callers).Draw(t, "succeed")
		rapid.SyncTest(t, func(t *rapid.T) {
			p, err := Compile(&Genome{CircuitBreaker: &CircuitBreaker{Threshold: 1, FailureRate: 1, Window: 1, OpenDuration: time.Second, HalfOpenProbes: probes}})
			if err != nil {
				t.Fatal(err)
			}
			_ = p.Do(t.Context(), func(context.Context) error { return errDown })
			time.Sleep(time.Second)
			release := make(chan struct{})
			var in, peak, admitted atomic.Int32
			var wg sync.WaitGroup
			for i := range callers {
				wg.Go(func() {
					_ = p.Do(t.Context(), func(context.Context) error {
						admitted.Add(1)
						n := in.Add(1)
						for {
							old := peak.Load()
							if n <= old || peak.CompareAndSwap(old, n) {
								break
							}
						}
						<-release
						in.Add(-1)
						if outcomes[i] {
							return nil
						}
						return errDown
					})
				})
			}
			synctest.Wait()
			if got, want := int(admitted.Load()), min(probes, callers); got != want {
				t.Fatalf("half-open admitted %d calls, want %d (probes %d, callers %d)", got, want, probes, callers)
			}
			close(release)
			wg.Wait()
			if int(peak.Load()) > probes {
				t.Fatalf("%d probes in flight at once, limit %d", peak.Load(), probes)
			}
		})
	})
}

func TestPropSameSeedSameDelays(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		seed := rapid.Uint64().Draw(t, "seed")
		r := &Retry{
			MaxAttempts: rapid.IntRange(2, 20).Draw(t, "maxAttempts"),
			BaseDelay:   time.Duration(rapid.Int64Range(int64(time.Millisecond), int64(time.Second)).Draw(t, "base")),
			MaxDelay:    30 * time.Second,
			Multiplier:  rapid.Float64Range(1, 10).Draw(t, "multiplier"),
			Jitter:      rapid.Float64Range(0, 1).Draw(t, "jitter"),
		}
		delays := func() []time.Duration {
			var out []time.Duration
			rapid.SyncTest(t, func(t *rapid.T) {
				p, err := Compile(&Genome{Retry: r}, WithSeed(seed), WithObserver(ObserverFunc(func(e Event) {
					if e.Kind == EventRetry {
						out = append(out, e.Delay)
					}
				})))
				if err != nil {
					t.Fatal(err)
				}
				for range 3 {
					_ = p.Do(t.Context(), func(context.Context) error { return errDown })
				}
			})
			return out
		}
		a, b := delays(), delays()
		if len(a) != 3*(r.MaxAttempts-1) {
			t.Fatalf("%d delays, want %d", len(a), 3*(r.MaxAttempts-1))
		}
		for i := range a {
			if a[i] != b[i] {
				t.Fatalf("delay %d: %v then %v with the same seed", i, a[i], b[i])
			}
			if a[i] > r.MaxDelay || a[i] < 0 {
				t.Fatalf("delay %d = %v outside [0, %v]", i, a[i], r.MaxDelay)
			}
		}
	})
}

// The flattened fast path of Do (taken without an observer) and the general
// path (taken with one) must be indistinguishable from outside.
func TestPropFastPathMatchesGeneralPath(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		g := anyGenome(t)
		g.Timeout, g.Hedge, g.Fallback = nil, nil, nil
		g.Normalize()
		script := rapid.SliceOfN(rapid.IntRange(0, 3), 1, 30).Draw(t, "script")
		gaps := rapid.SliceOfN(rapid.Int64Range(0, int64(2*time.Second)), len(script), len(script)).Draw(t, "gaps")
		type outcome struct {
			err     string
			calls   int
			elapsed time.Duration
			state   BreakerState
		}
		run := func(opts ...Option) []outcome {
			var out []outcome
			rapid.SyncTest(t, func(t *rapid.T) {
				p, err := Compile(g, append(opts, WithSeed(7))...)
				if err != nil {
					t.Fatal(err)
				}
				for i, s := range script {
					calls := 0
					start := time.Now()
					err := p.Do(t.Context(), func(context.Context) error {
						calls++
						switch {
						case s == 0, s == 1 && calls > 1:
							return nil
						case s == 2:
							return Permanent(errDown)
						}
						return errDown
					})
					o := outcome{calls: calls, elapsed: time.Since(start), state: p.BreakerState()}
					if err != nil {
						o.err = err.Error()
					}
					out = append(out, o)
					time.Sleep(time.Duration(gaps[i]))
				}
			})
			return out
		}
		fast := run()
		general := run(WithObserver(ObserverFunc(func(Event) {})))
		for i := range fast {
			if fast[i] != general[i] {
				t.Fatalf("call %d: fast path %+v, general path %+v", i, fast[i], general[i])
			}
		}
	})
}

// Every genome Normalize returns satisfies every relation it documents,
// and Normalize changes nothing more the second time.
func TestPropNormalizedGenomeIsCoherent(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		g := anyGenome(t)
		g.Normalize()
		if bad := g.Incoherent(); len(bad) > 0 {
			t.Fatalf("normalized genome breaks %v: %+v", bad, g)
		}
		once := g.Digest()
		g.Normalize()
		if g.Digest() != once {
			t.Fatalf("Normalize is not idempotent: %s then %s", once, g.Digest())
		}
	})
}

// Each relation, broken on purpose, is named.
func TestIncoherentNamesEachRelation(t *testing.T) {
	ms := time.Millisecond
	for want, g := range map[string]*Genome{
		"retry.multiplier has nothing to multiply":     {Retry: &Retry{MaxAttempts: 3, BaseDelay: 10 * ms, MaxDelay: 10 * ms, Multiplier: 2}},
		"timeout.perAttempt never acts":                {Timeout: &Timeout{PerAttempt: 5 * time.Second, Overall: 10 * ms}},
		"can never start before timeout.overall":       {Retry: &Retry{MaxAttempts: 10, BaseDelay: 100 * ms, MaxDelay: time.Second, Multiplier: 2}, Timeout: &Timeout{Overall: 250 * ms}},
		"timeout.overall never acts: with one attempt": {Timeout: &Timeout{PerAttempt: 50 * ms, Overall: time.Second}},
		"hedge.delay never fires":                      {Hedge: &Hedge{Delay: time.Second, MaxHedges: 1}, Timeout: &Timeout{PerAttempt: 100 * ms}},
	} {
		bad := g.Incoherent()
		if len(bad) != 1 || !strings.Contains(bad[0], want) {
			t.Errorf("%q: got %q", want, bad)
		}
		g.Normalize()
		if bad := g.Incoherent(); len(bad) > 0 {
			t.Errorf("%q after Normalize: %q", want, bad)
		}
	}
	// 100ms then 200ms of backoff: attempts 1 (0s), 2 (100ms) and 3
	// (300ms); a fourth would start at 700ms, past a 500ms overall.
	g := &Genome{Retry: &Retry{MaxAttempts: 10, BaseDelay: 100 * ms, MaxDelay: time.Second, Multiplier: 2}, Timeout: &Timeout{Overall: 500 * ms}}
	g.Normalize()
	if g.Retry.MaxAttempts != 3 {
		t.Errorf("maxAttempts %d, want 3", g.Retry.MaxAttempts)
	}
}

package genome_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/rafaelabs/rafael/genome"
)

func ExampleCompile() {
	g := &genome.Genome{
		Module: "checkout",
		Retry:  &genome.Retry{MaxAttempts: 3, BaseDelay: time.Millisecond, MaxDelay: 10 * time.Millisecond, Multiplier: 2},
	}
	policy, err := genome.Compile(g)
	if err != nil {
		panic(err)
	}
	calls := 0
	err = policy.Do(context.Background(), func(ctx context.Context) error {
		calls++
		if calls < 3 {
			return errors.New("connection refused")
		}
		return nil
	})
	fmt.Println(err, "after", calls, "attempts")
	// Output: <nil> after 3 attempts
}

func ExampleParse() {
	_, err := genome.Parse([]byte(`{
		"schemaVersion": 1,
		"module": "checkout",
		"genes": {
			"retry": {"maxAttempts": 3, "baseDelay": "-5ms"},
			"circuitBreaker": {"threshold": 0},
			"cache": {}
		}
	}`))
	fmt.Println(err)
	// Output:
	// genome: genes.cache: is not a gene (expected one of "fallback", "rateLimit", "bulkhead", "timeout", "retry", "circuitBreaker", "hedge")
	// genome: retry.baseDelay: -5ms is out of bounds: want between 1ms and 30s
	// genome: circuitBreaker.threshold: 0 is out of bounds: want between 1 and 1000
}

func ExampleGenome_Validate() {
	g := &genome.Genome{
		Module:         "checkout",
		Retry:          &genome.Retry{MaxAttempts: 3, BaseDelay: -5 * time.Millisecond, MaxDelay: time.Second, Multiplier: 2},
		CircuitBreaker: &genome.CircuitBreaker{Threshold: 0, FailureRate: 0.5, Window: 20, OpenDuration: time.Second, HalfOpenProbes: 1},
	}
	fmt.Println(g.Validate())
	g.Normalize()
	fmt.Println(g.Validate(), g.Retry.BaseDelay, g.CircuitBreaker.Threshold)
	// Output:
	// genome: retry.baseDelay: -5ms is out of bounds: want between 1ms and 30s
	// genome: circuitBreaker.threshold: 0 is out of bounds: want between 1 and 1000
	// <nil> 1ms 1
}

func ExampleDiff() {
	old := &genome.Genome{Module: "checkout", Retry: &genome.Retry{MaxAttempts: 2, BaseDelay: 100 * time.Millisecond, MaxDelay: time.Second, Multiplier: 2}}
	evolved := old.Clone()
	evolved.Retry.MaxAttempts = 4
	evolved.Retry.BaseDelay = 250 * time.Millisecond
	evolved.Add(genome.GeneCircuitBreaker)
	fmt.Println(genome.Diff(old, evolved))
	// Output:
	// retry.maxAttempts: 2 → 4
	// retry.baseDelay: 100ms → 250ms
	// + circuitBreaker {mode consecutive, threshold 5, failureRate 0.5, window 20, openDuration 5s, halfOpenProbes 1}
}

func ExampleGet() {
	policy, err := genome.Compile(&genome.Genome{
		Module:   "prices",
		Fallback: &genome.Fallback{Kind: genome.FallbackStatic, Value: []byte(`{"currency":"EUR","cents":0}`)},
	})
	if err != nil {
		panic(err)
	}
	type price struct {
		Currency string `json:"currency"`
		Cents    int    `json:"cents"`
	}
	p, err := genome.Get(context.Background(), policy, func(ctx context.Context) (price, error) {
		return price{}, errors.New("upstream down")
	})
	fmt.Printf("%+v %v\n", p, err)
	// Output: {Currency:EUR Cents:0} <nil>
}

func ExamplePermanent() {
	policy, _ := genome.Compile(&genome.Genome{
		Retry: &genome.Retry{MaxAttempts: 5, BaseDelay: time.Millisecond, MaxDelay: time.Millisecond, Multiplier: 1},
	})
	calls := 0
	err := policy.Do(context.Background(), func(ctx context.Context) error {
		calls++
		return genome.Permanent(errors.New("invalid card number"))
	})
	fmt.Println(err, "-", calls, "call")
	// Output: invalid card number - 1 call
}

func ExampleWithObserver() {
	policy, _ := genome.Compile(&genome.Genome{
		CircuitBreaker: &genome.CircuitBreaker{Threshold: 2, FailureRate: 0.5, Window: 10, OpenDuration: time.Minute, HalfOpenProbes: 1},
	}, genome.WithObserver(genome.ObserverFunc(func(e genome.Event) {
		if e.Kind == genome.EventBreaker {
			fmt.Println("breaker:", e.From, "→", e.To)
		}
	})))
	for range 3 {
		err := policy.Do(context.Background(), func(ctx context.Context) error { return errors.New("timeout") })
		fmt.Println(err)
	}
	// Output:
	// timeout
	// breaker: closed → open
	// timeout
	// genome: circuit open
}

// A service runs the adopted genome from its file and follows it while it
// serves: a reload swaps the policy in, keeping the state of the genes
// that did not change.
func ExampleNewLive() {
	dir, err := os.MkdirTemp("", "live")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "checkout.genome.json")
	write := func(attempts int) {
		data, _ := (&genome.Genome{Module: "checkout",
			Retry: &genome.Retry{MaxAttempts: attempts, BaseDelay: time.Millisecond, MaxDelay: 10 * time.Millisecond, Multiplier: 2}}).MarshalJSON()
		if err := os.WriteFile(path, data, 0o644); err != nil {
			panic(err)
		}
	}
	write(2)
	live, err := genome.NewLive(path)
	if err != nil {
		panic(err)
	}
	calls := 0
	flaky := func(context.Context) error {
		calls++
		if calls%3 != 0 {
			return errors.New("connection refused")
		}
		return nil
	}
	fmt.Println(live.Do(context.Background(), flaky) != nil, calls) // two attempts: not enough

	write(3) // the guardian adopted a genome that retries once more
	swapped, err := live.Reload()
	fmt.Println(swapped, err)
	calls = 0
	fmt.Println(live.Do(context.Background(), flaky), calls)
	// Output:
	// true 2
	// true <nil>
	// <nil> 3
}

// The adaptive forms of three genes: a retry budget shared by every call,
// an adaptive concurrency limit, and a hedge at a latency quantile. A
// static gene is written without them.
func Example_adaptive() {
	g := &genome.Genome{
		Module:   "orders",
		Retry:    &genome.Retry{MaxAttempts: 3, BaseDelay: 10 * time.Millisecond, MaxDelay: 100 * time.Millisecond, Multiplier: 2, Budget: 0.1},
		Bulkhead: &genome.Bulkhead{MaxConcurrent: 64, Limit: genome.LimitGradient2, MinConcurrent: 4, Tolerance: 2},
		Hedge:    &genome.Hedge{Delay: 50 * time.Millisecond, MaxHedges: 1, Quantile: 0.95},
	}
	policy, err := genome.Compile(g)
	if err != nil {
		panic(err)
	}
	fmt.Println("limit now:", policy.ConcurrencyLimit())
	for _, k := range []genome.GeneKind{genome.GeneRetry, genome.GeneBulkhead, genome.GeneHedge} {
		sw, _ := genome.AdaptiveSwitch(k)
		v, _ := g.Value(sw)
		fmt.Printf("%s: %s\n", sw.Path(), sw.Format(v))
	}
	static := &genome.Genome{Module: "orders", Bulkhead: &genome.Bulkhead{MaxConcurrent: 64}}
	b, _ := static.MarshalJSON()
	fmt.Println(string(b))
	// Output:
	// limit now: 64
	// retry.budget: 0.1
	// bulkhead.limit: gradient2
	// hedge.quantile: 0.95
	// {"schemaVersion":1,"module":"orders","generation":0,"parent":"","genes":{"bulkhead":{"maxConcurrent":64,"maxWait":"0s"}}}
}

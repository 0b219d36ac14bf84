package genomeotel

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/rafaelabs/rafael/genome"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// The metrics a policy's calls leave, read back through the SDK.
func TestObserverRecordsThePolicysWork(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	provider := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer provider.Shutdown(context.Background())
	obs, err := Observer(provider.Meter("rafael"), "orders")
	if err != nil {
		t.Fatal(err)
	}
	p, err := genome.Compile(&genome.Genome{Module: "orders",
		Retry:          &genome.Retry{MaxAttempts: 3, BaseDelay: time.Millisecond, MaxDelay: time.Millisecond, Multiplier: 1},
		CircuitBreaker: &genome.CircuitBreaker{Mode: genome.BreakerConsecutive, Threshold: 4, OpenDuration: time.Minute, HalfOpenProbes: 1, FailureRate: 0.5, Window: 10}},
		genome.WithObserver(obs))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	down := errors.New("connection refused")
	_ = p.Do(ctx, func(context.Context) error { return nil })  // 1 attempt, ok
	_ = p.Do(ctx, func(context.Context) error { return down }) // 3 attempts, 2 retries, error
	_ = p.Do(ctx, func(context.Context) error { return down }) // 1 attempt opens the breaker; its retry is rejected
	_ = p.Do(ctx, func(context.Context) error { return nil })  // rejected

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(ctx, &rm); err != nil {
		t.Fatal(err)
	}
	sums := map[string]int64{}
	var histCount uint64
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				for _, dp := range d.DataPoints {
					if v, ok := dp.Attributes.Value(attribute.Key("rafael.module")); !ok || v.AsString() != "orders" {
						t.Errorf("%s without the module: %v", m.Name, dp.Attributes)
					}
					key := m.Name
					for _, k := range []attribute.Key{"outcome", "gene", "to"} {
						if v, ok := dp.Attributes.Value(k); ok {
							key += " " + string(k) + "=" + v.AsString()
						}
					}
					sums[key] += dp.Value
				}
			case metricdata.Histogram[float64]:
				for _, dp := range d.DataPoints {
					histCount += dp.Count
				}
			}
		}
	}
	want := map[string]int64{
		Calls + " outcome=ok": 1, Calls + " outcome=error": 3,
		Attempts: 5, Retries: 3,
		Rejections + " gene=circuitBreaker": 2, Transitions + " to=open": 1, // the third call's retry, and the fourth call
	}
	for k, v := range want {
		if sums[k] != v {
			t.Errorf("%s = %d, want %d (all: %v)", k, sums[k], v, sums)
		}
	}
	if histCount != 4 {
		t.Errorf("%d durations recorded, want 4", histCount)
	}
}

package genomeotel_test

import (
	"context"
	"fmt"

	"github.com/rafaelabs/rafael/genome"
	"github.com/rafaelabs/rafael/genome/genomeotel"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// A policy's calls as OpenTelemetry metrics, read back here with a manual
// reader; a service gives the observer its own meter provider's meter.
func ExampleObserver() {
	reader := sdkmetric.NewManualReader()
	provider := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer provider.Shutdown(context.Background())
	obs, err := genomeotel.Observer(provider.Meter("checkout"), "checkout")
	if err != nil {
		panic(err)
	}
	p, err := genome.Compile(&genome.Genome{Module: "checkout"}, genome.WithObserver(obs))
	if err != nil {
		panic(err)
	}
	for range 3 {
		_ = p.Do(context.Background(), func(context.Context) error { return nil })
	}
	var rm metricdata.ResourceMetrics
	_ = reader.Collect(context.Background(), &rm)
	for _, m := range rm.ScopeMetrics[0].Metrics {
		if s, ok := m.Data.(metricdata.Sum[int64]); ok {
			fmt.Println(m.Name, s.DataPoints[0].Value)
		}
	}
	// Unordered output:
	// rafael.policy.calls 3
	// rafael.policy.attempts 3
}

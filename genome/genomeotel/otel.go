// Package genomeotel records a compiled genome's work as OpenTelemetry
// metrics: calls by outcome and their duration, attempts, retries,
// rejections by gene, fallbacks and circuit-breaker transitions, each
// with the module's name. It is a nested module, so that RAFAEL's root
// module never requires OpenTelemetry.
package genomeotel

import (
	"context"
	"fmt"

	"github.com/rafaelabs/rafael/genome"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// The instruments' names.
const (
	Calls       = "rafael.policy.calls"               // calls that ended, by outcome ("ok", "error")
	Duration    = "rafael.policy.call.duration"       // seconds a call took, by outcome
	Attempts    = "rafael.policy.attempts"            // calls into the dependency, hedges included
	Retries     = "rafael.policy.retries"             // attempts that failed and were tried again
	Rejections  = "rafael.policy.rejections"          // calls a gene refused, by gene
	Fallbacks   = "rafael.policy.fallbacks"           // failures the fallback stood in for
	Transitions = "rafael.policy.breaker.transitions" // circuit-breaker state changes, by the state entered
)

type observer struct {
	module                                                 attribute.KeyValue
	calls, attempts, retries, rejections, fallbacks, trans metric.Int64Counter
	duration                                               metric.Float64Histogram
	ok, failed                                             metric.MeasurementOption
	plain                                                  metric.MeasurementOption
}

// Observer returns a genome.Observer that records the policy's events with
// meter's instruments (see the names above), each with the attribute
// rafael.module=module. Pass it to genome.Compile with
// genome.WithObserver, or beside others with genomelog.Both.
func Observer(meter metric.Meter, module string) (genome.Observer, error) {
	o := &observer{module: attribute.String("rafael.module", module)}
	var err error
	counter := func(name, unit, desc string) metric.Int64Counter {
		if err != nil {
			return nil
		}
		var c metric.Int64Counter
		c, err = meter.Int64Counter(name, metric.WithUnit(unit), metric.WithDescription(desc))
		return c
	}
	o.calls = counter(Calls, "{call}", "Calls through the policy that ended, by outcome.")
	o.attempts = counter(Attempts, "{attempt}", "Calls into the dependency, hedges included.")
	o.retries = counter(Retries, "{retry}", "Attempts that failed and were tried again.")
	o.rejections = counter(Rejections, "{call}", "Calls a gene refused, by gene.")
	o.fallbacks = counter(Fallbacks, "{call}", "Failures the fallback stood in for.")
	o.trans = counter(Transitions, "{transition}", "Circuit-breaker state changes, by the state entered.")
	if err == nil {
		o.duration, err = meter.Float64Histogram(Duration, metric.WithUnit("s"), metric.WithDescription("How long a call through the policy took, by outcome."))
	}
	if err != nil {
		return nil, fmt.Errorf("genomeotel: %w", err)
	}
	o.plain = metric.WithAttributeSet(attribute.NewSet(o.module))
	o.ok = metric.WithAttributeSet(attribute.NewSet(o.module, attribute.String("outcome", "ok")))
	o.failed = metric.WithAttributeSet(attribute.NewSet(o.module, attribute.String("outcome", "error")))
	return o, nil
}

// Observe implements genome.Observer.
func (o *observer) Observe(e genome.Event) {
	ctx := context.Background()
	switch e.Kind {
	case genome.EventAttempt, genome.EventHedge:
		o.attempts.Add(ctx, 1, o.plain)
	case genome.EventRetry:
		o.retries.Add(ctx, 1, o.plain)
	case genome.EventRejected:
		o.rejections.Add(ctx, 1, metric.WithAttributes(o.module, attribute.String("gene", e.Gene.String())))
	case genome.EventFallback:
		o.fallbacks.Add(ctx, 1, o.plain)
	case genome.EventBreaker:
		o.trans.Add(ctx, 1, metric.WithAttributes(o.module, attribute.String("to", e.To.String())))
	case genome.EventDone:
		outcome := o.ok
		if e.Err != nil {
			outcome = o.failed
		}
		o.calls.Add(ctx, 1, outcome)
		o.duration.Record(ctx, e.Latency.Seconds(), outcome)
	}
}

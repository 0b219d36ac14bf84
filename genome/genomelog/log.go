// Package genomelog observes a compiled genome in production: [Observer]
// logs a policy's events with log/slog, and [Tally] keeps the live figures
// of its calls — success rate, attempts per call, latency — and the
// fitness the harness would give them, so that a dashboard can set the
// production fitness beside the tested one. Combine them with
// genome.WithObserver(Both(...)).
//
// It imports only the standard library and packages genome and slo.
package genomelog

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rafaelabs/rafael/genome"
	"github.com/rafaelabs/rafael/slo"
)

// Observer logs p's events to l, each with the module's name: an attempt,
// a hedge and a call that succeeded at Debug; a retry and a call that
// failed at Info; a rejection, a fallback, and a breaker that opens at
// Warn (one that closes again at Info). A level l does not log costs one
// call of Enabled.
func Observer(l *slog.Logger, module string) genome.Observer {
	return &logger{l: l, module: slog.String("module", module)}
}

type logger struct {
	l      *slog.Logger
	module slog.Attr
}

func (o *logger) Observe(e genome.Event) {
	level, msg := slog.LevelDebug, ""
	switch e.Kind {
	case genome.EventAttempt:
		msg = "genome: attempt"
	case genome.EventHedge:
		msg = "genome: hedge"
	case genome.EventRetry:
		level, msg = slog.LevelInfo, "genome: retry"
	case genome.EventRejected:
		level, msg = slog.LevelWarn, "genome: rejected"
	case genome.EventFallback:
		level, msg = slog.LevelWarn, "genome: fallback"
	case genome.EventBreaker:
		level, msg = slog.LevelInfo, "genome: breaker"
		if e.To == genome.Open {
			level = slog.LevelWarn
		}
	case genome.EventDone:
		msg = "genome: call"
		if e.Err != nil {
			level = slog.LevelInfo
		}
	default:
		msg = "genome: " + e.Kind.String()
	}
	ctx := context.Background()
	if !o.l.Enabled(ctx, level) {
		return
	}
	attrs := []slog.Attr{o.module}
	switch e.Kind {
	case genome.EventAttempt, genome.EventHedge:
		attrs = append(attrs, slog.Int("attempt", e.Attempt))
	case genome.EventRetry:
		attrs = append(attrs, slog.Int("attempt", e.Attempt), slog.Duration("delay", e.Delay))
	case genome.EventRejected:
		attrs = append(attrs, slog.String("gene", e.Gene.String()))
	case genome.EventBreaker:
		attrs = append(attrs, slog.String("from", e.From.String()), slog.String("to", e.To.String()))
	case genome.EventDone:
		attrs = append(attrs, slog.Duration("latency", e.Latency))
	}
	if e.Err != nil {
		attrs = append(attrs, slog.String("err", e.Err.Error()))
	}
	o.l.LogAttrs(ctx, level, msg, attrs...)
}

// Both sends each event to every observer, in order.
func Both(observers ...genome.Observer) genome.Observer {
	return genome.ObserverFunc(func(e genome.Event) {
		for _, o := range observers {
			o.Observe(e)
		}
	})
}

// Tally counts a policy's calls as they end. It is an observer; its
// figures are read with Figures. It is safe for concurrent use.
type Tally struct {
	// Weights of the fitness, as in the harness (zero: slo.DefaultWeights).
	Weights slo.Weights

	calls, failed, attempts atomic.Int64
	latency                 atomic.Int64 // nanoseconds, summed

	mu      sync.Mutex
	slowest time.Duration
}

// Observe implements genome.Observer.
func (t *Tally) Observe(e genome.Event) {
	switch e.Kind {
	case genome.EventAttempt, genome.EventHedge:
		t.attempts.Add(1)
	case genome.EventDone:
		t.calls.Add(1)
		if e.Err != nil {
			t.failed.Add(1)
		}
		t.latency.Add(int64(e.Latency))
		t.mu.Lock()
		t.slowest = max(t.slowest, e.Latency)
		t.mu.Unlock()
	}
}

// Figures are a Tally's figures since it started.
type Figures struct {
	Calls, Failed      int64
	SuccessRate        float64 // 1 with no calls
	AttemptsPerCall    float64 // calls into the dependency per call, hedges included
	MeanLatency, Worst time.Duration
	// Fitness is the harness's fitness of these figures (slo.Weights'
	// Fitness of the success rate, a recovery of 1 — production has no
	// declared fault window to recover from — and 1/attempts per call), on
	// the same 0–1 scale as a trial's, to set beside the tested fitness.
	Fitness float64
}

// Figures returns the figures so far.
func (t *Tally) Figures() Figures {
	f := Figures{Calls: t.calls.Load(), Failed: t.failed.Load(), SuccessRate: 1, AttemptsPerCall: 1}
	if f.Calls > 0 {
		f.SuccessRate = float64(f.Calls-f.Failed) / float64(f.Calls)
		f.AttemptsPerCall = max(1, float64(t.attempts.Load())/float64(f.Calls))
		f.MeanLatency = time.Duration(t.latency.Load() / f.Calls)
	}
	t.mu.Lock()
	f.Worst = t.slowest
	t.mu.Unlock()
	f.Fitness = t.Weights.Fitness(f.SuccessRate, 1, 1/f.AttemptsPerCall)
	return f
}

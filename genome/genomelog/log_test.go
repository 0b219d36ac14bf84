package genomelog

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/rafaelabs/rafael/genome"
	"github.com/rafaelabs/rafael/slo"
)

func TestObserverAndTally(t *testing.T) {
	var buf bytes.Buffer
	l := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo}))
	tally := &Tally{}
	p, err := genome.Compile(&genome.Genome{Module: "orders",
		Retry:          &genome.Retry{MaxAttempts: 3, BaseDelay: time.Millisecond, MaxDelay: time.Millisecond, Multiplier: 1},
		CircuitBreaker: &genome.CircuitBreaker{Mode: genome.BreakerConsecutive, Threshold: 4, OpenDuration: time.Minute, HalfOpenProbes: 1, FailureRate: 0.5, Window: 10}},
		genome.WithObserver(Both(Observer(l, "orders"), tally)))
	if err != nil {
		t.Fatal(err)
	}
	down := errors.New("connection refused")
	n := 0
	ctx := context.Background()
	_ = p.Do(ctx, func(context.Context) error { n++; return nil })                                            // 1 attempt, ok
	_ = p.Do(ctx, func(context.Context) error { n++; return down })                                           // 3 attempts, failed
	_ = p.Do(ctx, func(context.Context) error { n++; return down })                                           // 1 attempt opens the breaker… then rejected
	if err := p.Do(ctx, func(context.Context) error { return nil }); !errors.Is(err, genome.ErrCircuitOpen) { // rejected
		t.Fatalf("the breaker did not open: %v", err)
	}

	var kinds []string
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		if rec["module"] != "orders" {
			t.Errorf("a record without the module: %v", rec)
		}
		kinds = append(kinds, rec["level"].(string)+" "+rec["msg"].(string))
	}
	for _, want := range []string{"INFO genome: retry", "WARN genome: breaker", "WARN genome: rejected", "INFO genome: call"} {
		if !contains(kinds, want) {
			t.Errorf("no %q among %v", want, kinds)
		}
	}
	if contains(kinds, "DEBUG genome: attempt") {
		t.Error("debug records logged at level Info")
	}

	f := tally.Figures()
	if f.Calls != 4 || f.Failed != 3 {
		t.Fatalf("figures %+v: want 4 calls, 3 failed", f)
	}
	if f.AttemptsPerCall != float64(n)/4 {
		t.Errorf("attempts per call %v, want %d/4", f.AttemptsPerCall, n)
	}
	if want := slo.DefaultWeights.Fitness(0.25, 1, 1/f.AttemptsPerCall); f.Fitness != want {
		t.Errorf("fitness %v, want the harness's %v", f.Fitness, want)
	}
	if (&Tally{}).Figures().SuccessRate != 1 {
		t.Error("no calls: nothing failed")
	}
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

package genomelog_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/rafaelabs/rafael/genome"
	"github.com/rafaelabs/rafael/genome/genomelog"
)

// A service logs its policy's retries and rejections with slog and keeps
// its live fitness beside the one its test measured.
func Example() {
	// No time and no latency in the records, so the output is the same each run.
	plain := func(_ []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey || a.Key == "latency" || a.Key == "delay" {
			return slog.Attr{}
		}
		return a
	}
	l := slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{Level: slog.LevelInfo, ReplaceAttr: plain}))
	tally := &genomelog.Tally{}
	p, err := genome.Compile(&genome.Genome{Module: "orders",
		Retry: &genome.Retry{MaxAttempts: 2, BaseDelay: time.Millisecond, MaxDelay: time.Millisecond, Multiplier: 1}},
		genome.WithObserver(genomelog.Both(genomelog.Observer(l, "orders"), tally)))
	if err != nil {
		panic(err)
	}
	tries := 0
	_ = p.Do(context.Background(), func(context.Context) error {
		if tries++; tries == 1 {
			return errors.New("connection reset")
		}
		return nil
	})
	f := tally.Figures()
	fmt.Printf("%d call, %.0f %% succeeded, %.1f attempts a call, fitness %.2f\n", f.Calls, 100*f.SuccessRate, f.AttemptsPerCall, f.Fitness)
	// Output:
	// level=INFO msg="genome: retry" module=orders attempt=1 err="connection reset"
	// 1 call, 100 % succeeded, 2.0 attempts a call, fitness 0.90
}

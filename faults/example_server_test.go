package faults_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"time"

	"github.com/rafaelabs/rafael/faults"
)

// A server of one worker and a queue of one: the first call is being
// served, the second waits its turn, the third is refused at once. The two
// callers then give up; the server would still spend their time.
func ExampleServer() {
	db := faults.NewServer("inventory", 1, 1, time.Minute)
	ctx, cancel := context.WithCancel(context.Background())
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for i := range errs {
		wg.Go(func() { errs[i] = db.Call(ctx) })
		for db.Stats(ctx).Calls <= int64(i) { // in order
			runtime.Gosched()
		}
	}
	third := db.Call(context.Background())
	fmt.Println("third:", errors.Is(third, faults.ErrOverloaded))
	fmt.Println("queued:", db.Stats(ctx).Queued)
	cancel()
	wg.Wait()
	fmt.Println("first two:", errs[0], errs[1])
	// Output:
	// third: true
	// queued: 1
	// first two: context canceled context canceled
}

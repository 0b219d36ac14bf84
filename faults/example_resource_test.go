package faults_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/rafaelabs/rafael/faults"
)

// A ballast never grows past its limit: the refused Grow allocates nothing.
func ExampleBallast() {
	b, err := faults.NewBallast(4 << 20) // at most 4 MiB
	if err != nil {
		panic(err)
	}
	defer b.Release()

	fmt.Println(b.Grow(3<<20), b.Size())
	err = b.Grow(2 << 20)
	fmt.Println(errors.Is(err, faults.ErrBallastCap))
	fmt.Println(err)
	fmt.Println(b.Size())
	// Output:
	// <nil> 3145728
	// true
	// faults: ballast cap exceeded: growing 3 MiB by 2 MiB would exceed the ballast's limit of 4 MiB
	// 3145728
}

// A flood bounded by MaxCalls: two workers, as fast as possible, exactly 10
// calls whatever the machine's speed.
func ExampleLoad_Run() {
	var calls atomic.Int64
	l := faults.Load{Concurrency: 2, Duration: time.Minute, MaxCalls: 10}
	r, err := l.Run(context.Background(), func(context.Context) error {
		calls.Add(1)
		return nil
	})
	fmt.Println(r.Calls, r.Errors, calls.Load(), err)
	// Output: 10 0 10 <nil>
}

// Only loopback may be flooded; names are not resolved and nothing is sent.
func ExampleLoadHTTP() {
	l := faults.Load{Duration: time.Second, MaxCalls: 1}
	_, err := faults.LoadHTTP(context.Background(), l, nil, http.MethodGet, "http://10.0.0.1/")
	fmt.Println(errors.Is(err, faults.ErrNotLoopback))
	fmt.Println(err)
	// Output:
	// true
	// faults: not a loopback address: load: refusing http://10.0.0.1/: only loopback targets (127.0.0.0/8, ::1, localhost) may be flooded, over http or https
}

// Settings out of range are refused, each naming its field.
func ExampleLoad_Validate() {
	fmt.Println(faults.Load{Concurrency: -1}.Validate())
	// Output:
	// faults: invalid fault: load.Concurrency = -1 is outside [0, 1024] (0 means 1)
	// faults: invalid fault: load.Duration = 0s is outside (0, 5m0s]: a flood must be bounded in time
}

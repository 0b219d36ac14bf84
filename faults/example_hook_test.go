package faults_test

import (
	"context"
	"errors"
	"fmt"
	"net"

	"github.com/rafaelabs/rafael/faults"
)

// A hook fails a seeded 30% of calls: the same seed gives the same pattern on
// every run, which is what makes a failing chaos test replayable.
func ExampleFunc() {
	h := faults.NewHook("payments", 42)
	charge := faults.Func(h, func(context.Context) (string, error) { return "charged", nil })

	remove, err := h.Apply(faults.Error{Rate: 0.3})
	if err != nil {
		panic(err)
	}
	for range 20 {
		if _, err := charge(context.Background()); errors.Is(err, faults.ErrInjected) {
			fmt.Print("x")
		} else {
			fmt.Print(".")
		}
	}
	fmt.Println()

	remove()
	fmt.Println(charge(context.Background()))
	// Output:
	// .xx.x.x...x....xx.x.
	// charged <nil>
}

// A Down fault refuses calls with an error that names the hook and matches
// both ErrRefused and the errno a real network would give.
func ExampleHook_Before() {
	h := faults.NewHook("db", 1)
	remove, _ := h.Apply(faults.Down{})
	err := h.Before(context.Background())
	fmt.Println(err)
	fmt.Println(errors.Is(err, faults.ErrRefused))
	remove()
	fmt.Println(h.Before(context.Background()))

	_, err = h.Apply(faults.Blackhole{})
	fmt.Println(errors.Is(err, faults.ErrUnsupported))
	// Output:
	// faults: db: connection refused (injected down)
	// true
	// <nil>
	// true
}

// A hook in front of a dialer, a driver's connector or an HTTP transport
// reaches outside the process, so it is networked and a harness runs it in
// real time; a hook whose dialer stays in the process (one end of a net.Pipe)
// says so, and may run in a testing/synctest bubble.
func ExampleHook_InProcess() {
	real := faults.NewHook("postgres", 1)
	_ = faults.Dialer(real, nil) // a net.Dialer: real sockets

	pipe := faults.NewHook("postgres", 1).InProcess()
	_ = faults.Dialer(pipe, func(context.Context, string, string) (net.Conn, error) {
		client, server := net.Pipe()
		go serveFake(server)
		return client, nil
	})

	fmt.Println(real.Networked(), pipe.Networked())
	// Output:
	// true false
}

// serveFake stands in for an in-process server: it hangs up at once.
func serveFake(c net.Conn) { c.Close() }

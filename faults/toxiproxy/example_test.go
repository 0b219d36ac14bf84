package toxiproxy_test

import (
	"errors"
	"fmt"
	"net"
	"syscall"
	"time"

	"github.com/rafaelabs/rafael/faults"
	"github.com/rafaelabs/rafael/faults/toxiproxy"
)

func ExampleNew() {
	// Any loopback upstream will do; here, a listener that accepts nothing.
	upstream, _ := net.Listen("tcp", "127.0.0.1:0")
	defer upstream.Close()

	p, err := toxiproxy.New("postgres", upstream.Addr().String()) // in a test: toxiproxy.Start(t, ...)
	if err != nil {
		panic(err)
	}
	defer p.Close()

	_, err = p.Apply(faults.Latency{Delay: -time.Second})
	fmt.Println(errors.Is(err, faults.ErrInvalid), err)

	remove, _ := p.Apply(faults.Down{})
	_, err = net.Dial("tcp", p.Addr())
	fmt.Println("while down:", errors.Is(err, syscall.ECONNREFUSED))
	remove()
	c, err := net.Dial("tcp", p.Addr())
	fmt.Println("after removal:", err)
	c.Close()

	_, err = p.Apply(faults.Error{})
	fmt.Println(err)
	// Output:
	// true faults: invalid fault: latency.Delay = -1s is negative (target "postgres")
	// while down: true
	// after removal: <nil>
	// faults: unsupported fault: target "postgres" cannot inject error (it supports latency, down, blackhole, hang, reset, bandwidth, slowClose, cutAfter, slicer)
}

package toxiproxy

import (
	"github.com/rafaelabs/rafael/faults"
	"io"
	"net"
	"testing"
)

// BenchmarkRoundTrip measures a 64-byte echo round trip on loopback, direct
// through an embedded Toxiproxy proxy with no fault, and through one with a
// zero-delay latency fault in force (its toxic and the pass-through toxic
// that counts the connections a fault touches): the differences are what
// the proxy, and a fault's machinery, add to every exchange.
func BenchmarkRoundTrip(b *testing.B) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { _, _ = io.Copy(c, c); _ = c.Close() }()
		}
	}()
	p, err := New("bench", ln.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	q, err := New("bench-fault", ln.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	defer q.Close()
	if _, err := q.Apply(faults.Latency{}); err != nil { // a zero delay: the latency toxic and the counting toxic, in force
		b.Fatal(err)
	}
	for _, tc := range []struct{ name, addr string }{{"direct", ln.Addr().String()}, {"toxiproxy", p.Addr()}, {"toxiproxy+fault", q.Addr()}} {
		b.Run(tc.name, func(b *testing.B) {
			c, err := net.Dial("tcp", tc.addr)
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			msg := make([]byte, 64)
			buf := make([]byte, 64)
			b.SetBytes(64)
			for b.Loop() {
				if _, err := c.Write(msg); err != nil {
					b.Fatal(err)
				}
				if _, err := io.ReadFull(c, buf); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	_ = ln.Close()
	<-done
}

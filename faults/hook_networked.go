package faults

import (
	"net"
	"syscall"
)

// Networked reports whether h fronts something outside the process, so that
// it cannot run inside a testing/synctest bubble (see [Networked]): true once
// h was given to [Connector], [Dialer] or [RoundTripper], or declared
// [Hook.Remote] — unless h was declared in-process with [Hook.InProcess]
// since — or to [Conn] with a real socket, which no declaration hides. A hook used only through [Func],
// [FuncErr] and [Hook.Before], or through connections of a net.Pipe, is
// in-process.
func (h *Hook) Networked() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.socket || h.remote && !h.inProcess
}

// InProcess declares that the connector, dialer or transport h fronts lives in
// this process — a fake database/sql driver, a dialer that returns one end of
// a net.Pipe, a RoundTripper that calls an http.Handler directly — so that h
// stays in-process whatever [Connector], [Dialer] or [RoundTripper] infer, and
// a harness may run it in a testing/synctest bubble. It returns h, so that it
// chains:
//
//	h := faults.NewHook("postgres", 1).InProcess()
//	db := sql.OpenDB(faults.Connector(h, fakeDriver{}))
//
// Declare only what you know: a real driver or socket inside a bubble is a
// fatal error that ends the test binary. A real socket wrapped by [Conn]
// keeps h networked all the same.
func (h *Hook) InProcess() *Hook {
	h.mu.Lock()
	h.inProcess = true
	h.mu.Unlock()
	return h
}

// Remote declares that what h fronts through [Func], [FuncErr] or
// [Hook.Before] reaches outside the process — a gRPC client's invoker in a
// unary interceptor, a cloud SDK's call — so that h is [Networked] and a
// harness runs it in real time, never in a testing/synctest bubble (where
// a real client's timers and channels are a fatal error). It undoes
// [Hook.InProcess] and returns h, so that it chains:
//
//	h := faults.NewHook("inventory", seed).Remote()
func (h *Hook) Remote() *Hook {
	h.mu.Lock()
	h.remote, h.inProcess = true, false
	h.mu.Unlock()
	return h
}

// frontsRemote records that a wrapper made h front a driver, dialer or
// transport that may reach outside the process.
func (h *Hook) frontsRemote() {
	h.mu.Lock()
	h.remote = true
	h.mu.Unlock()
}

// isSocket reports whether c is, or wraps (through NetConn, as *tls.Conn
// does), a connection with a file descriptor: a real socket.
func isSocket(c net.Conn) bool {
	for range 8 { // a bound against a NetConn that returns itself
		if _, ok := c.(syscall.Conn); ok {
			return true
		}
		if hc, ok := c.(*hookConn); ok {
			c = hc.Conn
			continue
		}
		u, ok := c.(interface{ NetConn() net.Conn })
		if !ok {
			return false
		}
		if c = u.NetConn(); c == nil {
			return false
		}
	}
	return false
}

package faults

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"slices"
	"sync"
	"time"
)

// Conn returns c wrapped so that h's faults act on it until it is closed:
//
//   - [Down]: applying it closes the connection (reads then return io.EOF,
//     writes a reset error); a connection wrapped while it is applied is
//     closed at once.
//   - [Reset]: once the connection has lived Reset.After (counted from the
//     later of its wrapping and the fault's application), reads and writes
//     fail with an error matching [ErrReset] and syscall.ECONNRESET.
//   - [Hang]: reads block until the connection is closed or its read
//     deadline passes; writes are swallowed. Removing the Hang resets the
//     connections it held.
//   - [Latency]: data read (Downstream), written (Upstream) or both is held
//     for Delay ± Jitter, drawn per Read or Write.
//   - With a hook from [NewConnHook]: [Blackhole] holds reads and writes
//     until it is removed, then lets them through; [Bandwidth] holds each
//     chunk as long as it takes at BytesPerSecond; [Slicer] splits data into
//     chunks of AverageSize ± SizeVariation bytes, Delay apart; [CutAfter]
//     closes the connection once Bytes have passed in its Direction over the
//     connection's life; [SlowClose] makes Close wait Delay.
//
// Every wait respects the deadlines set on the returned conn (failing with
// os.ErrDeadlineExceeded) and ends when it is closed. Data read but held past
// a read deadline is kept for the next Read. Error faults do not act on a
// connection: see [Dialer].
//
// Inside a testing/synctest bubble, wrap the connection (for instance one end
// of a net.Pipe) inside the bubble. A real socket (a connection with a file
// descriptor, such as *net.TCPConn) makes h [Networked].
func Conn(h *Hook, c net.Conn) net.Conn { return h.conn(nil, c) }

// conn is Conn in scope s: the connection sees s's faults.
func (h *Hook) conn(s *Scope, c net.Conn) net.Conn {
	hc := &hookConn{
		Conn: c, h: h, opened: time.Now(),
		rlock: make(chan struct{}, 1), wlock: make(chan struct{}, 1),
		dead: make(chan struct{}), dlc: make(chan struct{}),
	}
	socket := isSocket(c)
	h.mu.Lock()
	h.socket = h.socket || socket
	hc.st = h.callState(s)
	hc.st.live[hc] = struct{}{}
	fs := slices.Clone(hc.st.faults)
	h.mu.Unlock()
	for _, a := range fs {
		h.touch(hc, a)
	}
	return hc
}

// Dialer returns a dial function that consults h before each dial and wraps
// the connections it makes with [Conn]. [Down] refuses the dial with an error
// matching [ErrRefused] and syscall.ECONNREFUSED; [Error] fails it at its
// Rate. The other kinds act on the connection. A nil dial means a zero
// net.Dialer's DialContext. TLS runs over the wrapped connection when the
// dialer is an http.Transport's DialContext (not DialTLSContext), or under
// tls.Client, so the faults act on an HTTPS or TLS database exchange too.
//
// A dialer reaches a socket, so h becomes [Networked] and a harness runs it
// in real time; for a dial that returns one end of a net.Pipe, declare the
// hook with [Hook.InProcess].
func Dialer(h *Hook, dial func(ctx context.Context, network, addr string) (net.Conn, error)) func(ctx context.Context, network, addr string) (net.Conn, error) {
	h.frontsRemote()
	if dial == nil {
		dial = new(net.Dialer).DialContext
	}
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		if err := h.run(ctx, hookDialKinds); err != nil {
			return nil, &net.OpError{Op: "dial", Net: network, Err: err}
		}
		c, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return h.conn(ScopeOf(ctx), c), nil
	}
}

type hookConn struct {
	net.Conn
	h      *Hook
	st     *hookState // the scope's state it was opened in
	opened time.Time

	// rlock and wlock serialize Reads and Writes; channels, not mutexes, so
	// that a goroutine waiting its turn blocks durably in a synctest bubble.
	rlock, wlock chan struct{}
	dead         chan struct{} // closed once the conn is closed or killed

	// Under rlock: data read but not yet delivered, and when it is due.
	pend    []byte
	pendErr error
	due     time.Time
	nread   int64
	nwrote  int64 // under wlock

	mu         sync.Mutex
	rerr, werr error     // set when dead
	closed     bool      // by Close
	rdl, wdl   time.Time // deadlines
	dlc        chan struct{}
	timers     []*time.Timer
}

// errHookSwallow tells Write to report success without writing (Hang);
// errHookDeadline tells wait that a deadline changed.
var errHookSwallow, errHookDeadline = errors.New("faults: swallowed"), errors.New("faults: deadline changed")

// Read reads from the wrapped conn and delivers what it read once the hook's
// faults allow.
func (c *hookConn) Read(p []byte) (int, error) {
	if err := c.lock(c.rlock, true); err != nil {
		return 0, err
	}
	defer func() { <-c.rlock }()
	if len(p) == 0 {
		return 0, c.err(true)
	}
	if len(c.pend) == 0 {
		if err := c.gate(true); err != nil {
			return 0, err
		}
		n, err := c.Conn.Read(p)
		if e := c.err(true); e != nil {
			return 0, e
		}
		if n == 0 {
			return 0, err
		}
		s := c.h.shape(c.st, true, true)
		c.pend, c.pendErr = append(c.pend[:0], p[:n]...), err
		c.due = time.Now().Add(s.delay + s.transfer(n))
	}
	if err := c.wait(true, time.Until(c.due), nil); err != nil {
		return 0, err
	}
	if err := c.gate(true); err != nil {
		return 0, err
	}
	s := c.h.shape(c.st, true, false)
	k := min(len(p), len(c.pend))
	if s.slicer != nil {
		k = min(k, c.h.sliceSize(c.st, s.slicer))
	}
	if s.cut >= 0 {
		k = int(min(int64(k), max(s.cut-c.nread, 0)))
	}
	n := copy(p, c.pend[:k])
	c.pend, c.nread = c.pend[k:], c.nread+int64(n)
	var err error
	if len(c.pend) == 0 {
		err, c.pendErr = c.pendErr, nil
	} else if s.slicer != nil {
		c.due = time.Now().Add(s.slicer.Delay)
	}
	if s.cut >= 0 && c.nread >= s.cut {
		c.kill(io.EOF, c.h.reset("cutAfter"))
		if n == 0 {
			return 0, io.EOF
		}
	}
	return n, err
}

// Write writes p to the wrapped conn once the hook's faults allow.
func (c *hookConn) Write(p []byte) (int, error) {
	if err := c.lock(c.wlock, false); err != nil {
		return 0, err
	}
	defer func() { <-c.wlock }()
	if err := c.gate(false); err != nil {
		if err == errHookSwallow {
			return len(p), nil
		}
		return 0, err
	}
	s := c.h.shape(c.st, false, true)
	if err := c.wait(false, s.delay, nil); err != nil {
		return 0, err
	}
	n := 0
	for n < len(p) && (s.cut < 0 || c.nwrote < s.cut) {
		chunk := p[n:]
		if s.slicer != nil {
			if n > 0 {
				if err := c.wait(false, s.slicer.Delay, nil); err != nil {
					return n, err
				}
			}
			chunk = chunk[:min(len(chunk), c.h.sliceSize(c.st, s.slicer))]
		}
		if s.cut >= 0 {
			chunk = chunk[:min(int64(len(chunk)), s.cut-c.nwrote)]
		}
		if err := c.wait(false, s.transfer(len(chunk)), nil); err != nil {
			return n, err
		}
		m, err := c.Conn.Write(chunk)
		n, c.nwrote = n+m, c.nwrote+int64(m)
		if err != nil {
			if e := c.err(false); e != nil {
				err = e
			}
			return n, err
		}
	}
	if s.cut >= 0 && c.nwrote >= s.cut {
		r := c.h.reset("cutAfter")
		c.kill(io.EOF, r)
		if n < len(p) {
			return n, r
		}
	}
	return n, nil
}

// gate waits out a Hang or Blackhole and fails an operation that Down or
// Reset forbids. On a write, a Hang returns errHookSwallow.
func (c *hookConn) gate(read bool) error {
	for {
		if err := c.err(read); err != nil {
			return err
		}
		g := c.h.gate(c)
		switch {
		case g.down:
			c.kill(io.EOF, c.h.reset("down"))
		case g.reset:
			r := c.h.reset("reset")
			c.kill(r, r)
		case g.hang && !read:
			return errHookSwallow
		case g.hold != nil:
			if err := c.wait(read, -1, g.hold); err != errHookGone {
				return err
			}
			if g.hang {
				r := c.h.reset("hang, released on removal")
				c.kill(r, r)
			}
		default:
			return nil
		}
	}
}

// wait blocks for d (d < 0: no limit) or until gone is closed (errHookGone), the
// conn is dead, or its read (or write) deadline passes.
func (c *hookConn) wait(read bool, d time.Duration, gone <-chan struct{}) error {
	if d == 0 || (d < 0 && gone == nil) {
		return nil
	}
	var done <-chan time.Time
	if d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		done = t.C
	}
	for {
		c.mu.Lock()
		dl, changed := c.wdl, c.dlc
		if read {
			dl = c.rdl
		}
		c.mu.Unlock()
		var expired <-chan time.Time
		var t *time.Timer
		if !dl.IsZero() {
			left := time.Until(dl)
			if left <= 0 {
				return os.ErrDeadlineExceeded
			}
			t = time.NewTimer(left)
			expired = t.C
		}
		var err error
		select {
		case <-done:
		case <-gone:
			err = errHookGone
		case <-c.dead:
			err = c.err(read)
		case <-expired:
			err = os.ErrDeadlineExceeded
		case <-changed:
			err = errHookDeadline
		}
		if t != nil {
			t.Stop()
		}
		if err != errHookDeadline {
			return err
		}
	}
}

func (c *hookConn) lock(l chan struct{}, read bool) error {
	select {
	case l <- struct{}{}:
		return nil
	case <-c.dead:
		return c.err(read)
	}
}

func (c *hookConn) err(read bool) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if read {
		return c.rerr
	}
	return c.werr
}

// kill closes the wrapped conn on the hook's behalf; later reads return rerr
// and writes werr.
func (c *hookConn) kill(rerr, werr error) {
	if c.end(rerr, werr, false) {
		c.Conn.Close()
	}
}

// end marks c dead (or closed by its user) and reports whether it was alive.
func (c *hookConn) end(rerr, werr error, byUser bool) bool {
	c.mu.Lock()
	alive := c.rerr == nil
	if alive || byUser {
		c.rerr, c.werr = rerr, werr
	}
	if alive {
		close(c.dead)
	}
	c.closed = c.closed || byUser
	timers := c.timers
	c.timers = nil
	c.mu.Unlock()
	for _, t := range timers {
		t.Stop()
	}
	c.h.forget(c)
	return alive
}

// Close closes the conn, after the Delay of a SlowClose.
func (c *hookConn) Close() error {
	c.mu.Lock()
	again := c.closed
	c.mu.Unlock()
	if again {
		return c.Conn.Close()
	}
	var delay time.Duration
	c.h.mu.Lock()
	for _, a := range c.st.faults {
		if f, ok := a.f.(SlowClose); ok {
			delay = max(delay, f.Delay)
		}
	}
	c.h.mu.Unlock()
	if delay > 0 {
		<-time.NewTimer(delay).C
	}
	if c.end(net.ErrClosed, net.ErrClosed, true) {
		return c.Conn.Close()
	}
	return nil
}

// SetDeadline sets both deadlines, for the wrapped conn and the hook's waits.
func (c *hookConn) SetDeadline(t time.Time) error {
	c.deadlines(t, true, true)
	return c.Conn.SetDeadline(t)
}

// SetReadDeadline sets the read deadline.
func (c *hookConn) SetReadDeadline(t time.Time) error {
	c.deadlines(t, true, false)
	return c.Conn.SetReadDeadline(t)
}

// SetWriteDeadline sets the write deadline.
func (c *hookConn) SetWriteDeadline(t time.Time) error {
	c.deadlines(t, false, true)
	return c.Conn.SetWriteDeadline(t)
}

func (c *hookConn) deadlines(t time.Time, r, w bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if r {
		c.rdl = t
	}
	if w {
		c.wdl = t
	}
	close(c.dlc)
	c.dlc = make(chan struct{})
}

package faults

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"syscall"
	"time"
)

// ErrOverloaded is matched (with errors.Is) by the error of a call a
// [Server] refused because its queue was full.
var ErrOverloaded = errors.New("faults: server overloaded")

// Server is a model of a dependency with a capacity, the kind whose
// overload outlives its cause: Workers calls are served at once, each for
// Service; a call that finds every worker busy waits in a first-in,
// first-out queue of at most Queue calls, and one that finds the queue full
// is refused at once with an error matching [ErrOverloaded].
//
// Like most real servers it does not know when a caller gives up: a call
// whose context ends while it waits or is being served returns ctx.Err()
// at once, but its place in the queue and its worker's time are spent all
// the same. That is what lets a short trigger become a metastable failure:
// a slow spell fills the queue, callers time out and retry, every retry
// joins the queue behind work nobody waits for any more, and the queue
// stays full — every call times out — long after the trigger is gone.
//
// A Server is a [Target]: [Latency] adds to the service time of the calls
// that arrive while it is in force (the server itself is slower, so its
// workers stay busy longer: a garbage-collection pause, a cold cache, a
// noisy neighbour); [Down] refuses every call at once with [ErrRefused];
// [Error] fails calls at once, at its rate. It keeps its state per [Scope]
// (so trials that share it keep apart), draws its random decisions from
// the seed ([Reseeder]) and counts the calls its faults acted on
// ([Toucher]).
//
// It computes when each call will be served from the workers' and the
// queue's state as the call arrives, and waits only on a timer, so it
// starts no goroutine and runs inside a testing/synctest bubble in virtual
// time. It is safe for concurrent use.
type Server struct {
	name    string
	workers int
	queue   int
	service time.Duration

	mu     sync.Mutex
	def    serverState
	scopes map[*Scope]*serverState
}

// serverState is a server's state in one scope.
type serverState struct {
	hookState               // faults applied, random draws, touches
	free      []time.Time   // when each worker is next free
	waiting   []time.Time   // when each queued call starts being served, ascending
	started   int64         // calls that arrived
	spent     time.Duration // worker time spent on calls whose caller had gone
}

// NewServer returns a server named name (for errors and reports) with
// workers calls served at once, a queue of queue calls and a service time
// of service. It panics on workers < 1, queue < 0 or service < 0: a model
// without capacity models nothing.
func NewServer(name string, workers, queue int, service time.Duration) *Server {
	if workers < 1 || queue < 0 || service < 0 {
		panic(fmt.Sprintf("faults: NewServer(%q, workers %d, queue %d, service %v): want workers ≥ 1, queue ≥ 0 and service ≥ 0", name, workers, queue, service))
	}
	return &Server{name: name, workers: workers, queue: queue, service: service}
}

// Name returns the server's name.
func (s *Server) Name() string { return s.name }

// Supports reports whether the server can inject faults of kind k: Latency,
// Down and Error.
func (s *Server) Supports(k Kind) bool {
	return k == KindLatency || k == KindDown || k == KindError
}

// Apply injects f until the returned remove is called; remove is
// idempotent. A fault refused by [Check] is an error and nothing is
// injected.
func (s *Server) Apply(f Fault) (remove func(), err error) { return s.apply(nil, f) }

func (s *Server) apply(sc *Scope, f Fault) (func(), error) {
	if err := Check(s, f); err != nil {
		return nil, err
	}
	a := &hookFault{f: f, at: time.Now(), gone: make(chan struct{})}
	s.mu.Lock()
	st := s.state(sc)
	a.st = &st.hookState
	st.faults = append(st.faults, a)
	s.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			s.mu.Lock()
			for i, b := range st.faults {
				if b == a {
					st.faults = append(st.faults[:i:i], st.faults[i+1:]...)
					break
				}
			}
			s.mu.Unlock()
			close(a.gone)
		})
	}, nil
}

// Reseed restarts the server's random decisions (an Error's rate, a
// Latency's jitter) from seed.
func (s *Server) Reseed(seed uint64) { s.reseed(nil, seed) }

func (s *Server) reseed(sc *Scope, seed uint64) {
	s.mu.Lock()
	s.state(sc).rnd = seed
	s.mu.Unlock()
}

// Touched returns how many calls the server's faults have acted on (slowed,
// refused, failed) since it was made; see [Toucher].
func (s *Server) Touched(Kind) (n int64, unit string) { return s.touchedIn(nil) }

func (s *Server) touchedIn(sc *Scope) (int64, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state(sc).touched, "calls"
}

// InScope returns a view of s in scope sc: its Apply, Reseed and Touched act
// on sc's state, which calls whose context carries sc see (see [Scoper]).
func (s *Server) InScope(sc *Scope) Target { return serverView{s, sc} }

type serverView struct {
	s  *Server
	sc *Scope
}

func (v serverView) Name() string                        { return v.s.Name() }
func (v serverView) Supports(k Kind) bool                { return v.s.Supports(k) }
func (v serverView) Apply(f Fault) (func(), error)       { return v.s.apply(v.sc, f) }
func (v serverView) Reseed(seed uint64)                  { v.s.reseed(v.sc, seed) }
func (v serverView) Touched(Kind) (n int64, unit string) { return v.s.touchedIn(v.sc) }
func (v serverView) String() string                      { return v.s.Name() }

// state returns s's state in scope sc (its own when sc is nil), made on
// first use and forgotten when sc ends; s.mu is held.
func (s *Server) state(sc *Scope) *serverState {
	if sc == nil {
		return &s.def
	}
	if st := s.scopes[sc]; st != nil {
		return st
	}
	st := &serverState{hookState: hookState{rnd: s.def.rnd}}
	if sc.OnEnd(func() { s.mu.Lock(); delete(s.scopes, sc); s.mu.Unlock() }) {
		if s.scopes == nil {
			s.scopes = map[*Scope]*serverState{}
		}
		s.scopes[sc] = st
	}
	return st
}

// Call is one call of the server: it waits its turn in the queue and its
// service time, and returns nil; or an error at once, when a fault refuses
// or fails it or the queue is full; or ctx.Err() when ctx ends first (the
// server still spends the call's time).
func (s *Server) Call(ctx context.Context) error {
	now := time.Now()
	s.mu.Lock()
	st := s.state(ScopeOf(ctx))
	end, service, err := s.admit(st, now)
	s.mu.Unlock()
	if err != nil {
		return err
	}
	t := time.NewTimer(end.Sub(now))
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		s.mu.Lock()
		st.spent += min(service, time.Until(end))
		s.mu.Unlock()
		return ctx.Err()
	}
}

// admit decides what becomes of a call arriving at now: when it will have
// been served and its service time, or the error it fails with at once;
// s.mu is held.
func (s *Server) admit(st *serverState, now time.Time) (end time.Time, service time.Duration, err error) {
	if st.free == nil {
		st.free = make([]time.Time, s.workers)
	}
	st.started++
	service = s.service
	for _, a := range st.faults {
		switch f := a.f.(type) {
		case Down:
			st.touched++
			return time.Time{}, 0, &hookError{fmt.Sprintf("faults: %s: connection refused (injected down)", s.name), ErrRefused, syscall.ECONNREFUSED}
		case Error:
			a.calls++
			if f.fails(a.calls, st.chance) {
				st.touched++
				return time.Time{}, 0, f.err()
			}
		case Latency:
			if d := st.latency(f); d > 0 {
				st.touched++
				service += d
			}
		}
	}
	// Calls that have started being served have left the queue.
	n := 0
	for n < len(st.waiting) && !st.waiting[n].After(now) {
		n++
	}
	st.waiting = st.waiting[n:]
	w := 0 // the worker free first
	for i, f := range st.free {
		if f.Before(st.free[w]) {
			w = i
		}
	}
	start := st.free[w]
	if !start.After(now) {
		start = now
	} else if len(st.waiting) >= s.queue {
		return time.Time{}, 0, fmt.Errorf("faults: %s: %w: %d calls queued", s.name, ErrOverloaded, len(st.waiting))
	} else {
		st.waiting = append(st.waiting, start)
	}
	end = start.Add(service)
	st.free[w] = end
	return end, service, nil
}

// ServerStats are what a [Server] saw in one scope.
type ServerStats struct {
	Calls  int64         // calls that arrived
	Queued int           // calls waiting for a worker now
	Wasted time.Duration // worker time still spent on calls whose caller had gone
}

// Stats returns what s saw in the scope ctx carries (its own state when
// it carries none).
func (s *Server) Stats(ctx context.Context) ServerStats {
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.state(ScopeOf(ctx))
	q := 0
	for _, w := range st.waiting {
		if w.After(now) {
			q++
		}
	}
	return ServerStats{Calls: st.started, Queued: q, Wasted: st.spent}
}

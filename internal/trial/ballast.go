package trial

import (
	"fmt"
	"sync"

	"github.com/rafaelabs/rafael/faults"
)

// SharedBallast is the memory pressure of a simulated-tier run: one ballast,
// grown to the largest pressure a trial has asked for and kept until the run
// ends. A trial's inject phase lasts microseconds of real time there, so
// allocating, touching and returning hundreds of MiB for every trial would
// cost more than the trials (measured: dropping and regrowing 64 MiB per
// trial took the five-threat search from 6 s to 61 s); the pressure is real
// while every inject phase runs, and is also held in between. A workload
// that reads the process's memory to shed load sees the pressure all run
// long there: prove such a workload on the wire tier, where the ballast is
// held during the inject phase only.
type SharedBallast struct {
	mu sync.Mutex
	b  *faults.Ballast
}

// Hold makes sure at least n bytes are held; its release does nothing (the
// run releases the ballast at its end).
func (s *SharedBallast) Hold(n int64, onErr func(error)) func() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.b == nil || s.b.Limit() < n {
		if s.b != nil {
			s.b.Release()
		}
		b, err := faults.NewBallast(n)
		if err != nil {
			onErr(fmt.Errorf("memory pressure: %w", err))
			return func() {}
		}
		s.b = b
	}
	if more := n - s.b.Size(); more > 0 {
		if err := s.b.Grow(more); err != nil {
			onErr(fmt.Errorf("memory pressure: %w", err))
		}
	}
	return func() {}
}

// Release frees the ballast.
func (s *SharedBallast) Release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.b != nil {
		s.b.Release()
		s.b = nil
	}
}

package examples

import (
	"sync"

	"github.com/rafaelabs/rafael/genome"
)

// syncMap holds the champions the simulated walkthroughs evolve, for the
// wire-tier tests that prove them (tests in a package run in order, so each
// proof runs after the evolution it needs).
type syncMap struct {
	mu sync.Mutex
	m  map[string]*genome.Genome
}

func (s *syncMap) Store(k string, g *genome.Genome) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[string]*genome.Genome{}
	}
	s.m[k] = g
}

func (s *syncMap) Load(k string) (*genome.Genome, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, ok := s.m[k]
	return g, ok
}

package guardian

import (
	"context"
	"errors"
	"fmt"

	"github.com/rafaelabs/rafael/internal/atomicfile"
)

// Repair is what [Guardian.Repair] found, and did when asked to.
type Repair struct {
	Torn       []byte   // the incomplete last line of the log, if any
	TornLine   int      // its line number
	Unsealed   int64    // genuine entries the checkpoint does not cover
	Applied    bool     // the torn line was removed and the log sealed
	Genomes    []string // genome files an interrupted adoption or rollback left unwritten
	Untouched  bool     // nothing needed repair
	Checkpoint int64    // entries the checkpoint covers after the repair
}

// Repair finds what an interrupted write left in the log: a torn last line
// (a crash or a full disk in the middle of an append) and genuine entries
// the checkpoint does not cover (a crash before the seal), genome files an
// interrupted adoption left unwritten. It changes nothing unless apply is
// set; then it removes the torn line, seals the log (which needs the
// signing key) and finishes the genome writes. A log that fails verification for any
// other reason is refused: repair mends interruptions, never tampering.
func (g *Guardian) Repair(ctx context.Context, apply bool) (Repair, error) {
	unlock, held, err := g.lock(ctx)
	if err != nil {
		return Repair{}, err
	}
	defer unlock()
	t, err := g.trust()
	if err != nil {
		return Repair{}, err
	}
	s, err := g.read(t, true)
	if err != nil {
		return Repair{}, err
	}
	s.h.held = held
	if s.h.hasTampering() {
		return Repair{}, fmt.Errorf("guardian: repair mends interrupted writes only, and the record in %s fails verification:\n%w", g.dir, errors.Join(s.h.problems...))
	}
	r := Repair{Torn: s.h.tornTail, Unsealed: s.h.n - s.h.sealed, Checkpoint: s.h.sealed}
	if r.Torn != nil {
		r.TornLine = int(s.h.n) + 1
	}
	for _, p := range g.genomeProblems(s.h) {
		if errors.Is(p, ErrInterrupted) {
			r.Genomes = append(r.Genomes, p.Error())
		}
	}
	r.Untouched = r.Torn == nil && r.Unsealed == 0 && len(r.Genomes) == 0
	if !apply || r.Untouched {
		return r, nil
	}
	if g.key == nil {
		return r, errNoSigningKey
	}
	if r.Torn != nil {
		if err := atomicfile.Write(g.path(logFile), s.log[:len(s.log)-len(r.Torn)]); err != nil {
			return r, fmt.Errorf("guardian: removing the torn line: %w", err)
		}
	}
	if err := g.seal(s.h); err != nil {
		return r, err
	}
	if _, err := g.recover(s.h); err != nil {
		return r, err
	}
	r.Applied, r.Checkpoint = true, s.h.n
	return r, nil
}

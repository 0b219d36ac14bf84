package guardian

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/rafaelabs/rafael/genome"
	"github.com/rafaelabs/rafael/internal/atomicfile"
)

// begin starts an operation that appends to the log, with g.mu held: it
// reads and checks the history and finishes interrupted writes.
func (g *Guardian) begin(ctx context.Context) (*history, []string, error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	h, err := g.readHistory()
	if err != nil {
		return nil, nil, err
	}
	recovered, err := g.recover(h)
	return h, recovered, err
}

// recover finishes adoptions and rollbacks that a crash interrupted: the
// audit entry is durable but the genome file still holds the genome it
// replaced (or does not exist). A genome file that is neither is reported,
// never overwritten. It returns one line per module it repaired.
func (g *Guardian) recover(h *history) ([]string, error) {
	atomicfile.RemoveStale(g.path(checkpointFile))
	var done []string
	for module, recs := range h.modules {
		last := recs[len(recs)-1]
		path := g.genomePath(module)
		atomicfile.RemoveStale(path)
		onDisk, err := genome.Load(path)
		switch {
		case err == nil && onDisk.Digest() == last.To:
			continue
		case err == nil && onDisk.Digest() != last.From:
			return nil, fmt.Errorf("guardian: %s holds %s, which is neither the genome %s at audit seq %d (%s) nor the one it replaced: it was changed outside the guardian; restore it or propose it",
				path, onDisk.Digest(), last.Event, last.Seq, last.To)
		case err != nil && !errors.Is(err, os.ErrNotExist):
			return nil, fmt.Errorf("guardian: %w", err)
		}
		want, err := genome.Parse(last.Genome)
		if err != nil || want.Digest() != last.To {
			return nil, fmt.Errorf("guardian: audit seq %d: the recorded genome does not match its digest %s; run Verify", last.Seq, last.To)
		}
		if err := atomicfile.Write(path, append(append([]byte(nil), last.Genome...), '\n')); err != nil {
			return nil, fmt.Errorf("guardian: finishing the interrupted write of %s: %w", path, err)
		}
		done = append(done, fmt.Sprintf("%s: finished writing the genome %s at audit seq %d (%s)", module, last.Event, last.Seq, last.To))
	}
	return done, nil
}

// Rollback restores the genome that the module's latest adoption replaced,
// without approval (it was in force before), and records who did it and why.
// The audit entry is durable before the genome file is replaced. A module
// whose latest event is already a rollback is refused: propose instead.
func (g *Guardian) Rollback(ctx context.Context, module, actor, reason string) (EntryRef, error) {
	if actor == "" || reason == "" {
		return EntryRef{}, errors.New("guardian: rollback: actor and reason are required: the record says who rolled back and why")
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	h, _, err := g.begin(ctx)
	if err != nil {
		return EntryRef{}, err
	}
	recs := h.modules[module]
	if len(recs) == 0 {
		return EntryRef{}, fmt.Errorf("guardian: rollback: the audit log has no adoption of module %q", module)
	}
	last := recs[len(recs)-1]
	if last.Event == eventRolledBack {
		return EntryRef{}, fmt.Errorf("guardian: rollback: module %q was rolled back at audit seq %d already; propose the genome you want instead", module, last.Seq)
	}
	target, err := genome.Parse(last.Replaced)
	if err != nil || target.Digest() != last.From {
		return EntryRef{}, fmt.Errorf("guardian: rollback: audit seq %d does not hold the genome it replaced; run Verify", last.Seq)
	}
	r := record{
		Event: eventRolledBack, Actor: actor, Module: module, Proposal: last.Proposal,
		From: last.To, To: last.From, Genome: last.Replaced, Replaced: last.Genome, Reason: reason,
	}
	ref, err := g.appendRecords(h, []record{r})
	if err != nil {
		return EntryRef{}, err
	}
	g.stage("durable")
	if err := atomicfile.Write(g.genomePath(module), append(append([]byte(nil), last.Replaced...), '\n')); err != nil {
		return ref, fmt.Errorf("guardian: the rollback is recorded (seq %d) but writing the genome file failed; the next Propose finishes it: %w", ref.Seq, err)
	}
	return ref, nil
}

package guardian

import (
	"context"
	"errors"
	"fmt"

	"github.com/rafaelabs/rafael/genome"
	"github.com/rafaelabs/rafael/internal/atomicfile"
)

// readVerified reads and verifies the record for a reader that holds the
// lock. Genuine entries past the checkpoint are accepted: the next write
// seals them.
func (g *Guardian) readVerified() (*history, error) {
	s, t, _, err := g.readTrusted()
	if err != nil {
		return nil, err
	}
	s.h.checkPolicyPin(t.Policy)
	if err := g.refuse(s.h); err != nil {
		return nil, err
	}
	if s.h.policy == nil {
		return nil, fmt.Errorf("guardian: %s has no audit log yet: nothing was proposed there (go test -rafael.update proposes)", g.dir)
	}
	return s.h, nil
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
		data, err := readOptionalRegular(path, maxGenomeBytes)
		if err != nil {
			return nil, err
		}
		if data != nil {
			onDisk, err := genome.Parse(data)
			switch {
			case err == nil && onDisk.Digest() == last.To:
				continue
			case err != nil || onDisk.Digest() != last.From:
				return nil, fmt.Errorf("guardian: %s is not the genome %s at audit seq %d (%s) nor the one it replaced: it was changed outside the guardian; restore it (git checkout) or propose it",
					path, last.Event, last.Seq, short(last.To))
			}
		}
		want, err := genome.Parse(last.Genome)
		if err != nil || want.Digest() != last.To {
			return nil, fmt.Errorf("guardian: audit seq %d: the recorded genome does not match its digest %s; run rafael audit verify", last.Seq, last.To)
		}
		if err := atomicfile.Write(path, append(append([]byte(nil), last.Genome...), '\n')); err != nil {
			return nil, fmt.Errorf("guardian: finishing the interrupted write of %s: %w", path, err)
		}
		done = append(done, fmt.Sprintf("%s: finished writing the genome %s at audit seq %d (%s)", module, last.Event, last.Seq, last.To))
	}
	return done, nil
}

// genomeProblems compares every genome file in the directory with the log:
// a module's file must hold what its last adoption or rollback wrote, and
// a genome file the log never wrote was not adopted through the guardian.
func (g *Guardian) genomeProblems(h *history) []error {
	var errs []error
	bad := func(path, format string, args ...any) {
		errs = append(errs, &VerifyError{Part: "genome file " + path, Problem: fmt.Sprintf(format, args...)})
	}
	for module, recs := range h.modules {
		last := recs[len(recs)-1]
		path := g.genomePath(module)
		data, err := readOptionalRegular(path, maxGenomeBytes)
		switch {
		case err != nil:
			bad(path, "%v", err)
		case data == nil:
			bad(path, "is missing; the %s entry at audit seq %d wrote %s", last.Event, last.Seq, short(last.To))
		default:
			gn, err := genome.Parse(data)
			switch {
			case err == nil && gn.Digest() == last.To:
			case err == nil && gn.Digest() == last.From:
				errs = append(errs, &VerifyError{Part: "genome file " + path, Kind: Unsealed, Problem: fmt.Sprintf(
					"still holds the genome the %s entry at audit seq %d replaced: the write was interrupted (a crash); the next proposal finishes it", last.Event, last.Seq)})
			default:
				bad(path, "does not hold the genome the %s entry at audit seq %d wrote (%s): it was changed outside the guardian", last.Event, last.Seq, short(last.To))
			}
		}
	}
	files, skipped, _ := listRegular(g.dir, "*.genome.json")
	for _, s := range skipped {
		errs = append(errs, &VerifyError{Part: "directory", Problem: s})
	}
	for _, f := range files {
		data, err := readRegular(f, maxGenomeBytes)
		if err != nil {
			bad(f, "%v", err)
			continue
		}
		gn, err := genome.Parse(data)
		if err != nil {
			bad(f, "%v", err)
			continue
		}
		if len(h.modules[gn.Module]) == 0 || g.genomePath(gn.Module) != f {
			bad(f, "holds module %q, which the audit log never adopted: it was not adopted through the guardian (hand-written or planted); propose it (go test -rafael.update) or remove it", gn.Module)
		}
	}
	return errs
}

// Rollback restores the genome that the module's latest adoption replaced,
// without approval (it was in force before), and records who did it and why.
// The audit entry is durable before the genome file is replaced. A module
// whose latest event is already a rollback is refused: propose instead.
func (g *Guardian) Rollback(ctx context.Context, module, actor, reason string) (EntryRef, error) {
	if actor == "" || reason == "" {
		return EntryRef{}, errors.New("guardian: rollback: actor and reason are required: the record says who rolled back and why")
	}
	if g.key == nil {
		return EntryRef{}, errNoSigningKey
	}
	unlock, held, err := g.lock(ctx)
	if err != nil {
		return EntryRef{}, err
	}
	defer unlock()
	w, err := g.begin(ctx, held)
	if err != nil {
		return EntryRef{}, err
	}
	recs := w.h.modules[module]
	if len(recs) == 0 {
		return EntryRef{}, fmt.Errorf("guardian: rollback: the audit log has no adoption of module %q", module)
	}
	last := recs[len(recs)-1]
	if last.Event == eventRolledBack {
		return EntryRef{}, fmt.Errorf("guardian: rollback: module %q was rolled back at audit seq %d already; propose the genome you want instead", module, last.Seq)
	}
	target, err := genome.Parse(last.Replaced)
	if err != nil || target.Digest() != last.From {
		return EntryRef{}, fmt.Errorf("guardian: rollback: audit seq %d does not hold the genome it replaced; run rafael audit verify", last.Seq)
	}
	r := record{
		Event: eventRolledBack, Actor: actor, Module: module, Proposal: last.Proposal,
		From: last.To, To: last.From, Genome: last.Replaced, Replaced: last.Genome, Reason: reason,
	}
	ref, err := g.appendRecords(w.h, []record{r})
	if err != nil {
		return EntryRef{}, err
	}
	g.stage("durable")
	if err := atomicfile.Write(g.genomePath(module), append(append([]byte(nil), last.Replaced...), '\n')); err != nil {
		return ref, fmt.Errorf("guardian: the rollback is recorded (seq %d) but writing the genome file failed; the next Propose finishes it: %w", ref.Seq, err)
	}
	g.done(w)
	return ref, nil
}

package guardian

import (
	"encoding/json"
	"errors"
	"fmt"
	"github.com/rafaelabs/rafael/internal/atomicfile"
	"strings"
	"time"
)

// EntryRef points at one audit entry: its sequence number and the hash of
// its line (what the next entry's prev names).
type EntryRef struct {
	Seq  int64  `json:"seq"`
	Hash string `json:"hash"`
}

// history is what Propose needs to know of the log: where it ends and what
// happened to each proposal and module so far.
type history struct {
	lines     []line
	head      EntryRef
	proposals map[string]*proposalState
	modules   map[string][]written // adoptions and rollbacks per module, oldest first
	sealed    int64                // entries the checkpoint on disk covers
	last      time.Time            // time of the last entry
}

// written is an entry that wrote a genome file: an adoption or a rollback.
type written struct {
	record
	ref EntryRef
}

type proposalState struct {
	open      bool            // proposed and neither adopted nor rejected since
	adopted   bool            // the last word on it was adoption
	approvers map[string]bool // approvers recorded since it was proposed, by key fingerprint
	last      EntryRef
}

// readHistory reads and chain-checks the log. A log that fails the chain
// check is refused: appending to it would hide the damage.
func (g *Guardian) readHistory() (*history, error) {
	data, err := readOptional(g.path(logFile))
	if err != nil {
		return nil, err
	}
	h := &history{lines: splitLog(data), proposals: map[string]*proposalState{}, modules: map[string][]written{}}
	if errs := chainProblems(h.lines); len(errs) > 0 {
		return nil, fmt.Errorf("guardian: %s is damaged; nothing was changed (run Verify to list every problem):\n%w",
			g.path(logFile), errors.Join(errs...))
	}
	for _, l := range h.lines {
		ref := EntryRef{Seq: l.entry.Seq, Hash: lineHash(l.raw)}
		h.head = ref
		h.last, _ = time.Parse(time.RFC3339Nano, l.entry.Time)
		r, err := peekRecord(&l.entry)
		if err != nil {
			return nil, fmt.Errorf("guardian: %s line %d: %v", g.path(logFile), l.no, err)
		}
		h.apply(r, ref)
	}
	cp, err := readOptional(g.path(checkpointFile))
	if err != nil {
		return nil, err
	}
	if text, _, ok := strings.Cut(string(cp), "\n\n"); ok {
		if c, err := parseCheckpointText(text + "\n"); err == nil {
			h.sealed = c.Size
		}
	}
	return h, nil
}

// apply folds one record into the history.
func (h *history) apply(r record, ref EntryRef) {
	p := h.proposals[r.Proposal]
	if p == nil || (r.Event == eventProposed && !p.open) {
		p = &proposalState{approvers: map[string]bool{}}
		h.proposals[r.Proposal] = p
	}
	p.last = ref
	switch r.Event {
	case eventProposed:
		p.open, p.adopted = true, false
	case eventApproved:
		if r.Approval != nil {
			p.approvers[r.Approval.Key] = true
		}
	case eventAdopted:
		p.open, p.adopted = false, true
		h.modules[r.Module] = append(h.modules[r.Module], written{r, ref})
	case eventRejected:
		p.open, p.adopted = false, false
	case eventRolledBack:
		p.open, p.adopted = false, false
		h.modules[r.Module] = append(h.modules[r.Module], written{r, ref})
	}
}

// peekRecord decodes an entry's predicate without checking its signature,
// which may be by a key this process does not hold (an earlier ephemeral
// one); Verify checks signatures.
func peekRecord(e *entry) (record, error) {
	payload, err := decodeBase64(e.Envelope.Payload)
	if err != nil {
		return record{}, errors.New("envelope payload is not base64")
	}
	var st statement[record]
	if err := json.Unmarshal(payload, &st); err != nil {
		return record{}, fmt.Errorf("envelope payload is not an audit statement: %v", err)
	}
	return st.Predicate, nil
}

// appendRecords signs recs, chains them after the history's head, appends
// them to the log with one fsync, and seals a new checkpoint. It returns the
// reference of the last one.
func (g *Guardian) appendRecords(h *history, recs []record) (EntryRef, error) {
	var buf []byte
	// A clock behind the last entry (another machine's, say) must not make
	// the log fail its own check: time never goes backwards in it.
	now := g.now().UTC()
	if now.Before(h.last) {
		now = h.last
	}
	h.last = now
	for _, r := range recs {
		r.Seq, r.Prev = h.head.Seq+1, h.head.Hash
		r.Time = now.Format(time.RFC3339Nano)
		raw, err := newEntry(r, r.Module+".genome.json", g.key)
		if err != nil {
			return EntryRef{}, fmt.Errorf("guardian: %w", err)
		}
		h.head = EntryRef{Seq: r.Seq, Hash: lineHash(raw)}
		h.lines = append(h.lines, line{no: len(h.lines) + 1, raw: raw})
		h.apply(r, h.head)
		buf = append(append(buf, raw...), '\n')
	}
	if err := appendSync(g.path(logFile), buf); err != nil {
		return EntryRef{}, fmt.Errorf("guardian: appending to the audit log: %w", err)
	}
	g.stage("appended")
	return h.head, g.seal(h)
}

// seal writes a checkpoint over every line of the log, atomically.
func (g *Guardian) seal(h *history) error {
	tree, err := treeOf(h.lines)
	if err != nil {
		return fmt.Errorf("guardian: sealing: %w", err)
	}
	n := int64(len(h.lines))
	root, err := tree.root(n)
	if err != nil {
		return fmt.Errorf("guardian: sealing: %w", err)
	}
	note, err := signCheckpoint(checkpoint{Origin: g.origin, Size: n, Root: root}, g.key)
	if err != nil {
		return fmt.Errorf("guardian: sealing: %w", err)
	}
	if err := atomicfile.Write(g.path(checkpointFile), note); err != nil {
		return fmt.Errorf("guardian: writing the checkpoint: %w", err)
	}
	h.sealed = n
	return nil
}

package guardian

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rafaelabs/rafael/genome"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// attackFixture is a guardian directory with a history: the policy (alice,
// bob, carol approve), a low-impact adoption of checkout, and a pending
// medium-impact proposal. It returns the directory and the pending
// decision.
func attackFixture(t *testing.T) (string, Decision) {
	t.Helper()
	dir, g := setup(t, "")
	_, err := g.Propose(t.Context(), Proposal{New: lowChange(baseGenome(), 0), Actor: "evolve"})
	require.NoError(t, err)
	d, err := g.Propose(t.Context(), Proposal{New: mediumChange(lowChange(baseGenome(), 0)), Actor: "evolve"})
	require.NoError(t, err)
	require.Equal(t, Pending, d.Status)
	return dir, d
}

// eveConfig is guardian.json with bob's key swapped for eve's.
func eveConfig() string {
	return strings.Replace(testConfig(""), strings.ReplaceAll(strings.TrimSpace(pubPEM(bobKey)), "\n", `\n`),
		strings.ReplaceAll(strings.TrimSpace(pubPEM(eveKey)), "\n", `\n`), 1)
}

// plantApproval writes an approval into approvals/ by hand, as a writer of
// the directory can, past WriteApproval's checks.
func plantApproval(t *testing.T, dir string, d Decision, key ed25519.PrivateKey, label string) {
	t.Helper()
	env, err := Approve(d.Proposal, d.At, key, label)
	require.NoError(t, err)
	require.NoError(t, os.MkdirAll(filepath.Join(dir, approvalsDir), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, approvalsDir, label+".json"), env, 0o644))
}

// forgedEntry appends an entry signed by key (with the chain right) that
// adopts g as module checkout's genome.
func forgedEntry(t *testing.T, dir string, key ed25519.PrivateKey, g *genome.Genome) {
	t.Helper()
	log := readFile(t, filepath.Join(dir, logFile))
	lines := bytes.Split(bytes.TrimSuffix(log, []byte("\n")), []byte("\n"))
	var last entry
	require.NoError(t, decodeEntry(lines[len(lines)-1], &last))
	data, _ := g.MarshalJSON()
	r := record{Event: eventAdopted, Seq: last.Seq + 1, Prev: lineHash(lines[len(lines)-1]), Time: last.Time, Actor: "alice",
		Module: "checkout", Proposal: "sha256:" + strings.Repeat("0", 64), From: lowChange(baseGenome(), 0).Digest(), To: g.Digest(), Genome: data}
	raw, err := newEntry(r, "checkout.genome.json", key)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, logFile), append(append(log, raw...), '\n'), 0o644))
}

// TestAttacksByAKeylessWriter runs the attacks of someone who can write
// the guardian's directory but holds no trusted key: each is refused or
// detected, and the genome file keeps the genome the log adopted.
func TestAttacksByAKeylessWriter(t *testing.T) {
	evil := highChange(lowChange(baseGenome(), 0))
	cases := []struct {
		name   string
		attack func(t *testing.T, dir string, d Decision)
		// act is what the honest party does next; it returns the error
		// or the notes that must carry want.
		act  func(t *testing.T, dir string, d Decision) string
		want string
		// plants says the attack itself writes the attacker's genome.
		plants bool
	}{
		{
			name: "approver key swapped in guardian.json",
			attack: func(t *testing.T, dir string, d Decision) {
				require.NoError(t, os.WriteFile(filepath.Join(dir, configFile), []byte(eveConfig()), 0o644))
				plantApproval(t, dir, d, eveKey, "bob")
			},
			act:  repropose(Pending),
			want: "differs from the policy in force",
		},
		{
			name: "approver added and thresholds relaxed",
			attack: func(t *testing.T, dir string, d Decision) {
				cfg := strings.Replace(testConfig(`, "approvals": {"medium": 1, "high": 2}, "impact": {"medium": 0.9, "high": 1}`),
					`"approvers": [`, `"approvers": [{"name": "eve", "publicKey": "`+strings.ReplaceAll(strings.TrimSpace(pubPEM(eveKey)), "\n", `\n`)+`"},`, 1)
				require.NoError(t, os.WriteFile(filepath.Join(dir, configFile), []byte(cfg), 0o644))
				plantApproval(t, dir, d, eveKey, "eve")
			},
			act:  repropose(Pending),
			want: "it counts when 2 of its approvers approve it",
		},
		{
			name:   "history cut",
			attack: cutLog(2),
			act:    proposeErr,
			want:   "covers 9 entries but the log has 7: entries were removed",
		},
		{
			name: "history emptied, checkpoint kept",
			attack: func(t *testing.T, dir string, _ Decision) {
				require.NoError(t, os.Remove(filepath.Join(dir, logFile)))
			},
			act:  proposeErr,
			want: "covers 9 entries but the log has 0",
		},
		{
			name: "history emptied with its checkpoint, approvals left",
			attack: func(t *testing.T, dir string, d Decision) {
				approve(t, open(t, dir), d, bobKey, "bob")
				require.NoError(t, os.Remove(filepath.Join(dir, logFile)))
				require.NoError(t, os.Remove(filepath.Join(dir, checkpointFile)))
			},
			act:  proposeErr,
			want: "approvals/ holds approvals of proposals it recorded: the history was removed",
		},
		{
			name: "history transplanted from another directory",
			attack: func(t *testing.T, dir string, _ Decision) {
				other, _ := attackFixture(t)
				for _, f := range []string{logFile, checkpointFile} {
					require.NoError(t, os.WriteFile(filepath.Join(dir, f), readFile(t, filepath.Join(other, f)), 0o644))
				}
			},
			act:  proposeErr,
			want: "this log belongs to another directory or module",
		},
		{
			name:   "adoption forged with a planted key",
			attack: func(t *testing.T, dir string, _ Decision) { forgedEntry(t, dir, eveKey, evil) },
			act:    proposeErr,
			want:   "which is not trusted (a forged entry",
		},
		{
			name: "log and checkpoint re-signed with a planted key",
			attack: func(t *testing.T, dir string, _ Decision) {
				forgedEntry(t, dir, eveKey, evil)
				g, err := Open(dir, isolated(eveKey)...)
				require.NoError(t, err)
				h := load(readFile(t, filepath.Join(dir, logFile)), nil, Trust{Keys: []ed25519.PublicKey{pub(eveKey)}}, false)
				h.held = func() error { return nil }
				require.NoError(t, g.seal(h))
			},
			act:  proposeErr,
			want: "checkpoint: no signature by a trusted key",
		},
		{
			name: "self-approval by the proposer's key",
			attack: func(t *testing.T, dir string, d Decision) {
				// The CI key is listed as an approver too, under another name.
				cfg := strings.Replace(testConfig(""), `"approvers": [`, `"approvers": [{"name": "ci", "publicKey": "`+strings.ReplaceAll(strings.TrimSpace(pubPEM(auditKey)), "\n", `\n`)+`"},`, 1)
				require.NoError(t, os.WriteFile(filepath.Join(dir, configFile), []byte(cfg), 0o644))
				g := open(t, dir, WithPolicy(policyDigest(t, cfg)))
				_, err := g.Propose(t.Context(), Proposal{New: mediumChange(lowChange(baseGenome(), 0)), Actor: "evolve"})
				require.NoError(t, err)
				plantApproval(t, dir, d, auditKey, "ci")
			},
			act:  ignoredNote,
			want: "whose key proposed this change: a proposer never approves their own change",
		},
		{
			name: "approval by the proposer's name, in another case",
			attack: func(t *testing.T, dir string, _ Decision) {
				d, err := open(t, dir).Propose(t.Context(), Proposal{New: byAlice(), Actor: "ALICE"})
				require.NoError(t, err)
				require.Equal(t, Pending, d.Status)
				plantApproval(t, dir, d, aliceKey, "alice")
			},
			act: func(t *testing.T, dir string, d Decision) string {
				dd, err := open(t, dir).Propose(t.Context(), Proposal{New: byAlice(), Actor: "ALICE"})
				require.NoError(t, err)
				assert.Equal(t, Pending, dd.Status)
				return strings.Join(dd.Ignored, "\n")
			},
			want: `alice proposed this change (as "ALICE") and cannot approve it`,
		},
		{
			name: "approval replayed after a rollback",
			attack: func(t *testing.T, dir string, d Decision) {
				g := open(t, dir)
				approve(t, g, d, bobKey, "bob")
				dd, err := g.Propose(t.Context(), Proposal{New: mediumChange(lowChange(baseGenome(), 0)), Actor: "evolve"})
				require.NoError(t, err)
				require.Equal(t, Adopted, dd.Status)
				_, err = g.Rollback(t.Context(), "checkout", "alice", "p99 regressed")
				require.NoError(t, err)
				// The same change, proposed again: a new proposal.
				dd, err = g.Propose(t.Context(), Proposal{New: mediumChange(lowChange(baseGenome(), 0)), Actor: "evolve"})
				require.NoError(t, err)
				require.Equal(t, d.Proposal, dd.Proposal, "the same content, the same digest")
				require.NotEqual(t, d.At, dd.At, "at a new position")
			},
			act:  ignoredNote,
			want: "an approval is not reused; approve again",
		},
		{
			name: "audit.jsonl replaced by a symbolic link",
			attack: func(t *testing.T, dir string, _ Decision) {
				outside := filepath.Join(t.TempDir(), "elsewhere.jsonl")
				require.NoError(t, os.Rename(filepath.Join(dir, logFile), outside))
				require.NoError(t, os.Symlink(outside, filepath.Join(dir, logFile)))
			},
			act:  proposeErr,
			want: "is a symbolic link",
		},
		{
			name: "approvals/ replaced by a symbolic link",
			attack: func(t *testing.T, dir string, _ Decision) {
				require.NoError(t, os.Symlink(t.TempDir(), filepath.Join(dir, approvalsDir)))
			},
			act:  reproposeErr,
			want: "symbolic link",
		},
		{
			name: "audit.jsonl replaced by a FIFO",
			attack: func(t *testing.T, dir string, _ Decision) {
				require.NoError(t, os.Remove(filepath.Join(dir, logFile)))
				require.NoError(t, syscall.Mkfifo(filepath.Join(dir, logFile), 0o644))
			},
			act:  proposeErr,
			want: "named pipe",
		},
		{
			name: "a FIFO planted among the approvals",
			attack: func(t *testing.T, dir string, _ Decision) {
				require.NoError(t, os.MkdirAll(filepath.Join(dir, approvalsDir), 0o755))
				require.NoError(t, syscall.Mkfifo(filepath.Join(dir, approvalsDir, "x.json"), 0o644))
			},
			act:  ignoredNote,
			want: "x.json",
		},
		{
			name: "a line too long to be an entry",
			attack: func(t *testing.T, dir string, _ Decision) {
				f, err := os.OpenFile(filepath.Join(dir, logFile), os.O_APPEND|os.O_WRONLY, 0)
				require.NoError(t, err)
				_, err = f.Write(append(bytes.Repeat([]byte("x"), maxLineBytes+1), '\n'))
				require.NoError(t, err)
				require.NoError(t, f.Close())
			},
			act:  proposeErr,
			want: "over the 1048576-byte limit of an entry",
		},
		{
			name: "adopted genome file replaced",
			attack: func(t *testing.T, dir string, _ Decision) {
				data, _ := evil.MarshalJSON()
				require.NoError(t, os.WriteFile(filepath.Join(dir, "checkout.genome.json"), data, 0o644))
			},
			act:    verifyErr,
			want:   "it was changed outside the guardian",
			plants: true,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir, d := attackFixture(t)
			adopted := readFile(t, filepath.Join(dir, "checkout.genome.json"))
			c.attack(t, dir, d)
			got := runWithin(t, 10*time.Second, func() string { return c.act(t, dir, d) })
			assert.Contains(t, got, c.want)
			if data, err := os.ReadFile(filepath.Join(dir, "checkout.genome.json")); err == nil && !c.plants && !bytes.Equal(data, adopted) {
				g, _ := genome.Parse(data)
				assert.NotEqual(t, evil.Digest(), g.Digest(), "the attacker's genome was written")
			}
		})
	}
}

// byAlice is a medium change alice proposes.
func byAlice() *genome.Genome {
	g := lowChange(baseGenome(), 0)
	g.Retry.MaxAttempts = 4
	return g
}

// runWithin fails the test if fn has not returned within d: a FIFO must
// never hang the guardian.
func runWithin(t *testing.T, d time.Duration, fn func() string) string {
	t.Helper()
	done := make(chan string, 1)
	go func() { done <- fn() }()
	select {
	case s := <-done:
		return s
	case <-time.After(d):
		t.Fatalf("still running after %v: the guardian hangs", d)
		return ""
	}
}

func repropose(want Status) func(t *testing.T, dir string, d Decision) string {
	return func(t *testing.T, dir string, d Decision) string {
		dd, err := open(t, dir).Propose(t.Context(), Proposal{New: mediumChange(lowChange(baseGenome(), 0)), Actor: "evolve"})
		require.NoError(t, err)
		assert.Equal(t, want, dd.Status, "the attack got the change adopted")
		return strings.Join(dd.Notes, "\n")
	}
}

func proposeErr(t *testing.T, dir string, _ Decision) string {
	_, err := open(t, dir).Propose(t.Context(), Proposal{New: lowChange(baseGenome(), 5), Actor: "evolve"})
	require.Error(t, err, "the guardian wrote to a record it could not verify")
	return err.Error()
}

func reproposeErr(t *testing.T, dir string, _ Decision) string {
	_, err := open(t, dir).Propose(t.Context(), Proposal{New: mediumChange(lowChange(baseGenome(), 0)), Actor: "evolve"})
	require.Error(t, err)
	return err.Error()
}

func verifyErr(t *testing.T, dir string, _ Decision) string {
	err := open(t, dir).Verify(t.Context())
	require.Error(t, err)
	return err.Error()
}

func ignoredNote(t *testing.T, dir string, _ Decision) string {
	dd, err := open(t, dir).Propose(t.Context(), Proposal{New: mediumChange(lowChange(baseGenome(), 0)), Actor: "evolve"})
	require.NoError(t, err)
	assert.NotEqual(t, Adopted, dd.Status, "the change was adopted")
	return strings.Join(dd.Ignored, "\n")
}

func cutLog(n int) func(t *testing.T, dir string, _ Decision) {
	return func(t *testing.T, dir string, _ Decision) {
		log := readFile(t, filepath.Join(dir, logFile))
		lines := bytes.SplitAfter(log, []byte("\n"))
		lines = lines[:len(lines)-1-n] // the last element is empty
		require.NoError(t, os.WriteFile(filepath.Join(dir, logFile), bytes.Join(lines, nil), 0o644))
	}
}

func policyDigest(t *testing.T, cfg string) string {
	t.Helper()
	_, _, d, err := parsePolicy("test", []byte(cfg))
	require.NoError(t, err)
	return d
}

// TestPathologicalLogCostsBoundedMemory verifies 1.5 MB of "{}" lines: a
// bounded report, and well under 64 MiB allocated.
func TestPathologicalLogCostsBoundedMemory(t *testing.T) {
	log := bytes.Repeat([]byte("{}\n"), 500_000)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	err := Verify(log, nil, Trust{Keys: []ed25519.PublicKey{pub(auditKey)}})
	runtime.ReadMemStats(&after)
	require.Error(t, err)
	var joined interface{ Unwrap() []error }
	require.True(t, errors.As(err, &joined))
	assert.LessOrEqual(t, len(joined.Unwrap()), maxProblems+1)
	assert.Contains(t, err.Error(), "verification stopped here")
	assert.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(64<<20), "bytes allocated verifying it")
	assert.Less(t, len(err.Error()), 8<<10, "the report is bounded")
}

// TestPolicyChangeCountsWhenApprovedUnderThePreviousOne: a guardian.json
// change is recorded as proposed, takes effect only once two of the
// previous approvers approve it, and then governs.
func TestPolicyChangeCountsWhenApprovedUnderThePreviousOne(t *testing.T) {
	dir, g := setup(t, "")
	_, err := g.Propose(t.Context(), Proposal{New: lowChange(baseGenome(), 0), Actor: "evolve"})
	require.NoError(t, err)
	// The team raises the medium threshold to 2 approvals.
	changed := testConfig(`, "approvals": {"medium": 2}`)
	require.NoError(t, os.WriteFile(filepath.Join(dir, configFile), []byte(changed), 0o644))
	d, err := g.Propose(t.Context(), Proposal{New: mediumChange(lowChange(baseGenome(), 0)), Actor: "evolve"})
	require.NoError(t, err)
	assert.Contains(t, strings.Join(d.Notes, "\n"), "differs from the policy in force")
	assert.Equal(t, 1, d.Required, "the policy in force still governs")

	pending, err := g.Pending(t.Context())
	require.NoError(t, err)
	require.Len(t, pending, 2)
	pol := pending[0]
	require.Equal(t, "policy", pol.Kind)
	assert.Equal(t, 2, pol.Required)
	assert.Contains(t, pol.Changes, `approvals: {} → {"medium":2}`)
	for _, k := range []struct {
		key  ed25519.PrivateKey
		name string
	}{{aliceKey, "alice"}, {bobKey, "bob"}} {
		env, err := Approve(pol.Proposal, pol.At, k.key, k.name)
		require.NoError(t, err)
		_, err = g.WriteApproval(t.Context(), env)
		require.NoError(t, err)
	}
	d, err = g.Propose(t.Context(), Proposal{New: mediumChange(lowChange(baseGenome(), 0)), Actor: "evolve"})
	require.NoError(t, err)
	assert.Contains(t, strings.Join(d.Notes, "\n"), "adopted the approver policy")
	assert.Equal(t, 2, d.Required, "the new policy governs")
	assert.Equal(t, policyDigest(t, changed), d.Policy)
	require.NoError(t, g.Verify(context.Background()))
}

// TestPinnedPolicyRefusesAForeignFirstPolicy: with the team's policy
// pinned, a directory whose guardian.json was replaced before the first
// proposal is refused.
func TestPinnedPolicyRefusesAForeignFirstPolicy(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, configFile), []byte(eveConfig()), 0o644))
	g := open(t, dir, WithPolicy(policyDigest(t, testConfig(""))))
	_, err := g.Propose(t.Context(), Proposal{New: lowChange(baseGenome(), 0), Old: baseGenome(), Actor: "evolve"})
	assert.ErrorContains(t, err, "this directory's first policy is not the team's")
}

// TestRepairTellsATornTailFromTampering: a half-written line is reported
// as an interrupted write, left alone unless asked, then removed.
func TestRepairTellsATornTailFromTampering(t *testing.T) {
	dir, d := attackFixture(t)
	_ = d
	logPath := filepath.Join(dir, logFile)
	whole := readFile(t, logPath)
	torn := append(bytes.Clone(whole), []byte(`{"seq":10,"prev":"sha256:`)...)
	require.NoError(t, os.WriteFile(logPath, torn, 0o644))
	g := open(t, dir)

	_, err := g.Propose(t.Context(), Proposal{New: lowChange(baseGenome(), 5), Actor: "evolve"})
	require.ErrorContains(t, err, "was interrupted (a crash or a full disk), not tampered with: run rafael audit repair")
	assert.ErrorIs(t, g.Verify(t.Context()), ErrInterrupted)
	assert.NotErrorIs(t, g.Verify(t.Context()), ErrTampered)

	r, err := g.Repair(t.Context(), false)
	require.NoError(t, err)
	assert.Equal(t, []byte(`{"seq":10,"prev":"sha256:`), r.Torn)
	assert.Equal(t, 10, r.TornLine)
	assert.False(t, r.Applied)
	assert.Equal(t, torn, readFile(t, logPath), "nothing changes unless asked")

	r, err = g.Repair(t.Context(), true)
	require.NoError(t, err)
	assert.True(t, r.Applied)
	assert.Equal(t, whole, readFile(t, logPath))
	require.NoError(t, g.Verify(t.Context()))

	// A changed byte is tampering: repair refuses it.
	bad := bytes.Replace(whole, []byte(`"actor":"evolve"`), []byte(`"actor":"evolv3"`), 1)
	require.NoError(t, os.WriteFile(logPath, bad, 0o644))
	_, err = g.Repair(t.Context(), true)
	assert.ErrorContains(t, err, "repair mends interrupted writes only")
}

// TestAGuardianThatWroteTheLogStillVerifiesItAfresh: a guardian keeps what
// it verified and wrote, to decode only what is appended next; a change to
// those bytes between two proposals is still refused, and another
// writer's appends are read.
func TestAGuardianThatWroteTheLogStillVerifiesItAfresh(t *testing.T) {
	dir, g := setup(t, "")
	_, err := g.Propose(t.Context(), Proposal{New: lowChange(baseGenome(), 0), Actor: "evolve"})
	require.NoError(t, err)
	other := open(t, dir)
	_, err = other.Propose(t.Context(), Proposal{New: lowChange(baseGenome(), 1), Actor: "another process"})
	require.NoError(t, err)
	d, err := g.Propose(t.Context(), Proposal{New: lowChange(baseGenome(), 2), Actor: "evolve"})
	require.NoError(t, err, "the other writer's entries are read and verified")
	assert.Equal(t, Adopted, d.Status)
	assert.Equal(t, int64(13), d.Entry.Seq)

	logPath := filepath.Join(dir, logFile)
	whole := readFile(t, logPath)
	edited := bytes.Replace(whole, []byte(`"actor":"another process"`), []byte(`"actor":"another-process"`), 1)
	require.NotEqual(t, whole, edited)
	require.NoError(t, os.WriteFile(logPath, edited, 0o644))
	_, err = g.Propose(t.Context(), Proposal{New: lowChange(baseGenome(), 3), Actor: "evolve"})
	assert.ErrorContains(t, err, "fails verification")

	require.NoError(t, os.WriteFile(logPath, whole, 0o644))
	_, err = g.Propose(t.Context(), Proposal{New: lowChange(baseGenome(), 3), Actor: "evolve"})
	require.NoError(t, err, "restored, it verifies again")
	require.NoError(t, g.Verify(t.Context()))
}

// TestApprovalIsNeverWrittenThroughALink: an approvals/ that is a symbolic
// link would put the approval wherever it points.
func TestApprovalIsNeverWrittenThroughALink(t *testing.T) {
	dir, d := attackFixture(t)
	elsewhere := t.TempDir()
	require.NoError(t, os.Symlink(elsewhere, filepath.Join(dir, approvalsDir)))
	env, err := Approve(d.Proposal, d.At, bobKey, "bob")
	require.NoError(t, err)
	_, err = open(t, dir).WriteApproval(t.Context(), env)
	assert.ErrorContains(t, err, "is a symbolic link")
	entries, _ := os.ReadDir(elsewhere)
	assert.Empty(t, entries, "nothing was written where the link points")
}

// TestAPlantedGenomeFileIsNoBaseline: a writer of the directory plants a
// genome file for a module the log never adopted, one step from the
// champion CI will propose; the change is still assessed from the empty
// genome, and waits for approvers.
func TestAPlantedGenomeFileIsNoBaseline(t *testing.T) {
	dir, g := setup(t, "")
	champion := lowChange(baseGenome(), 0)
	champion.Module = "payments"
	planted := champion.Clone()
	planted.Retry.BaseDelay += time.Millisecond
	data, _ := planted.MarshalJSON()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "payments.genome.json"), data, 0o644))

	d, err := g.Propose(t.Context(), Proposal{New: champion, Actor: "evolve"})
	require.NoError(t, err)
	assert.Equal(t, Pending, d.Status, "a change one step from a planted file is not low impact")
	assert.GreaterOrEqual(t, d.Impact.Level, Medium, d.Impact.Reasons)
	assert.Contains(t, strings.Join(d.Notes, "\n"), "payments.genome.json was never adopted (hand-written, or planted): the change is assessed from the empty genome")
	assert.Equal(t, data, readFile(t, filepath.Join(dir, "payments.genome.json")), "a pending change writes nothing")
}

// TestWhatReviewersReadIsWhatTheFileSays: an approver's name with a
// terminal escape or a fake key fingerprint is refused, so a policy change
// cannot hide what it does from the approvers asked to sign it.
func TestWhatReviewersReadIsWhatTheFileSays(t *testing.T) {
	for _, name := range []string{"bob (key SHA256:abc)\n  (no other change)\x1b[8m", "bob\x1b[8m", "bob\nalice", strings.Repeat("b", 65)} {
		cfg := strings.Replace(testConfig(""), `"name": "bob"`, `"name": `+strconvQuote(name), 1)
		_, err := parseConfig("guardian.json", []byte(cfg))
		assert.ErrorContains(t, err, "approvers[1].name", "%q", name)
	}
	_, err := parseConfig("guardian.json", []byte(strings.Replace(testConfig(""), `"role": "sre"`, `"role": "sre\u001b[8m"`, 1)))
	assert.ErrorContains(t, err, "approvers[1].role")
	_, err = parseConfig("guardian.json", []byte(strings.Replace(testConfig(""), `"name": "alice"`, `"name": "Alice O'Neil-Smith"`, 1)))
	assert.NoError(t, err, "ordinary names are fine")
}

func strconvQuote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// TestPlantedApprovalsCostBoundedWork: an envelope with many signatures is
// refused without trying them, too many approval files are refused, and
// the notes on approvals that do not count are capped.
func TestPlantedApprovalsCostBoundedWork(t *testing.T) {
	env := sealEnvelope([]byte("{}"), aliceKey)
	for range maxSignatures {
		env.Signatures = append(env.Signatures, env.Signatures[0])
	}
	_, _, err := env.open([]ed25519.PublicKey{pub(aliceKey)})
	assert.ErrorContains(t, err, "more than the 8 any approval or entry carries")

	dir, d := attackFixture(t)
	require.NoError(t, os.MkdirAll(filepath.Join(dir, approvalsDir), 0o755))
	for i := range maxProblems + 5 {
		require.NoError(t, os.WriteFile(filepath.Join(dir, approvalsDir, fmt.Sprintf("junk-%d.json", i)), []byte("{}"), 0o644))
	}
	notes := ignoredNote(t, dir, d)
	assert.Contains(t, notes, "and 5 more approvals that do not count")
	for i := range maxApprovalFiles {
		require.NoError(t, os.WriteFile(filepath.Join(dir, approvalsDir, fmt.Sprintf("more-%d.json", i)), []byte("{}"), 0o644))
	}
	assert.Contains(t, reproposeErr(t, dir, d), "more than 1000: remove those of proposals decided long ago")
}

// TestAGoModPlantedInTheDirectoryDoesNotNameTheOrigin: the origin is found
// above the directory, so a writer of it cannot make a log copied from
// another module's directory pass for this one's.
func TestAGoModPlantedInTheDirectoryDoesNotNameTheOrigin(t *testing.T) {
	root := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(root, "go.mod"), []byte("module example.com/shop\n"), 0o644))
	dir := filepath.Join(root, "testdata", "rafael")
	require.NoError(t, os.MkdirAll(dir, 0o755))
	assert.Equal(t, "rafael audit example.com/shop/testdata/rafael", Origin(dir))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module example.com/other/testdata/rafael\n"), 0o644))
	assert.Equal(t, "rafael audit example.com/shop/testdata/rafael", Origin(dir), "the planted go.mod is ignored")
}

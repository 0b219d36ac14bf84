package guardian

import (
	"context"
	"crypto/ed25519"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func approve(t *testing.T, g *Guardian, d Decision, key []byte, actor string) {
	t.Helper()
	env, err := Approve(d.Proposal, d.At, key, actor)
	require.NoError(t, err)
	_, err = g.WriteApproval(t.Context(), env)
	require.NoError(t, err)
}

func TestLowImpactIsAdoptedWithoutApproval(t *testing.T) {
	dir, g := setup(t, "")
	next := lowChange(baseGenome(), 0)
	d, err := g.Propose(t.Context(), Proposal{New: next, Actor: "evolve", Evidence: []byte("report")})
	require.NoError(t, err)
	assert.Equal(t, Adopted, d.Status)
	assert.Equal(t, Low, d.Impact.Level, d.Impact.Reasons)
	assert.Equal(t, []string{"proposed", "evaluated", "adopted"}, events(t, dir))
	assert.Equal(t, int64(7), d.Entry.Seq, "after the policy's entry and the base genome's adoption")
	data, _ := next.MarshalJSON()
	assert.Equal(t, append(data, '\n'), readFile(t, filepath.Join(dir, "checkout.genome.json")))
	require.NoError(t, g.Verify(t.Context()))

	again, err := g.Propose(t.Context(), Proposal{New: next, Old: baseGenome(), Actor: "evolve", Evidence: []byte("report")})
	require.Error(t, err, "Old no longer matches the adopted file")
	assert.Contains(t, err.Error(), "propose against the current genome")
	again, err = g.Propose(t.Context(), Proposal{New: next, Actor: "evolve", Evidence: []byte("report")})
	require.NoError(t, err)
	assert.Equal(t, Adopted, again.Status)
	assert.Equal(t, d.Entry, again.Entry, "proposing the genome in force records nothing")
	assert.Len(t, events(t, dir), 3)
}

func TestMediumChangeWaitsForOneApproval(t *testing.T) {
	dir, g := setup(t, "")
	genomePath := filepath.Join(dir, "checkout.genome.json")
	before := readFile(t, genomePath)
	p := Proposal{New: mediumChange(baseGenome()), Actor: "alice", Evidence: []byte("report")}

	d, err := g.Propose(t.Context(), p)
	require.NoError(t, err)
	assert.Equal(t, Pending, d.Status)
	assert.Equal(t, Medium, d.Impact.Level, d.Impact.Reasons)
	assert.Equal(t, 1, d.Required)
	assert.Equal(t, before, readFile(t, genomePath), "a pending proposal leaves the genome file alone")

	d2, err := g.Propose(t.Context(), p)
	require.NoError(t, err)
	assert.Equal(t, Pending, d2.Status)
	assert.Equal(t, d.Entry, d2.Entry, "proposing a pending change again appends nothing")

	approve(t, g, d, aliceKey, "alice") // the proposer: does not count
	d3, err := g.Propose(t.Context(), p)
	require.NoError(t, err)
	assert.Equal(t, Pending, d3.Status)
	require.Len(t, d3.Ignored, 1)
	assert.Contains(t, d3.Ignored[0], "alice proposed this change")

	approve(t, g, d, bobKey, "bob")
	d4, err := g.Propose(t.Context(), p)
	require.NoError(t, err)
	assert.Equal(t, Adopted, d4.Status)
	assert.Equal(t, []string{"bob"}, d4.Approvers)
	assert.NotEqual(t, before, readFile(t, genomePath))
	assert.Equal(t, []string{"proposed", "evaluated", "approved", "adopted"}, events(t, dir))
	require.NoError(t, g.Verify(t.Context()))
}

func TestHighChangeNeedsTwoDistinctApprovers(t *testing.T) {
	dir, g := setup(t, "")
	genomePath := filepath.Join(dir, "checkout.genome.json")
	before := readFile(t, genomePath)
	p := Proposal{New: highChange(baseGenome()), Actor: "evolve", Evidence: []byte("report")}
	d, err := g.Propose(t.Context(), p)
	require.NoError(t, err)
	require.Equal(t, High, d.Impact.Level, d.Impact.Reasons)
	assert.Equal(t, 2, d.Required)

	approve(t, g, d, bobKey, "bob")
	approve(t, g, d, bobKey, "bob, again") // same key, another file
	d, err = g.Propose(t.Context(), p)
	require.NoError(t, err)
	assert.Equal(t, Pending, d.Status, "two approvals by one key count once")
	assert.Equal(t, []string{"bob"}, d.Approvers)
	assert.Equal(t, before, readFile(t, genomePath))

	// eve is no approver: WriteApproval refuses her approval, and one
	// planted in approvals/ by hand does not count.
	env, err := Approve(d.Proposal, d.At, eveKey, "eve")
	require.NoError(t, err)
	_, err = g.WriteApproval(t.Context(), env)
	require.ErrorContains(t, err, "not signed by an approver of the policy in force")
	require.NoError(t, os.WriteFile(filepath.Join(dir, approvalsDir, "eve.json"), env, 0o644))
	d, err = g.Propose(t.Context(), p)
	require.NoError(t, err)
	assert.Equal(t, Pending, d.Status)
	assert.Contains(t, d.Ignored, "approvals/"+filepath.Base(lastApproval(t, dir))+": not signed by an approver of the policy in force")

	approve(t, g, d, carolKey, "carol")
	d, err = g.Propose(t.Context(), p)
	require.NoError(t, err)
	assert.Equal(t, Adopted, d.Status)
	assert.ElementsMatch(t, []string{"bob", "carol"}, d.Approvers)
	assert.Equal(t, []string{"proposed", "evaluated", "approved", "approved", "adopted"}, events(t, dir))
	require.NoError(t, g.Verify(t.Context()))
}

// lastApproval returns the approval file written most recently: the one
// whose envelope is signed by eve.
func lastApproval(t *testing.T, dir string) string {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, approvalsDir, "*.json"))
	for _, f := range files {
		e, err := decodeEnvelope(readFile(t, f))
		require.NoError(t, err)
		if _, _, err := e.open([]ed25519.PublicKey{pub(eveKey)}); err == nil {
			return f
		}
	}
	t.Fatal("no approval by eve")
	return ""
}

func TestFailingRuleRejects(t *testing.T) {
	dir, g := setup(t, `, "modules": {"checkout": {"nonIdempotent": true, "external": true}}`)
	before := readFile(t, filepath.Join(dir, "checkout.genome.json"))
	d, err := g.Propose(context.Background(), Proposal{New: lowChange(baseGenome(), 0), Actor: "evolve"})
	require.NoError(t, err)
	assert.Equal(t, Rejected, d.Status)
	var failedIDs []string
	for _, r := range d.Rules {
		if !r.Passed {
			failedIDs = append(failedIDs, r.ID)
			assert.NotEmpty(t, r.Problem)
		}
	}
	assert.Equal(t, []string{"no-retry-non-idempotent"}, failedIDs)
	assert.Equal(t, before, readFile(t, filepath.Join(dir, "checkout.genome.json")))
	assert.Equal(t, []string{"proposed", "evaluated", "rejected"}, events(t, dir))
}

func TestRollbackRestoresTheReplacedGenome(t *testing.T) {
	dir, g := setup(t, "")
	genomePath := filepath.Join(dir, "checkout.genome.json")
	before := readFile(t, genomePath)
	_, err := g.Propose(t.Context(), Proposal{New: lowChange(baseGenome(), 0), Actor: "evolve"})
	require.NoError(t, err)
	require.NotEqual(t, before, readFile(t, genomePath))
	ref, err := g.Rollback(t.Context(), "checkout", "alice", "p99 regressed in production")
	require.NoError(t, err)
	assert.Equal(t, int64(8), ref.Seq)
	assert.Equal(t, before, readFile(t, genomePath))
	_, err = g.Rollback(t.Context(), "checkout", "alice", "again")
	assert.ErrorContains(t, err, "rolled back at audit seq 8 already")
	require.NoError(t, g.Verify(t.Context()))
}

func TestClockBehindTheLogKeepsTimeMonotonic(t *testing.T) {
	dir, g := setup(t, "")
	_, err := g.Propose(t.Context(), Proposal{New: lowChange(baseGenome(), 0), Actor: "evolve"})
	require.NoError(t, err)
	behind := open(t, dir, WithClock(func() time.Time { return time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC) }))
	d, err := behind.Propose(t.Context(), Proposal{New: lowChange(baseGenome(), 1), Actor: "evolve"})
	require.NoError(t, err)
	assert.Equal(t, Adopted, d.Status)
	require.NoError(t, behind.Verify(t.Context()))
}

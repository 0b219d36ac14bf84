package guardian

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// buildLog writes a log of n entries signed with key into a new directory
// and returns the log and its checkpoint: the default policy, then
// proposals of checkout, each proposed, evaluated, approved and adopted.
func buildLog(tb testing.TB, n int, key ed25519.PrivateKey) (log, cp []byte) {
	tb.Helper()
	_, log, cp = buildDir(tb, n, key)
	return log, cp
}

// buildDir is buildLog, and returns the directory too, with the genome file
// the last adoption wrote.
func buildDir(tb testing.TB, n int, key ed25519.PrivateKey) (dir string, log, cp []byte) {
	tb.Helper()
	dir = tb.TempDir()
	g, err := Open(dir, append(isolated(key), WithOrigin("rafael audit example.com/shop"))...)
	require.NoError(tb, err)
	h := load(nil, nil, Trust{Keys: []ed25519.PublicKey{pub(key)}}, false)
	h.held = func() error { return nil } // the directory is the test's own
	_, canon, digest, err := parsePolicy("default", nil)
	require.NoError(tb, err)
	recs := []record{{Event: eventPolicyAdopted, Actor: "guardian", Proposal: proposalDigest(kindPolicy, "", "", digest, nil, ""),
		To: digest, Policy: canon, Origin: g.origin}}
	events := []string{eventProposed, eventEvaluated, eventApproved, eventAdopted}
	from := baseGenome().Digest()
	var adopted []byte
	for i := 1; i < n; i++ {
		to := lowChange(baseGenome(), (i-1)/len(events)%500).Digest()
		r := record{Event: events[(i-1)%len(events)], Actor: "evolve", Module: "checkout",
			Proposal: proposalDigest(kindGenome, "checkout", from, to, nil, ""), From: from, To: to}
		switch r.Event {
		case eventApproved:
			r.Approval = &approvalRecord{Approver: "alice", Key: fingerprint(pub(aliceKey)), Envelope: json.RawMessage(`{}`)}
		case eventAdopted:
			r.Genome, _ = lowChange(baseGenome(), (i-1)/len(events)%500).MarshalJSON()
			r.Replaced, _ = baseGenome().MarshalJSON()
			adopted = r.Genome
		}
		recs = append(recs, r)
	}
	_, err = g.appendRecords(h, recs)
	require.NoError(tb, err)
	if adopted != nil {
		require.NoError(tb, os.WriteFile(filepath.Join(dir, "checkout.genome.json"), append(adopted, '\n'), 0o644))
	}
	return dir, readFileTB(tb, filepath.Join(dir, logFile)), readFileTB(tb, filepath.Join(dir, checkpointFile))
}

func readFileTB(tb testing.TB, path string) []byte {
	tb.Helper()
	b, err := readOptionalRegular(path, maxLogBytes)
	require.NoError(tb, err)
	return b
}

var trustAudit = Trust{Keys: []ed25519.PublicKey{pub(auditKey)}, Origin: "rafael audit example.com/shop"}

// lineSpans returns the [start, end) of each line, newline included.
func lineSpans(log []byte) [][2]int {
	var spans [][2]int
	start := 0
	for i, b := range log {
		if b == '\n' {
			spans = append(spans, [2]int{start, i + 1})
			start = i + 1
		}
	}
	return spans
}

func joinLines(log []byte, spans [][2]int, order []int) []byte {
	var out []byte
	for _, i := range order {
		out = append(out, log[spans[i][0]:spans[i][1]]...)
	}
	return out
}

func TestVerifyAcceptsAnIntactLog(t *testing.T) {
	log, cp := buildLog(t, 20, auditKey)
	require.NoError(t, Verify(log, cp, trustAudit))
	require.NoError(t, Verify(log, cp, Trust{Keys: trustAudit.Keys, Pinned: cp}))
	require.NoError(t, Verify(nil, nil, trustAudit), "an empty record is intact")
	assert.ErrorContains(t, Verify(log, cp, Trust{}), "no trusted keys")
}

func TestVerifyDetectsTampering(t *testing.T) {
	const n = 20
	log, cp := buildLog(t, n, auditKey)
	spans := lineSpans(log)
	require.Len(t, spans, n)
	identity := make([]int, n)
	for i := range identity {
		identity[i] = i
	}
	without := func(i int) []int { return append(append([]int(nil), identity[:i]...), identity[i+1:]...) }

	type tamper struct {
		name    string
		log, cp []byte
		trust   Trust
		want    string // a fragment of the report
	}
	var cases []tamper
	add := func(name string, log, cp []byte, want string) {
		cases = append(cases, tamper{name: name, log: log, cp: cp, trust: trustAudit, want: want})
	}

	// Every entry: some byte flips (seeded), deletion, duplication, a swap
	// with the next entry, and a cut after it under the kept checkpoint.
	rng := rand.New(rand.NewPCG(8, 2026))
	for i, sp := range spans {
		positions := []int{sp[0], sp[1] - 1} // first byte, newline
		for range 8 {
			positions = append(positions, sp[0]+rng.IntN(sp[1]-sp[0]))
		}
		for _, pos := range positions {
			bad := bytes.Clone(log)
			bad[pos] ^= byte(1 + rng.IntN(255))
			add("flip", bad, cp, "")
		}
		add("delete", joinLines(log, spans, without(i)), cp, "")
		add("duplicate", joinLines(log, spans, append(append(identity[:i+1:i+1], i), identity[i+1:]...)), cp, "sequence number")
		if i+1 < n {
			swapped := append([]int(nil), identity...)
			swapped[i], swapped[i+1] = swapped[i+1], swapped[i]
			add("reorder", joinLines(log, spans, swapped), cp, "sequence number")
		}
		add("truncate", log[:sp[0]], cp, "entries were removed")
	}

	// A log rewritten and resealed with a key nobody trusts.
	forgedLog, forgedCP := buildLog(t, n, eveKey)
	add("untrusted key", forgedLog, forgedCP, "which is not trusted")
	add("untrusted checkpoint", log, forgedCP, "no signature by a trusted key")

	// One entry re-signed with an untrusted key, keeping the trusted key's name.
	var e entry
	require.NoError(t, json.Unmarshal(log[spans[7][0]:spans[7][1]-1], &e))
	payload, err := decodeBase64(e.Envelope.Payload)
	require.NoError(t, err)
	e.Envelope = sealEnvelope(payload, eveKey)
	resigned, err := json.Marshal(e)
	require.NoError(t, err)
	add("re-signed entry", append(append(bytes.Clone(log[:spans[7][0]]), resigned...), log[spans[7][1]-1:]...), cp, "no signature verifies")

	// Checkpoints forged by editing the signed text, or missing.
	add("checkpoint size edited", log, bytes.Replace(cp, []byte("\n20\n"), []byte("\n19\n"), 1), "")
	add("checkpoint signature edited", log, bytes.Replace(cp, []byte("— rafael-audit "), []byte("— rafael-audit AAAA"), 1), "")
	add("checkpoint missing", log, nil, "is missing")

	// A log cut back to an older, genuinely sealed head: the pinned
	// checkpoint (taken when the log had 20 entries) catches it.
	oldLog, oldCP := buildLog(t, 12, auditKey)
	cases = append(cases, tamper{name: "rolled back under a pin", log: oldLog, cp: oldCP,
		trust: Trust{Keys: trustAudit.Keys, Pinned: cp}, want: "pinned checkpoint: covers 20 entries but the log has 12"})
	other, otherCP := buildLog(t, 21, seedKey(1))
	_ = otherCP
	cases = append(cases, tamper{name: "history rewritten under a pin", log: other, cp: otherCP,
		trust: Trust{Keys: trustAudit.Keys, Pinned: forgedCP}, want: "pinned checkpoint: no signature by a trusted key"})

	for _, c := range cases {
		err := Verify(c.log, c.cp, c.trust)
		if !assert.Error(t, err, "%s went unnoticed", c.name) {
			continue
		}
		assert.ErrorIs(t, err, ErrTampered, c.name)
		if c.want != "" {
			assert.ErrorContains(t, err, c.want, c.name)
		}
	}
	t.Logf("%d tampered records, all refused", len(cases))
}

func TestVerifyNamesEveryProblem(t *testing.T) {
	log, cp := buildLog(t, 20, auditKey)
	spans := lineSpans(log)
	order := []int{0, 1, 2, 3, 5, 4}
	for i := 6; i < 20; i++ {
		order = append(order, i)
	}
	err := Verify(joinLines(log, spans, order), cp, trustAudit)
	require.Error(t, err)
	msg := err.Error()
	for _, want := range []string{
		"guardian: audit log line 5 (seq 6): sequence number is 6, want 5",
		"guardian: audit log line 6 (seq 5): sequence number is 5, want 6",
		"guardian: audit log line 7 (seq 7): previous hash",
		"guardian: audit checkpoint: Merkle root of the first 20 entries does not match",
	} {
		assert.Contains(t, msg, want)
	}
	var ve *VerifyError
	require.ErrorAs(t, err, &ve)
}

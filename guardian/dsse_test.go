package guardian

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"path/filepath"
	"sort"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestEnvelopeVerifiesIndependently checks what the package writes with
// nothing but the DSSE specification and crypto/ed25519.
func TestEnvelopeVerifiesIndependently(t *testing.T) {
	dir, g := setup(t, "")
	_, err := g.Propose(t.Context(), Proposal{New: lowChange(baseGenome(), 0), Actor: "evolve", Evidence: []byte("report")})
	require.NoError(t, err)

	lines := bytes.Split(bytes.TrimSuffix(readFile(t, filepath.Join(dir, logFile)), []byte("\n")), []byte("\n"))
	require.Len(t, lines, 7, "the policy, the base genome's adoption, then proposed, evaluated, adopted")
	for i, line := range lines {
		var e struct {
			Envelope struct {
				PayloadType string `json:"payloadType"`
				Payload     string `json:"payload"`
				Signatures  []map[string]string
			} `json:"envelope"`
		}
		require.NoError(t, json.Unmarshal(line, &e))
		env := e.Envelope
		require.Len(t, env.Signatures, 1)
		keyid, ok := env.Signatures[0]["keyid"]
		assert.True(t, ok, "keyid is written")
		assert.Empty(t, keyid)
		body, err := base64.StdEncoding.DecodeString(env.Payload)
		require.NoError(t, err)
		sig, err := base64.StdEncoding.DecodeString(env.Signatures[0]["sig"])
		require.NoError(t, err)
		paeByHand := fmt.Sprintf("DSSEv1 %d %s %d %s", len(env.PayloadType), env.PayloadType, len(body), body)
		assert.True(t, ed25519.Verify(pub(auditKey), []byte(paeByHand), sig), "line %d", i+1)
		assert.Equal(t, "application/vnd.in-toto+json", env.PayloadType)

		var st map[string]json.RawMessage
		require.NoError(t, json.Unmarshal(body, &st))
		keys := make([]string, 0, len(st))
		for k := range st {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		assert.Equal(t, []string{"_type", "predicate", "predicateType", "subject"}, keys)
		assert.JSONEq(t, `"https://in-toto.io/Statement/v1"`, string(st["_type"]))
		var subjects []struct {
			Name   string            `json:"name"`
			Digest map[string]string `json:"digest"`
		}
		require.NoError(t, json.Unmarshal(st["subject"], &subjects))
		require.Len(t, subjects, 1)
		if i == 0 {
			assert.Equal(t, "guardian.json", subjects[0].Name, "the policy comes first")
			continue
		}
		assert.Equal(t, "checkout.genome.json", subjects[0].Name)
		want := lowChange(baseGenome(), 0).Digest()
		if i < 4 {
			want = baseGenome().Digest() // setup's adoption of the base genome
		}
		assert.Equal(t, want, "sha256:"+subjects[0].Digest["sha256"])
	}
}

func TestEnvelopeAcceptsURLSafeBase64AndCountsKeysOnce(t *testing.T) {
	payload := []byte(`{"_type":"x","subject":[],"predicateType":"y","predicate":{}}`)
	env := sealEnvelope(payload, aliceKey)
	sig, _ := base64.StdEncoding.DecodeString(env.Signatures[0].Sig)
	env.Payload = base64.RawURLEncoding.EncodeToString(payload)
	env.Signatures = append(env.Signatures, signature{Sig: base64.URLEncoding.EncodeToString(sig)},
		sealEnvelope(payload, bobKey).Signatures[0], sealEnvelope(payload, eveKey).Signatures[0])

	got, signers, err := env.open([]ed25519.PublicKey{pub(aliceKey), pub(bobKey)})
	require.NoError(t, err)
	assert.Equal(t, payload, got)
	assert.Len(t, signers, 2, "alice twice counts once; eve is not trusted")

	_, _, err = env.open([]ed25519.PublicKey{pub(carolKey)})
	assert.ErrorContains(t, err, "no signature verifies with a trusted key")
}

func TestApprovalIsBoundToItsProposal(t *testing.T) {
	at := EntryRef{Seq: 2, Hash: "sha256:" + fmt.Sprintf("%064x", 2)}
	_, err := Approve("sha256:abc", at, aliceKey, "alice")
	assert.ErrorContains(t, err, "64 hex digits")
	_, err = Approve("sha256:"+fmt.Sprintf("%064x", 1), EntryRef{}, aliceKey, "alice")
	assert.ErrorContains(t, err, "want the proposal's entry")

	_, g := setup(t, "")
	_, err = g.WriteApproval(t.Context(), []byte(`{"payloadType":"x"}`))
	assert.ErrorContains(t, err, "payload is not an in-toto statement")
}

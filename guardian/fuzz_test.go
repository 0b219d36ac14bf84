package guardian

import (
	"bytes"
	"crypto/ed25519"
	"strings"
	"testing"
)

// FuzzVerifyLog feeds arbitrary bytes to the log parser and verifier: they
// must never panic. The seeds are small entries, not a genuine log, because
// the fuzzer's minimization is quadratic in an input's size; the trusted key
// signed nothing, so no input can verify. FuzzApproval covers signatures.
func FuzzVerifyLog(f *testing.F) {
	_, cp := buildLog(f, 2, auditKey)
	entry := `{"seq":1,"prev":"","time":"2026-01-01T00:00:00Z","actor":"a","event":"proposed","signer":"x",` +
		`"envelope":{"payloadType":"application/vnd.in-toto+json","payload":"e30=","signatures":[{"keyid":"","sig":"AA=="}]}}` + "\n"
	f.Add([]byte(entry))
	f.Add([]byte(entry + strings.Replace(entry, `"seq":1,"prev":""`, `"seq":2,"prev":"sha256:00"`, 1)))
	f.Add([]byte("{}\n\n{"))
	trust := Trust{Keys: []ed25519.PublicKey{pub(eveKey)}}
	f.Fuzz(func(t *testing.T, data []byte) {
		err := Verify(data, cp, trust)
		if len(data) > 0 && err == nil {
			t.Fatal("a log verified against a key that signed nothing")
		}
		h := load(data, cp, trust, false)
		if len(data) > 0 && len(h.problems) == 0 {
			t.Fatal("a log was accepted under a checkpoint it does not match")
		}
		if len(h.problems) > maxProblems+1 {
			t.Fatalf("%d problems reported: the cap is %d", len(h.problems), maxProblems)
		}
	})
}

// FuzzApproval feeds arbitrary bytes to the approval and envelope decoders
// and to signature checking: no panic, and only alice's genuine approval
// opens with her key.
func FuzzApproval(f *testing.F) {
	genuine, err := Approve(baseGenome().Digest(), EntryRef{Seq: 2, Hash: baseGenome().Digest()}, aliceKey, "alice")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(genuine)
	f.Add([]byte(`{"payloadType":"application/vnd.in-toto+json","payload":"e30","signatures":[{"keyid":"","sig":"AA-_"}]}`))
	keys := []ed25519.PublicKey{pub(aliceKey)}
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = decodeApproval(data)
		env, err := decodeEnvelope(data)
		if err != nil {
			return
		}
		if payload, _, err := env.open(keys); err == nil {
			want, _ := decodeEnvelope(genuine)
			if got, _ := decodeBase64(want.Payload); string(got) != string(payload) {
				t.Fatalf("a forged payload opened with alice's key: %q", payload)
			}
		}
	})
}

// FuzzCheckpoint feeds arbitrary bytes to the checkpoint parsers: no panic,
// and a body that parses renders back to the same first three lines.
func FuzzCheckpoint(f *testing.F) {
	_, cp := buildLog(f, 4, auditKey)
	f.Add(cp)
	f.Add([]byte("rafael audit x\n0\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n"))
	f.Add([]byte("rafael audit x\n-1\n\n\n— rafael-audit AAAA\n"))
	keys := []ed25519.PublicKey{pub(auditKey)}
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = openCheckpoint(data, keys)
		c, err := parseCheckpointText(string(data))
		if err != nil {
			return
		}
		again, err := parseCheckpointText(c.text())
		if err != nil || again != c {
			t.Fatalf("checkpoint %+v does not round-trip: %+v, %v", c, again, err)
		}
	})
}

// FuzzConfig feeds arbitrary bytes to the guardian.json parser: no panic,
// and a policy it accepts has a canonical form that parses to itself (the
// digest the log records is stable).
func FuzzConfig(f *testing.F) {
	f.Add([]byte(testConfig("")))
	f.Add([]byte(testConfig(`, "approvals": {"medium": 2, "policy": 2}, "modules": {"checkout": {"criticality": "high"}}`)))
	f.Add([]byte(`{"//": ["a comment"], "rules": {"enable": ["max-attempts"], "maxAttempts": 3, "maxTimeout": "10s"}}`))
	f.Add([]byte(`{"impact": {"medium": 0.1, "high": 0.5}}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, canon, digest, err := parsePolicy("guardian.json", data)
		if err != nil {
			return
		}
		_, again, digest2, err := parsePolicy("canonical", canon)
		if err != nil || !bytes.Equal(again, canon) || digest2 != digest {
			t.Fatalf("the canonical form of an accepted policy does not parse to itself: %v\n%s\n%s", err, canon, again)
		}
	})
}

// FuzzParseKeys feeds arbitrary bytes to the PEM key parsers: no panic,
// and a key they accept encodes back to an equal key.
func FuzzParseKeys(f *testing.F) {
	priv, _ := MarshalPrivateKey(aliceKey)
	pubPEMBytes, _ := MarshalPublicKey(pub(aliceKey))
	f.Add(priv)
	f.Add(pubPEMBytes)
	f.Add([]byte("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"))
	f.Add([]byte("-----BEGIN PRIVATE KEY-----\n-----END PRIVATE KEY-----\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if k, err := ParsePublicKey(data); err == nil {
			again, err := MarshalPublicKey(k)
			if err != nil {
				t.Fatalf("an accepted public key does not encode: %v", err)
			}
			if k2, err := ParsePublicKey(again); err != nil || !k2.Equal(k) {
				t.Fatalf("a public key does not round-trip: %v", err)
			}
		}
		if k, err := ParsePrivateKey(data); err == nil {
			again, err := MarshalPrivateKey(k)
			if err != nil {
				t.Fatalf("an accepted private key does not encode: %v", err)
			}
			if k2, err := ParsePrivateKey(again); err != nil || !k2.Equal(k) {
				t.Fatalf("a private key does not round-trip: %v", err)
			}
		}
		_, _ = ParsePublicKeys(data)
	})
}

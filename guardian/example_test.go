package guardian_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/rafaelabs/rafael/genome"
	"github.com/rafaelabs/rafael/guardian"
)

// key returns a fixed key, so that the examples' output never changes.
func key(seed byte) ed25519.PrivateKey {
	return ed25519.NewKeyFromSeed(bytes.Repeat([]byte{seed}, ed25519.SeedSize))
}

func clock() func() time.Time {
	t := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	return func() time.Time { t = t.Add(time.Second); return t }
}

// options sign with the signer's key and trust nothing else: no key, pin
// or policy from the environment.
func options(signer ed25519.PrivateKey) []guardian.Option {
	return []guardian.Option{guardian.WithSigningKey(signer), guardian.WithTrustedKeys(), guardian.WithPinFile(""),
		guardian.WithPolicy(""), guardian.WithClock(clock()), guardian.WithOrigin("rafael audit example.com/shop/testdata/rafael")}
}

// publicPEM encodes a public key as guardian.json lists it.
func publicPEM(k ed25519.PrivateKey) string {
	der, _ := x509.MarshalPKIXPublicKey(k.Public())
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

func checkout() *genome.Genome {
	return &genome.Genome{
		Module:         "checkout",
		Timeout:        &genome.Timeout{PerAttempt: 500 * time.Millisecond, Overall: 2 * time.Second},
		Retry:          &genome.Retry{MaxAttempts: 3, BaseDelay: 100 * time.Millisecond, MaxDelay: time.Second, Multiplier: 2},
		CircuitBreaker: &genome.CircuitBreaker{Threshold: 5, FailureRate: 0.5, Window: 20, OpenDuration: 5 * time.Second, HalfOpenProbes: 1},
	}
}

func ExampleAssess() {
	old := checkout()
	evolved := old.Clone()
	evolved.Retry.MaxAttempts = 5
	evolved.Retry.BaseDelay = 150 * time.Millisecond
	evolved.Hedge = &genome.Hedge{Delay: 200 * time.Millisecond, MaxHedges: 1}

	imp := guardian.Assess(old, evolved, guardian.Config{})
	fmt.Println(imp.Level)
	for _, r := range imp.Reasons {
		fmt.Println("-", r)
	}
	// Output:
	// medium
	// - retry.maxAttempts 3 → 5 moves 10.5% of its range 1–20: medium
	// - retry.baseDelay 100ms → 150ms is 1.5× the old value: medium
	// - gene hedge is added: medium
	// - worst-case attempts a call makes 3 → 10 (3.3×): medium
}

// A change small in its parameter's range can be large for the service:
// the guardian rates it by its ratio to the old value too, and by its
// effect on how long a call can take.
func ExampleAssess_ratio() {
	old := checkout()
	longer := old.Clone()
	longer.Timeout.Overall = 150 * time.Second // 4 % of the range 1ms–1h

	imp := guardian.Assess(old, longer, guardian.Config{})
	fmt.Println(imp.Level)
	for _, r := range imp.Reasons {
		fmt.Println("-", r)
	}
	// Output:
	// high
	// - timeout.overall 2s → 2m30s is 75× the old value: high
	// - worst-case call time 2s → 2m30s (75×): high
}

func ExampleGuardian_Propose() {
	dir, _ := os.MkdirTemp("", "guardian-example")
	defer os.RemoveAll(dir)
	g, err := guardian.Open(dir, options(key(1))...)
	if err != nil {
		panic(err)
	}
	evolved := checkout()
	evolved.Retry.BaseDelay = 110 * time.Millisecond // a small step: low impact
	d, err := g.Propose(context.Background(), guardian.Proposal{
		Old: checkout(), New: evolved, Actor: "evolve", Evidence: []byte("resilience report"),
	})
	if err != nil {
		panic(err)
	}
	fmt.Println(d.Status, d.Impact.Level, "at audit seq", d.Entry.Seq)
	for _, r := range d.Rules {
		fmt.Println(r.ID, r.Passed)
	}
	fmt.Println("verify:", g.Verify(context.Background()))
	// Output:
	// adopted low at audit seq 4
	// no-retry-non-idempotent true
	// external-timeout true
	// max-attempts true
	// external-breaker true
	// verify: <nil>
}

func ExampleApprove() {
	dir, _ := os.MkdirTemp("", "guardian-example")
	defer os.RemoveAll(dir)
	alice, bob := key(2), key(3)
	policy, _ := json.Marshal(map[string]any{"approvers": []map[string]string{
		{"name": "alice", "role": "sre-lead", "publicKey": publicPEM(alice)},
		{"name": "bob", "role": "sre", "publicKey": publicPEM(bob)},
	}})
	if err := os.WriteFile(filepath.Join(dir, "guardian.json"), policy, 0o644); err != nil {
		panic(err)
	}
	g, err := guardian.Open(dir, options(key(1))...)
	if err != nil {
		panic(err)
	}
	evolved := checkout()
	evolved.Retry.MaxAttempts = 5 // medium impact: one approval
	p := guardian.Proposal{Old: checkout(), New: evolved, Actor: "alice"}

	d, _ := g.Propose(context.Background(), p)
	fmt.Println(d.Status, "needs", d.Required)

	for _, approver := range []struct {
		name string
		key  ed25519.PrivateKey
	}{{"alice", alice}, {"bob", bob}} {
		env, err := guardian.Approve(d.Proposal, d.At, approver.key, approver.name)
		if err != nil {
			panic(err)
		}
		if _, err := g.WriteApproval(context.Background(), env); err != nil {
			panic(err)
		}
	}
	d, _ = g.Propose(context.Background(), p)
	fmt.Println(d.Status, "approved by", d.Approvers)
	fmt.Println(len(d.Ignored), "ignored: alice proposed it")
	// Output:
	// pending needs 1
	// adopted approved by [bob]
	// 1 ignored: alice proposed it
}

func ExampleVerify() {
	dir, _ := os.MkdirTemp("", "guardian-example")
	defer os.RemoveAll(dir)
	signer := key(1)
	g, _ := guardian.Open(dir, options(signer)...)
	evolved := checkout()
	evolved.Retry.BaseDelay = 110 * time.Millisecond
	_, _ = g.Propose(context.Background(), guardian.Proposal{Old: checkout(), New: evolved, Actor: "evolve"})

	log, _ := os.ReadFile(filepath.Join(dir, "audit.jsonl"))
	cp, _ := os.ReadFile(filepath.Join(dir, "audit.checkpoint"))
	trust := guardian.Trust{Keys: []ed25519.PublicKey{signer.Public().(ed25519.PublicKey)}}
	fmt.Println(guardian.Verify(log, cp, trust))

	edited := bytes.Replace(log, []byte(`"actor":"evolve"`), []byte(`"actor":"alice"`), 1)
	err := guardian.Verify(edited, cp, trust)
	fmt.Println(errors.Is(err, guardian.ErrTampered))
	fmt.Println(err)
	// Output:
	// <nil>
	// true
	// guardian: audit log line 2 (seq 2): seq, prev, time, actor or event differs from what was signed
	// guardian: audit log line 3 (seq 3): previous hash sha256:aea10cc428fa… does not match line 2 (sha256:fc9d61cc9974…)
	// guardian: audit checkpoint: Merkle root of the first 4 entries does not match: an entry was changed, moved or removed
}

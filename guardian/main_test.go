package guardian

import (
	"bytes"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rafaelabs/rafael/genome"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	if dir := os.Getenv(crashDirEnv); dir != "" {
		crashChild(dir, os.Getenv(crashStageEnv)) // exits
	}
	if path := os.Getenv(fullDiskEnv); path != "" {
		fullDiskChild(path) // exits
	}
	if dir := os.Getenv(writerDirEnv); dir != "" {
		writerChild(dir, os.Getenv(writerIDEnv)) // exits
	}
	goleak.VerifyTestMain(m)
}

// seedKey returns a fixed key for tests: the same seed, the same key.
func seedKey(n byte) ed25519.PrivateKey {
	return ed25519.NewKeyFromSeed(bytes.Repeat([]byte{n}, ed25519.SeedSize))
}

// Fixed keys: the audit signer, approvers, and an outsider.
var (
	auditKey = seedKey(1)
	aliceKey = seedKey(2)
	bobKey   = seedKey(3)
	carolKey = seedKey(4)
	eveKey   = seedKey(9)
)

func pub(k ed25519.PrivateKey) ed25519.PublicKey { return k.Public().(ed25519.PublicKey) }

func pubPEM(k ed25519.PrivateKey) string {
	der, err := x509.MarshalPKIXPublicKey(pub(k))
	if err != nil {
		panic(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

func privPEM(k ed25519.PrivateKey) []byte {
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		panic(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

// fixedClock returns a clock that starts at a fixed instant and moves one
// second per reading.
func fixedClock() func() time.Time {
	t := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	return func() time.Time {
		t = t.Add(time.Second)
		return t
	}
}

// testConfig is a guardian.json with alice, bob and carol as approvers.
func testConfig(extra string) string {
	q := func(s string) string { return strings.ReplaceAll(strings.TrimSpace(s), "\n", `\n`) }
	return fmt.Sprintf(`{
  "approvers": [
    {"name": "alice", "role": "sre-lead", "publicKey": "%s"},
    {"name": "bob", "role": "sre", "publicKey": "%s"},
    {"name": "carol", "role": "eng-manager", "publicKey": "%s"}
  ]%s
}`, q(pubPEM(aliceKey)), q(pubPEM(bobKey)), q(pubPEM(carolKey)), extra)
}

// baseGenome is the hand-written generation 0 of module checkout.
func baseGenome() *genome.Genome {
	return &genome.Genome{
		Module:         "checkout",
		Timeout:        &genome.Timeout{PerAttempt: 500 * time.Millisecond, Overall: 2 * time.Second},
		Retry:          &genome.Retry{MaxAttempts: 3, BaseDelay: 100 * time.Millisecond, MaxDelay: time.Second, Multiplier: 2, Jitter: 0.2},
		CircuitBreaker: &genome.CircuitBreaker{Threshold: 5, FailureRate: 0.5, Window: 20, OpenDuration: 5 * time.Second, HalfOpenProbes: 1},
	}
}

// The three sizes of change from baseGenome.
func lowChange(g *genome.Genome, i int) *genome.Genome {
	n := g.Clone()
	n.Generation++
	n.Retry.BaseDelay += time.Duration(i+1) * time.Millisecond
	return n
}

func mediumChange(g *genome.Genome) *genome.Genome {
	n := g.Clone()
	n.Retry.MaxAttempts = 5 // 2 of 19: 10.5 % of the range
	return n
}

func highChange(g *genome.Genome) *genome.Genome {
	n := g.Clone()
	n.CircuitBreaker = nil
	return n
}

// setup makes a guardian directory with guardian.json and checkout's
// adopted genome (entries 1–4: the policy, then its adoption), and opens
// it with fixed keys and clock.
func setup(t *testing.T, extraConfig string) (string, *Guardian) {
	t.Helper()
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, configFile), []byte(testConfig(extraConfig)), 0o644))
	data, err := baseGenome().MarshalJSON()
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "checkout.genome.json"), append(data, '\n'), 0o644))
	g := open(t, dir)
	if extraConfig != "" {
		return dir, g // the test's own rules decide about the hand-written genome
	}
	// The hand-written generation 0 is adopted as it is: its author (this
	// test, trusted code) vouches for it as Proposal.Old, so nothing
	// changes: low impact, three entries after the policy's.
	d, err := g.Propose(t.Context(), Proposal{New: baseGenome(), Old: baseGenome(), Actor: "setup"})
	require.NoError(t, err)
	require.Equal(t, Adopted, d.Status)
	require.Equal(t, int64(4), d.Entry.Seq)
	return dir, g
}

func open(t *testing.T, dir string, opts ...Option) *Guardian {
	t.Helper()
	g, err := Open(dir, append(isolated(auditKey), opts...)...)
	require.NoError(t, err)
	return g
}

// isolated are the options of a guardian that reads nothing from the
// environment: it signs with key and trusts only it.
func isolated(key ed25519.PrivateKey) []Option {
	return []Option{WithSigningKey(key), WithTrustedKeys(), WithPinFile(""), WithPolicy(""), WithClock(fixedClock())}
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return b
}

// events lists the event of every entry in dir's log after the policy's
// and, when setup adopted the base genome, after that adoption's.
func events(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	for i, l := range bytes.Split(bytes.TrimSuffix(readFile(t, filepath.Join(dir, logFile)), []byte("\n")), []byte("\n")) {
		var e entry
		require.NoError(t, decodeEntry(l, &e))
		if i == 0 {
			require.Equal(t, eventPolicyAdopted, e.Event, "a log opens with its policy")
			continue
		}
		if e.Actor == "setup" {
			continue
		}
		out = append(out, e.Event)
	}
	return out
}

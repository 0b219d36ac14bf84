package guardian

import (
	"crypto/ed25519"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// File names inside a guardian directory.
const (
	configFile     = "guardian.json"
	logFile        = "audit.jsonl"
	checkpointFile = "audit.checkpoint"
	approvalsDir   = "approvals"
)

// Guardian decides on genome changes for the modules whose files live in one
// directory (conventionally testdata/rafael) and keeps their audit record.
// Its methods are safe for concurrent use within one process; two processes
// must not propose in the same directory at once.
type Guardian struct {
	mu        sync.Mutex
	dir       string
	cfg       Config
	key       ed25519.PrivateKey
	ephemeral bool
	now       func() time.Time
	origin    string
	extra     []Rule
	cfgSet    bool
	hook      func(stage string) // tests: called at named points of an adoption
}

// Option configures [Open].
type Option interface{ apply(*Guardian) }

type optionFunc func(*Guardian)

func (f optionFunc) apply(g *Guardian) { f(g) }

// WithClock sets the clock that stamps audit entries (UTC is taken of it).
// The default is time.Now.
func WithClock(now func() time.Time) Option {
	return optionFunc(func(g *Guardian) { g.now = now })
}

// WithSigningKey signs the audit record with key instead of the key named by
// $RAFAEL_SIGNING_KEY.
func WithSigningKey(key ed25519.PrivateKey) Option {
	return optionFunc(func(g *Guardian) { g.key = key })
}

// WithConfig uses cfg instead of reading guardian.json.
func WithConfig(cfg Config) Option {
	return optionFunc(func(g *Guardian) { g.cfg, g.cfgSet = cfg, true })
}

// WithRules adds rules, written in Go, to those guardian.json enables.
func WithRules(rules ...Rule) Option {
	return optionFunc(func(g *Guardian) { g.extra = append(g.extra, rules...) })
}

// WithOrigin sets the first line of the checkpoint, which names the log;
// it must start with "rafael audit ". The default is "rafael audit " and
// the directory's path with forward slashes.
func WithOrigin(origin string) Option {
	return optionFunc(func(g *Guardian) { g.origin = origin })
}

// withHook calls hook at named stages of an adoption; tests crash there.
func withHook(hook func(stage string)) Option {
	return optionFunc(func(g *Guardian) { g.hook = hook })
}

// Open returns a guardian for dir, reading dir/guardian.json (a missing file
// means no trusted approvers and the built-in rules with their defaults)
// and the signing key: WithSigningKey, else $RAFAEL_SIGNING_KEY, else an
// ephemeral key, in which case each Decision says the record is not signed
// by a trusted key. Nothing is written until a proposal is made.
func Open(dir string, opts ...Option) (*Guardian, error) {
	g := &Guardian{dir: dir, now: time.Now}
	for _, o := range opts {
		o.apply(g)
	}
	if g.origin == "" {
		g.origin = originPrefix + filepath.ToSlash(filepath.Clean(dir))
	}
	if !strings.HasPrefix(g.origin, originPrefix) || strings.ContainsAny(g.origin, "\n\r") {
		return nil, fmt.Errorf("guardian: WithOrigin(%q): want one line starting with %q", g.origin, originPrefix)
	}
	if !g.cfgSet {
		cfg, err := readConfig(filepath.Join(dir, configFile))
		if err != nil {
			return nil, err
		}
		g.cfg = cfg
	} else if err := g.cfg.checkThresholds(); err != nil {
		return nil, fmt.Errorf("guardian: WithConfig: %v", err)
	}
	g.cfg.Rules = append(append([]Rule(nil), g.cfg.Rules...), g.extra...)
	if g.key == nil {
		k, eph, err := signingKeyFromEnv(os.Getenv(SigningKeyEnv))
		if err != nil {
			return nil, fmt.Errorf("guardian: signing key: %w", err)
		}
		g.key, g.ephemeral = k, eph
	}
	if len(g.key) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("guardian: signing key has %d bytes, want an Ed25519 private key (%d)", len(g.key), ed25519.PrivateKeySize)
	}
	return g, nil
}

// trusted reports whether the signing key is one the audit is verified
// against: configured (not ephemeral) and, when guardian.json lists
// auditKeys, one of them.
func (g *Guardian) trusted() bool {
	pub := g.key.Public().(ed25519.PublicKey)
	return !g.ephemeral && (len(g.cfg.AuditKeys) == 0 || containsKey(g.cfg.AuditKeys, pub))
}

// trust is what Verify checks this guardian's record against.
func (g *Guardian) trust(pinned []byte) Trust {
	keys := append([]ed25519.PublicKey(nil), g.cfg.AuditKeys...)
	if pub := g.key.Public().(ed25519.PublicKey); !g.ephemeral && !containsKey(keys, pub) {
		keys = append(keys, pub)
	}
	return Trust{Keys: keys, Pinned: pinned, Origin: g.origin}
}

// Verify checks the guardian's audit.jsonl and audit.checkpoint with [Verify],
// trusting guardian.json's auditKeys and the guardian's own key unless it is
// ephemeral; pinned is a checkpoint accepted earlier, or nil.
func (g *Guardian) Verify(pinned []byte) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	log, err := readOptional(g.path(logFile))
	if err != nil {
		return err
	}
	cp, err := readOptional(g.path(checkpointFile))
	if err != nil {
		return err
	}
	return Verify(log, cp, g.trust(pinned))
}

func (g *Guardian) path(name string) string { return filepath.Join(g.dir, name) }

func (g *Guardian) genomePath(module string) string {
	return g.path(module + ".genome.json")
}

func (g *Guardian) stage(name string) {
	if g.hook != nil {
		g.hook(name)
	}
}

// readOptional reads a file, treating a missing one as empty.
func readOptional(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("guardian: %w", err)
	}
	return b, nil
}

package guardian

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"golang.org/x/mod/modfile"
)

// File names inside a guardian directory.
const (
	configFile     = "guardian.json"
	logFile        = "audit.jsonl"
	checkpointFile = "audit.checkpoint"
	approvalsDir   = "approvals"
)

// Environment variables the guardian reads when no option says otherwise.
// None of them names anything inside the directory the guardian protects.
const (
	// SigningKeyEnv holds the key that signs the audit log and identifies
	// the proposer: a path to a PEM PKCS#8 Ed25519 private key, or the PEM
	// text itself (a CI secret). Without it the guardian reads and
	// verifies, but does not write.
	SigningKeyEnv = "RAFAEL_SIGNING_KEY"
	// AuditKeysEnv holds the public keys trusted to have signed the log,
	// besides the signing key's own: PEM text with one or more "PUBLIC
	// KEY" blocks, or paths to PEM files separated by the path list
	// separator (":" on Unix).
	AuditKeysEnv = "RAFAEL_AUDIT_KEYS"
	// PolicyEnv holds the digest ("sha256:…") of an approver policy the
	// log must have adopted: the first policy's digest, printed when it is
	// recorded, or a later one. A guardian.json whose digest it names is
	// adopted without approvals (the pin is the team's say-so).
	PolicyEnv = "RAFAEL_GUARDIAN_POLICY"
	// PinEnv names a checkpoint file kept outside the directory (a CI
	// cache, say): the log must still extend it, and every write moves it
	// to the new checkpoint, so a history cut back to an older state is
	// caught.
	PinEnv = "RAFAEL_AUDIT_PIN"
)

// Guardian decides on genome changes for the modules whose files live in one
// directory (conventionally testdata/rafael) and keeps their audit record.
// Its methods are safe for concurrent use, within a process and across
// processes: every write holds a lock on the directory.
type Guardian struct {
	dir     string
	key     ed25519.PrivateKey // nil: the guardian reads and verifies, but does not write
	keySet  bool
	keys    []ed25519.PublicKey // trusted signers of the log, from outside the directory
	keysSet bool
	pinFile string
	pinSet  bool
	policy  string // a policy digest pinned from outside
	polSet  bool
	now     func() time.Time
	origin  string
	extra   []Rule
	hook    func(stage string) // tests: called at named points of a write

	// The record as this guardian last verified or wrote it, so that the
	// next write decodes only what was appended since: its bytes, the
	// history they make, the keys it was verified with.
	cacheMu   sync.Mutex
	cacheLog  []byte // what was read
	cacheTail []byte // and what was appended since
	cacheHist *history
	cacheKeys string
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
// $RAFAEL_SIGNING_KEY. The key is the proposer's identity: its holder's
// approvals of what it proposes never count.
func WithSigningKey(key ed25519.PrivateKey) Option {
	return optionFunc(func(g *Guardian) { g.key, g.keySet = key, true })
}

// WithTrustedKeys trusts keys to have signed the log (besides the signing
// key), instead of those in $RAFAEL_AUDIT_KEYS.
func WithTrustedKeys(keys ...ed25519.PublicKey) Option {
	return optionFunc(func(g *Guardian) { g.keys, g.keysSet = keys, true })
}

// WithPinFile names a checkpoint file outside the directory, instead of
// $RAFAEL_AUDIT_PIN: the log must extend the checkpoint it holds (when it
// exists), and every write moves it to the new checkpoint. "" disables it.
func WithPinFile(path string) Option {
	return optionFunc(func(g *Guardian) { g.pinFile, g.pinSet = path, true })
}

// WithPolicy pins the digest of an approver policy, instead of
// $RAFAEL_GUARDIAN_POLICY: the log must have adopted it, or adopt it now
// when guardian.json is that policy.
func WithPolicy(digest string) Option {
	return optionFunc(func(g *Guardian) { g.policy, g.polSet = digest, true })
}

// WithRules adds rules, written in Go, to those guardian.json enables.
func WithRules(rules ...Rule) Option {
	return optionFunc(func(g *Guardian) { g.extra = append(g.extra, rules...) })
}

// WithOrigin sets the first line of the checkpoint, which names the log;
// it must start with "rafael audit ". The default names the Go module and
// the directory within it ([Origin]).
func WithOrigin(origin string) Option {
	return optionFunc(func(g *Guardian) { g.origin = origin })
}

// withHook calls hook at named stages of a write; tests crash there.
func withHook(hook func(stage string)) Option {
	return optionFunc(func(g *Guardian) { g.hook = hook })
}

// Open returns a guardian for dir. Keys come from the options or the
// environment, never from dir: the signing key (WithSigningKey or
// $RAFAEL_SIGNING_KEY), the other keys trusted to have signed the log
// (WithTrustedKeys or $RAFAEL_AUDIT_KEYS), a pinned checkpoint (WithPinFile
// or $RAFAEL_AUDIT_PIN) and a pinned policy (WithPolicy or
// $RAFAEL_GUARDIAN_POLICY). Without a signing key the guardian can verify
// and list, not write. Nothing is read or written until a method is called.
func Open(dir string, opts ...Option) (*Guardian, error) {
	g := &Guardian{dir: dir, now: time.Now}
	for _, o := range opts {
		o.apply(g)
	}
	if g.origin == "" {
		g.origin = Origin(dir)
	}
	if !strings.HasPrefix(g.origin, originPrefix) || strings.ContainsAny(g.origin, "\n\r") {
		return nil, fmt.Errorf("guardian: origin %q: want one line starting with %q", g.origin, originPrefix)
	}
	if !g.keySet {
		k, err := SigningKeyFromEnv(os.Getenv(SigningKeyEnv))
		if err != nil {
			return nil, fmt.Errorf("guardian: signing key: %w", err)
		}
		g.key = k
	}
	if g.key != nil && len(g.key) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("guardian: signing key has %d bytes, want an Ed25519 private key (%d)", len(g.key), ed25519.PrivateKeySize)
	}
	if !g.keysSet {
		keys, err := PublicKeysFromEnv(os.Getenv(AuditKeysEnv))
		if err != nil {
			return nil, fmt.Errorf("guardian: %s: %w", AuditKeysEnv, err)
		}
		g.keys = keys
	}
	if !g.pinSet {
		g.pinFile = os.Getenv(PinEnv)
	}
	if !g.polSet {
		g.policy = os.Getenv(PolicyEnv)
	}
	if g.policy != "" && !digestPattern.MatchString(g.policy) {
		return nil, fmt.Errorf("guardian: pinned policy %q: want \"sha256:\" and 64 hex digits, as the guardian printed when it recorded the policy", g.policy)
	}
	if g.pinFile != "" && isInside(g.pinFile, dir) {
		return nil, fmt.Errorf("guardian: pin file %s is inside the directory it protects: keep it outside (a CI cache), where a writer of %s cannot replace it", g.pinFile, dir)
	}
	return g, nil
}

// Origin is the default origin line of the audit log in dir: "rafael
// audit", the path of the Go module dir is in, and dir's path within it
// ("rafael audit example.com/shop/payments/testdata/rafael"), found from
// the nearest go.mod above dir (never one inside it). A log copied from
// another directory or module fails verification against it. Outside a
// module it is dir's absolute path.
func Origin(dir string) string {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return originPrefix + filepath.ToSlash(filepath.Clean(dir))
	}
	// The search starts above dir: a go.mod planted inside the directory by
	// a writer of it would name whatever module its copied-in log claims.
	for root := filepath.Dir(abs); ; {
		if data, err := os.ReadFile(filepath.Join(root, "go.mod")); err == nil {
			if mod := modfile.ModulePath(data); mod != "" {
				rel, _ := filepath.Rel(root, abs)
				return originPrefix + strings.TrimSuffix(mod+"/"+filepath.ToSlash(rel), "/.")
			}
		}
		parent := filepath.Dir(root)
		if parent == root {
			return originPrefix + filepath.ToSlash(abs)
		}
		root = parent
	}
}

func isInside(path, dir string) bool {
	p, err1 := filepath.Abs(path)
	d, err2 := filepath.Abs(dir)
	if err1 != nil || err2 != nil {
		return false
	}
	rel, err := filepath.Rel(d, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

func (g *Guardian) public() ed25519.PublicKey { return g.key.Public().(ed25519.PublicKey) }

// trust is what this guardian verifies its record against: the keys from
// outside, its own key, the pins.
func (g *Guardian) trust() (Trust, error) {
	keys := append([]ed25519.PublicKey(nil), g.keys...)
	if g.key != nil && !containsKey(keys, g.public()) {
		keys = append(keys, g.public())
	}
	if len(keys) == 0 {
		return Trust{}, errNoTrustedKeys
	}
	t := Trust{Keys: keys, Origin: g.origin, Policy: g.policy}
	if g.pinFile != "" {
		pinned, err := readOptionalRegular(g.pinFile, maxCheckpointBytes)
		if err != nil {
			return Trust{}, fmt.Errorf("guardian: pin file: %w", err)
		}
		t.Pinned = pinned
	}
	return t, nil
}

// snapshot is the directory's record as read under the lock.
type snapshot struct {
	log, cp []byte
	h       *history
}

// read reads the log and checkpoint and checks them against the trust;
// full checks every signature.
func (g *Guardian) read(t Trust, full bool) (*snapshot, error) {
	log, err := readOptionalRegular(g.path(logFile), maxLogBytes)
	if err != nil {
		return nil, err
	}
	cp, err := readOptionalRegular(g.path(checkpointFile), maxCheckpointBytes)
	if err != nil {
		return nil, err
	}
	h := newHistory()
	if !full {
		h = g.resume(log, t)
	}
	s := &snapshot{log: log, cp: cp, h: h.extend(log, cp, t, full)}
	if len(log) == 0 {
		if err := g.checkNotEmptied(); err != nil {
			s.h.problem(err)
		}
	}
	return s, nil
}

// resume returns the history this guardian kept of the log's first bytes,
// when log still begins with exactly those bytes and the trusted keys are
// the same; otherwise a new history. The history is handed over: it is
// kept again only by remember, after a write that verified.
func (g *Guardian) resume(log []byte, t Trust) *history {
	g.cacheMu.Lock()
	defer g.cacheMu.Unlock()
	h, read, tail := g.cacheHist, g.cacheLog, g.cacheTail
	g.cacheHist, g.cacheLog, g.cacheTail = nil, nil, nil
	n := len(read) + len(tail)
	if h == nil || g.cacheKeys != keyList(t.Keys) || len(log) < n ||
		!bytes.Equal(log[:len(read)], read) || !bytes.Equal(log[len(read):n], tail) {
		return newHistory()
	}
	return h
}

// remember keeps the history of a record just verified (and written).
func (g *Guardian) remember(s *snapshot, t Trust) {
	if len(s.h.problems) > 0 || s.h.tornTail != nil || s.h.read != int64(len(s.log)+len(s.h.written)) {
		return
	}
	g.cacheMu.Lock()
	defer g.cacheMu.Unlock()
	g.cacheHist, g.cacheLog, g.cacheTail, g.cacheKeys = s.h, s.log, s.h.written, keyList(t.Keys)
	s.h.written = nil
}

func keyList(keys []ed25519.PublicKey) string {
	var b strings.Builder
	for _, k := range keys {
		b.WriteString(fingerprint(k))
		b.WriteByte(' ')
	}
	return b.String()
}

// checkNotEmptied refuses an empty log where a history must have been.
// (A checkpoint or a pinned checkpoint of a longer log is caught by load.)
func (g *Guardian) checkNotEmptied() error {
	if files, _, _ := listRegular(g.path(approvalsDir), "*.json"); len(files) > 0 {
		return &VerifyError{Part: "log", Problem: fmt.Sprintf("%s is missing or empty, but approvals/ holds approvals of proposals it recorded: the history was removed; restore it from version control", logFile)}
	}
	return nil
}

// refuse turns the problems of a record about to be written into one
// error: nothing is written to a record that does not verify.
func (g *Guardian) refuse(h *history) error {
	if len(h.problems) == 0 {
		return nil
	}
	what := "fails verification (tampered with, or signed by a key not trusted: give it with $" + AuditKeysEnv + ")"
	if !h.hasTampering() {
		what = "was interrupted (a crash or a full disk), not tampered with: run rafael audit repair -dir " + g.dir
	}
	return fmt.Errorf("guardian: the audit record in %s %s; nothing was written:\n%w", g.dir, what, errors.Join(h.problems...))
}

// Verify checks the directory's record against the keys and pins from
// outside it: every entry's signature, the chain, the checkpoint, the
// pins, and that every genome file holds the genome its last adoption or
// rollback wrote (a genome file the log never adopted is reported too).
func (g *Guardian) Verify(ctx context.Context) error {
	// The lock, so that a write in progress is not read half-done (a log
	// appended to, its checkpoint not yet rewritten).
	unlock, _, err := g.lock(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	t, err := g.trust()
	if err != nil {
		return err
	}
	s, err := g.read(t, true)
	if err != nil {
		return err
	}
	s.h.checkPolicyPin(t.Policy)
	if !s.h.stopped && !s.h.hasTampering() {
		for _, p := range g.genomeProblems(s.h) {
			s.h.problem(p)
		}
	}
	return errors.Join(s.h.problems...)
}

// lock takes the directory's lock, honouring ctx. The lock is a file
// lock, so it also orders goroutines of one process.
func (g *Guardian) lock(ctx context.Context) (unlock func(), held func() error, err error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	return lockDir(ctx, g.dir)
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

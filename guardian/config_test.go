package guardian

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rafaelabs/rafael/genome"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMissingConfigMeansNoApproversAndBuiltinRules(t *testing.T) {
	dir := t.TempDir()
	g := open(t, dir)
	cfg, err := parseConfig("none", nil)
	require.NoError(t, err)
	assert.Empty(t, cfg.Approvers)
	require.Len(t, cfg.Rules, 4)
	d, err := g.Propose(t.Context(), Proposal{New: mediumChange(baseGenome()), Old: baseGenome(), Actor: "evolve"})
	require.NoError(t, err)
	assert.Equal(t, Pending, d.Status, "nobody can approve: only low impact is adopted")
	_, err = os.Stat(filepath.Join(dir, "checkout.genome.json"))
	assert.ErrorIs(t, err, os.ErrNotExist)
}

func TestConfigErrorsNameFileAndField(t *testing.T) {
	for name, c := range map[string]struct{ json, want string }{
		"unknown field":  {`{"approver": []}`, `guardian.json: json: unknown field "approver"`},
		"bad PEM":        {`{"approvers": [{"name": "alice", "publicKey": "nope"}]}`, `approvers[0].publicKey: not a PEM "PUBLIC KEY" block`},
		"no name":        {`{"approvers": [{"publicKey": "x"}]}`, `approvers[0].name: is empty`},
		"weak high":      {`{"approvals": {"high": 1}}`, `at least 2 distinct approvers`},
		"bad level":      {`{"modules": {"checkout": {"criticality": "huge"}}}`, `modules.checkout.criticality: level "huge"`},
		"unknown rule":   {`{"rules": {"enable": ["no-such-rule"]}}`, `unknown rule "no-such-rule" (known: no-retry-non-idempotent`},
		"bad timeout":    {`{"rules": {"maxTimeout": "soon"}}`, `maxTimeout "soon" is not a positive duration`},
		"bad shifts":     {`{"impact": {"medium": 0.5, "high": 0.2}}`, `want 0 < medium ≤ high ≤ 1`},
		"duplicate name": {testConfig(""), ""},
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			require.NoError(t, os.WriteFile(filepath.Join(dir, configFile), []byte(c.json), 0o644))
			_, err := open(t, dir).Propose(t.Context(), Proposal{New: lowChange(baseGenome(), 0), Actor: "evolve"})
			if c.want == "" {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), filepath.Join(dir, configFile))
			assert.Contains(t, err.Error(), c.want)
		})
	}
}

func TestConfigSelectsAndBoundsRules(t *testing.T) {
	c, err := parseConfig("guardian.json", []byte(`{"rules": {"enable": ["max-attempts"], "maxAttempts": 2},
		"modules": {"checkout": {"criticality": "high", "external": true}}}`))
	require.NoError(t, err)
	require.Len(t, c.Rules, 1)
	res, ok := checkRules(c.Rules, baseGenome(), c.Modules["checkout"])
	assert.False(t, ok)
	assert.Equal(t, "retry.maxAttempts is 3, above 2", res[0].Problem)

	imp := Assess(baseGenome(), lowChange(baseGenome(), 0), c)
	assert.Equal(t, Medium, imp.Level, "a high-criticality module raises low to medium")
	assert.Contains(t, imp.Reasons[len(imp.Reasons)-1], "high criticality")
}

func TestBuiltinRules(t *testing.T) {
	external := Module{External: true}
	rules := BuiltinRules(5, 3*time.Second)
	check := func(id string, g func() *genome.Genome, m Module) string {
		t.Helper()
		r := rules[indexRule(rules, id)]
		if err := r.Check(g(), m); err != nil {
			return err.Error()
		}
		return ""
	}
	noTimeout := func() *genome.Genome { g := baseGenome(); g.Timeout = nil; return g }
	slow := func() *genome.Genome {
		g := baseGenome()
		g.Timeout.Overall = 0
		g.Timeout.PerAttempt = 2 * time.Second
		return g
	}
	noBreaker := func() *genome.Genome { g := baseGenome(); g.CircuitBreaker = nil; return g }
	hedged := func() *genome.Genome {
		g := baseGenome()
		g.Retry = nil
		g.Hedge = &genome.Hedge{Delay: time.Millisecond, MaxHedges: 1}
		return g
	}
	assert.Empty(t, check("external-timeout", baseGenome, external))
	assert.Empty(t, check("external-timeout", noTimeout, Module{}), "internal modules need none")
	assert.Contains(t, check("external-timeout", noTimeout, external), "no timeout gene")
	assert.Equal(t, "a call may take 6.3s (its timeouts, attempts and the delays between them), above the bound 3s", check("external-timeout", slow, external))
	assert.Contains(t, check("external-breaker", noBreaker, external), "no circuitBreaker")
	assert.Contains(t, check("no-retry-non-idempotent", baseGenome, Module{NonIdempotent: true}), "retry.maxAttempts is 3")
	assert.Contains(t, check("no-retry-non-idempotent", hedged, Module{NonIdempotent: true}), "hedge")
	assert.Empty(t, check("max-attempts", baseGenome, Module{}))
}

func TestKeysComeFromOutsideTheDirectory(t *testing.T) {
	dir := t.TempDir()
	keyPath := filepath.Join(t.TempDir(), "signing.pem")
	require.NoError(t, os.WriteFile(keyPath, privPEM(auditKey), 0o600))
	t.Setenv(AuditKeysEnv, "")
	t.Setenv(PinEnv, "")
	t.Setenv(PolicyEnv, "")

	t.Setenv(SigningKeyEnv, keyPath)
	g, err := Open(dir)
	require.NoError(t, err)
	assert.True(t, g.key.Equal(auditKey))

	t.Setenv(SigningKeyEnv, string(privPEM(aliceKey)))
	g, err = Open(dir)
	require.NoError(t, err)
	assert.True(t, g.key.Equal(aliceKey))

	t.Setenv(SigningKeyEnv, "")
	g, err = Open(dir)
	require.NoError(t, err)
	_, err = g.Propose(t.Context(), Proposal{New: lowChange(baseGenome(), 0), Old: baseGenome(), Actor: "evolve"})
	assert.ErrorContains(t, err, "no signing key", "nothing is written without a key from outside")
	assert.ErrorContains(t, g.Verify(t.Context()), "no trusted keys", "nor verified")
	t.Setenv(AuditKeysEnv, pubPEM(auditKey)+pubPEM(bobKey))
	g, err = Open(dir)
	require.NoError(t, err)
	assert.Len(t, g.keys, 2)

	secret := "-----BEGIN PRIVATE KEY-----\nTUMtc2VjcmV0LWtleS1tYXRlcmlhbA==\n-----END PRIVATE KEY-----\n"
	t.Setenv(SigningKeyEnv, secret)
	_, err = Open(dir)
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "TUMtc2VjcmV0", "key material never appears in errors")
	assert.Contains(t, err.Error(), SigningKeyEnv)

	t.Setenv(SigningKeyEnv, filepath.Join(dir, "missing.pem"))
	_, err = Open(dir)
	assert.ErrorContains(t, err, "missing.pem")

	t.Setenv(SigningKeyEnv, "")
	t.Setenv(PinEnv, filepath.Join(dir, "pin"))
	_, err = Open(dir)
	assert.ErrorContains(t, err, "is inside the directory it protects")
}

func TestAuditKeysInGuardianJSONAreRefused(t *testing.T) {
	_, err := parseConfig("guardian.json", []byte(`{"auditKeys": ["x"]}`))
	assert.ErrorContains(t, err, "guardian.json: auditKeys: is no longer read")
}

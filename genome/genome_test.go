package genome

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func full() *Genome {
	return &Genome{
		Module:         "checkout",
		Generation:     3,
		Parent:         "sha256:" + strings.Repeat("ab", 32),
		Fallback:       &Fallback{Kind: FallbackStatic, Value: json.RawMessage(`{"status": "queued"}`)},
		RateLimit:      &RateLimit{Rate: 250.5, Burst: 20},
		Bulkhead:       &Bulkhead{MaxConcurrent: 8, MaxWait: 50 * time.Millisecond},
		Timeout:        &Timeout{PerAttempt: 300 * time.Millisecond, Overall: 2 * time.Second},
		Retry:          &Retry{MaxAttempts: 4, BaseDelay: 50 * time.Millisecond, MaxDelay: time.Second, Multiplier: 1.5, Jitter: 0.25},
		CircuitBreaker: &CircuitBreaker{Mode: BreakerRate, Threshold: 5, FailureRate: 0.4, Window: 50, OpenDuration: 3 * time.Second, HalfOpenProbes: 2},
		Hedge:          &Hedge{Delay: 80 * time.Millisecond, MaxHedges: 2},
	}
}

func TestJSONRoundTripAndDigest(t *testing.T) {
	g := full()
	require.NoError(t, g.Validate())
	data, err := json.Marshal(g)
	require.NoError(t, err)
	back, err := Parse(data)
	require.NoError(t, err)
	assert.Equal(t, g.Digest(), back.Digest())
	assert.Empty(t, Diff(g, back))
	assert.Contains(t, string(data), `"baseDelay":"50ms"`)
	assert.Contains(t, string(data), `"value":{"status":"queued"}`, "the static value is stored compact")

	// The digest is of canonical JSON: indentation and key order in the file do not matter.
	indented, err := json.MarshalIndent(g, "", "  ")
	require.NoError(t, err)
	again, err := Parse(indented)
	require.NoError(t, err)
	assert.Equal(t, g.Digest(), again.Digest())
	assert.Regexp(t, `^sha256:[0-9a-f]{64}$`, g.Digest())

	// Any change changes the digest.
	c := g.Clone()
	c.Retry.MaxAttempts++
	assert.NotEqual(t, g.Digest(), c.Digest())
	assert.Equal(t, 4, g.Retry.MaxAttempts, "Clone is deep")
}

func TestDecodeFillsDefaultsAndLeavesTimeoutsOff(t *testing.T) {
	g, err := Parse([]byte(`{"schemaVersion":1,"module":"m","genes":{"retry":{"maxAttempts":5},"timeout":{"overall":"2s"}}}`))
	require.NoError(t, err)
	assert.Equal(t, 5, g.Retry.MaxAttempts)
	assert.Equal(t, DefaultGene(GeneRetry).(*Retry).BaseDelay, g.Retry.BaseDelay)
	assert.Equal(t, time.Duration(0), g.Timeout.PerAttempt, "a timeout left out is off")
	assert.Equal(t, 2*time.Second, g.Timeout.Overall)
}

func writeFile(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "checkout.genome.json")
	require.NoError(t, os.WriteFile(path, []byte(body), 0o644))
	return path
}

func TestLoadRejectsBadInputNamingTheField(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		want       []string
	}{
		{"negative delay", `{"schemaVersion":1,"module":"checkout","genes":{"retry":{"baseDelay":"-5ms"}}}`,
			[]string{"retry.baseDelay", "-5ms", "between 1ms and 30s"}},
		{"zero breaker threshold", `{"schemaVersion":1,"module":"checkout","genes":{"circuitBreaker":{"threshold":0}}}`,
			[]string{"circuitBreaker.threshold", "0", "between 1 and 1000"}},
		{"unknown gene", `{"schemaVersion":1,"module":"checkout","genes":{"retyr":{}}}`,
			[]string{"genes.retyr", "is not a gene", `"retry"`}},
		{"unknown parameter", `{"schemaVersion":1,"module":"checkout","genes":{"retry":{"attempts":3}}}`,
			[]string{"retry.attempts", "is not a parameter of gene retry", `"maxAttempts"`}},
		{"unknown field", `{"schemaVersion":1,"module":"checkout","gene":{}}`,
			[]string{"gene:", "is not a genome field", `"genes"`}},
		{"future schema version", `{"schemaVersion":2,"module":"checkout","genes":{}}`,
			[]string{"schemaVersion", "newer than this version of rafael reads (1)", "upgrade"}},
		{"missing schema version", `{"module":"checkout","genes":{}}`,
			[]string{"schemaVersion", "missing"}},
		{"duration as a number", `{"schemaVersion":1,"module":"checkout","genes":{"hedge":{"delay":50}}}`,
			[]string{"hedge.delay", `want a string such as "250ms"`}},
		{"bad choice", `{"schemaVersion":1,"module":"checkout","genes":{"circuitBreaker":{"mode":"sometimes"}}}`,
			[]string{"circuitBreaker.mode", `"consecutive", "rate"`}},
		{"bad module", `{"schemaVersion":1,"module":"../etc","genes":{}}`,
			[]string{"module", "not a module name"}},
		{"not JSON", `retry: 3`, []string{"not a JSON object"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := writeFile(t, tc.body)
			g, err := Load(path)
			require.Error(t, err)
			assert.Nil(t, g, "nothing half-decoded is returned")
			assert.ErrorIs(t, err, ErrInvalid)
			for _, w := range append(tc.want, path) {
				assert.Contains(t, err.Error(), w)
			}
		})
	}
}

func TestValidateReportsEveryViolationAtOnce(t *testing.T) {
	g := &Genome{
		Module:         "m",
		Retry:          &Retry{MaxAttempts: 0, BaseDelay: -time.Millisecond, MaxDelay: time.Millisecond, Multiplier: 0.5, Jitter: 2},
		CircuitBreaker: &CircuitBreaker{Threshold: 0, FailureRate: 0, Window: 0, OpenDuration: 0, HalfOpenProbes: 0},
		Timeout:        &Timeout{},
	}
	err := g.Validate()
	require.Error(t, err)
	var fields []string
	for _, e := range flatten(err) {
		var fe *FieldError
		require.True(t, errors.As(e, &fe), "%v is a FieldError", e)
		fields = append(fields, fe.Field)
	}
	assert.ElementsMatch(t, []string{
		"retry.maxAttempts", "retry.baseDelay", "retry.multiplier", "retry.jitter",
		"circuitBreaker.threshold", "circuitBreaker.failureRate", "circuitBreaker.window",
		"circuitBreaker.openDuration", "circuitBreaker.halfOpenProbes", "timeout",
	}, fields)

	_, err = Compile(g)
	require.Error(t, err, "an invalid genome does not compile")
	assert.Contains(t, err.Error(), "retry.baseDelay")
}

func TestNormalizeRepairsWhatLoadRejects(t *testing.T) {
	var g Genome
	require.NoError(t, json.Unmarshal([]byte(`{"schemaVersion":1,"module":"checkout","genes":{
		"retry":{"maxAttempts":50,"baseDelay":"-5ms","maxDelay":"0s","multiplier":0,"jitter":-1},
		"circuitBreaker":{"threshold":0,"failureRate":7,"openDuration":"-1s"},
		"timeout":{"perAttempt":"1us"},
		"fallback":{"kind":"error","errorClass":"Not A Class"}}}`), &g))
	require.Error(t, g.Validate())
	g.Normalize()
	require.NoError(t, g.Validate())
	assert.Equal(t, 20, g.Retry.MaxAttempts)
	assert.Equal(t, time.Millisecond, g.Retry.BaseDelay)
	assert.Equal(t, time.Millisecond, g.Retry.MaxDelay)
	assert.Equal(t, 1.0, g.Retry.Multiplier)
	assert.Equal(t, 0.0, g.Retry.Jitter)
	assert.Equal(t, 1, g.CircuitBreaker.Threshold)
	assert.Equal(t, 1.0, g.CircuitBreaker.FailureRate)
	assert.Equal(t, time.Millisecond, g.CircuitBreaker.OpenDuration)
	assert.Equal(t, time.Millisecond, g.Timeout.PerAttempt)
	assert.Equal(t, "unavailable", g.Fallback.ErrorClass)
	_, err := Compile(&g)
	require.NoError(t, err)
}

func TestDiff(t *testing.T) {
	a := full()
	b := a.Clone()
	b.Retry.MaxAttempts = 6
	b.Timeout.Overall = 3 * time.Second
	b.Hedge = nil
	b.Fallback = nil
	b.Remove(GeneBulkhead)
	a.Bulkhead = nil
	b.Add(GeneBulkhead)
	d := Diff(a, b)
	assert.Equal(t, strings.Join([]string{
		`- fallback {kind static}`,
		`+ bulkhead {maxConcurrent 16, maxWait 0s}`,
		`timeout.overall: 2s → 3s`,
		`retry.maxAttempts: 4 → 6`,
		`- hedge {delay 80ms, maxHedges 2}`,
	}, "\n"), d.String())
	assert.Equal(t, 4.0, d[3].Old)
	assert.Equal(t, 6.0, d[3].New)
	assert.Equal(t, "no change", Diff(a, a).String())
}

func TestParamsCatalogue(t *testing.T) {
	g := &Genome{Module: "m"}
	for _, k := range Catalogue() {
		g.Add(k)
	}
	require.NoError(t, g.Validate(), "every default gene is valid")
	seen := map[string]bool{}
	for _, p := range Params() {
		assert.False(t, seen[p.Path()], "duplicate %s", p.Path())
		seen[p.Path()] = true
		v, ok := g.Value(p)
		require.True(t, ok)
		assert.True(t, p.inBounds(v), "default %s = %s in bounds", p.Path(), p.Format(v))
		assert.LessOrEqual(t, p.Min, p.Max)
	}
	assert.Len(t, ParamsOf(GeneRetry), 6)
	_, ok := (&Genome{}).Value(ParamsOf(GeneRetry)[0])
	assert.False(t, ok, "no value without the gene")
	k, err := ParseGeneKind("circuitBreaker")
	require.NoError(t, err)
	assert.Equal(t, GeneCircuitBreaker, k)
	_, err = ParseGeneKind("nope")
	assert.ErrorContains(t, err, `unknown gene "nope"`)
}

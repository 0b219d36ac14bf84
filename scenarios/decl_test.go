package scenarios_test

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/rafaelabs/rafael/faults"
	"github.com/rafaelabs/rafael/scenarios"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// proxyLike is a target of a network proxy's capabilities: every fault but
// an error, which only an in-process hook can return.
type proxyLike struct{ name string }

func (p proxyLike) Name() string                       { return p.name }
func (p proxyLike) Supports(k faults.Kind) bool        { return k != faults.KindError }
func (p proxyLike) Apply(faults.Fault) (func(), error) { return func() {}, nil }

func TestADeclRoundTripsThroughJSONAndBuild(t *testing.T) {
	db, cache := faults.NewHook("postgres", 1), faults.NewHook("cache", 1)
	threats := []scenarios.Threat{
		scenarios.Latency(cache, 300*time.Millisecond, scenarios.Jitter(50*time.Millisecond), scenarios.InjectFor(2*time.Second)),
		scenarios.DBOutage(db, 2*time.Second, scenarios.RecoverFor(3*time.Second)),
		scenarios.Flood(16, 400, scenarios.InjectFor(2*time.Second)),
		scenarios.MemoryPressure(64<<20, scenarios.Steady(500*time.Millisecond)),
		scenarios.ErrorRate(db, 0.2, scenarios.InjectFor(3*time.Second)),
		scenarios.Cascade(cache, db, 400*time.Millisecond),
		scenarios.Latency(db, 100*time.Millisecond, scenarios.WithSeverity(scenarios.Critical)),
		scenarios.DBOutage(db, 4*time.Second).AtMost(),
	}
	for _, th := range threats {
		t.Run(th.Name, func(t *testing.T) {
			d, ok := th.Decl()
			require.True(t, ok, "%v has a data form", th)
			data, err := json.Marshal(d)
			require.NoError(t, err)
			var back scenarios.Decl
			require.NoError(t, json.Unmarshal(data, &back), "%s", data)
			assert.Equal(t, d, back, "%s", data)
			built, err := scenarios.Build(back, cache, db)
			require.NoError(t, err)
			assert.Equal(t, th.String(), built.String())
			assert.Equal(t, th.Phases(), built.Phases())
			assert.Equal(t, th.Steps, built.Steps)
			assert.Equal(t, th.Flood, built.Flood)
			assert.Equal(t, th.Ballast, built.Ballast)
		})
	}
}

func TestAThreatWithoutADataFormSaysSo(t *testing.T) {
	db := faults.NewHook("postgres", 1)
	for _, th := range []scenarios.Threat{
		scenarios.Compose("custom", scenarios.High, time.Second, scenarios.Step{Target: db, Fault: faults.Hang{}}),
		scenarios.Together(scenarios.DBOutage(db, time.Second), scenarios.Flood(8, 100)),
		scenarios.DBOutage(db, time.Second).Timed(),
	} {
		_, ok := th.Decl()
		assert.False(t, ok, "%v", th)
	}
}

func TestBuildChoosesTheTargetOfTheNameThatCanCarryTheFault(t *testing.T) {
	proxy, hook := proxyLike{"nats"}, faults.NewHook("nats", 1)
	outage, err := scenarios.Build(scenarios.Decl{Kind: "db-outage", Target: "nats", Outage: time.Second}, proxy, hook)
	require.NoError(t, err)
	assert.Equal(t, faults.Target(proxy), outage.Steps[0].Target, "the first target of the name that can go down")
	errs, err := scenarios.Build(scenarios.Decl{Kind: "error-rate", Target: "nats", Rate: 0.1}, proxy, hook)
	require.NoError(t, err)
	assert.Equal(t, faults.Target(hook), errs.Steps[0].Target, "only the hook can return errors")

	_, err = scenarios.Build(scenarios.Decl{Kind: "error-rate", Target: "nats", Rate: 0.1}, proxy)
	var un *scenarios.UnsupportedError
	require.ErrorAs(t, err, &un)
	assert.ErrorIs(t, err, faults.ErrUnsupported)
	assert.Equal(t, faults.KindError, un.Fault)
	assert.Contains(t, err.Error(), `error-rate on "nats"`)
	assert.Contains(t, err.Error(), "in-process hook")

	_, err = scenarios.Build(scenarios.Decl{Kind: "latency", Target: "redis", Delay: time.Second}, proxy, hook)
	require.Error(t, err)
	assert.False(t, errors.As(err, &un), "a name nothing answers to is not a capability")
	assert.Contains(t, err.Error(), `no target named "redis" (given: nats)`)

	first, err := scenarios.Build(scenarios.Decl{Kind: "cascade", Delay: time.Second}, faults.NewHook("cache", 1), hook)
	require.NoError(t, err)
	assert.Equal(t, "cache", first.Steps[0].Target.Name(), "no name: the first target")
	assert.Equal(t, "nats", first.Steps[1].Target.Name(), "no second: the last target")
}

func TestADeclIsDecodedStrictlyWithEveryProblemNamed(t *testing.T) {
	var d scenarios.Decl
	err := json.Unmarshal([]byte(`{"kind": "flood", "callers": 2000, "rate": 0, "delay": "3s", "colour": "red", "inject": "soon"}`), &d)
	require.Error(t, err)
	for _, want := range []string{"colour: unknown field", `inject: "soon" is not a duration`} {
		assert.Contains(t, err.Error(), want)
	}
	err = json.Unmarshal([]byte(`{"kind": "flood", "callers": 2000, "delay": "3s"}`), &d)
	require.Error(t, err)
	for _, want := range []string{"delay: not used by a flood threat", "rate: missing", "callers: 2000 is outside 1–1024"} {
		assert.Contains(t, err.Error(), want)
	}
	var de *scenarios.DeclError
	require.ErrorAs(t, err, &de)
	err = json.Unmarshal([]byte(`{"kind": "db-outage", "outage": "2s", "inject": "1s"}`), &d)
	assert.ErrorContains(t, err, "inject: a db-outage's inject phase is its outage")
	err = json.Unmarshal([]byte(`{"kind": "earthquake"}`), &d)
	assert.ErrorContains(t, err, `kind: unknown "earthquake": want one of cascade, db-outage, error-rate, flood, latency, memory-pressure`)
	assert.Equal(t, scenarios.Decl{}, d, "nothing decoded on an error")
	_, err = scenarios.Build(scenarios.Decl{Kind: "latency"}, faults.NewHook("x", 1))
	assert.ErrorContains(t, err, "delay: missing")
}

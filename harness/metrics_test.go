package harness

import (
	"errors"
	"testing"
	"time"

	"github.com/rafaelabs/rafael/evolve"
	"github.com/rafaelabs/rafael/faults"
	"github.com/rafaelabs/rafael/scenarios"
	"github.com/stretchr/testify/assert"
)

func TestRecoveryPeakAndErrors(t *testing.T) {
	th := scenarios.DBOutage(faults.NewHook("db", 1), 2*time.Second) // steady 1s, inject 2s, recover 2s: healed at 3s
	ms := time.Millisecond
	fail := errors.New("refused")
	ok := func(start, end time.Duration) sample { return sample{start: start, end: end, done: true} }
	bad := func(start, end time.Duration) sample { return sample{start: start, end: end, err: fail, done: true} }

	rec, d := recovery(th, []sample{ok(0, ms), bad(1500*ms, 1500*ms), ok(3100*ms, 3110*ms)})
	assert.True(t, rec)
	assert.Zero(t, d, "no failure once healed: recovered at once")

	rec, d = recovery(th, []sample{bad(3100*ms, 3100*ms), bad(3300*ms, 3300*ms), ok(3500*ms, 3520*ms), ok(4*time.Second, 4*time.Second)})
	assert.True(t, rec)
	assert.Equal(t, 520*ms, d, "the first success after the last failure ended at 3.52s")

	rec, d = recovery(th, []sample{ok(3100*ms, 3100*ms), bad(4900*ms, 4900*ms)})
	assert.False(t, rec, "the last request failed")
	assert.Equal(t, 2*time.Second, d)

	rec, _ = recovery(th, []sample{ok(3100*ms, 3100*ms), {start: 3200 * ms}})
	assert.False(t, rec, "a request that never returned is a failure")

	assert.Equal(t, 2, peakInFlight([]sample{ok(0, 10*ms), ok(5*ms, 20*ms), ok(10*ms, 30*ms), ok(30*ms, 40*ms)}),
		"a request ending as another starts does not overlap it")
	assert.Equal(t, 3, peakInFlight([]sample{{start: 0}, {start: ms}, ok(2*ms, 3*ms)}), "hung requests stay in flight")

	errs := topErrors([]sample{bad(0, 0), bad(0, 0), {start: 0}, sample{err: errors.New("x"), done: true}}, 2)
	assert.Equal(t, []string{"2× refused", "1× never returned, even after its context was cancelled"}, errs)

	m := measure(th, raw{samples: []sample{ok(0, 10*ms), bad(1500*ms, 1500*ms), ok(3100*ms, 3300*ms)}, attempts: 6, calls: 3}, evolve.Weights{}, nil)
	assert.Equal(t, 3, m.Requests)
	assert.Equal(t, 2, m.Succeeded)
	assert.InDelta(t, 2.0/3, m.SuccessRate, 1e-9)
	assert.Equal(t, 200*ms, m.Max)
	assert.Equal(t, 200*ms, m.P99, "percentiles never exceed the exact maximum")
	assert.InDelta(t, 10*ms, m.P50, float64(ms/100), "p50 to within HdrHistogram's three digits")
	assert.Equal(t, 2.0, m.AttemptsPerRequest)
	assert.InDelta(t, 0.6*(2.0/3)+0.2*1+0.2*0.5, m.Fitness, 1e-9)
}

func TestScaled(t *testing.T) {
	db := faults.NewHook("db", 1)
	th := scaled(scenarios.Cascade(db, faults.NewHook("cache", 2), time.Second), 0.1)
	assert.Equal(t, 100*time.Millisecond, th.Steady)
	assert.Equal(t, 500*time.Millisecond, th.Inject)
	assert.Equal(t, 250*time.Millisecond, th.Steps[1].At)
	assert.Equal(t, faults.Latency{Delay: time.Second}, th.Steps[0].Fault, "fault parameters are not scaled")
	assert.NoError(t, th.Validate())
	fl := scaled(scenarios.Flood(8, 100), 0.5)
	assert.Equal(t, 2500*time.Millisecond, fl.Flood.Duration)
}

func TestSettingsFromFlagsAndEnvironment(t *testing.T) {
	env := map[string]string{"RAFAEL_SEED": "7", "RAFAEL_TIER": "wire", "RAFAEL_TRIALS": "4", "RAFAEL_UPDATE": "true", "RAFAEL_OUT": "/tmp/r", "RAFAEL_DIR": "/tmp/g"}
	s, err := readSettings(func(k string) string { return env[k] })
	assert.NoError(t, err)
	assert.Equal(t, settings{seed: 7, tier: Wire, trials: 4, update: true, out: "/tmp/r", dir: "/tmp/g",
		sources: []string{"RAFAEL_SEED=7", "RAFAEL_TIER=wire", "RAFAEL_TRIALS=4", "RAFAEL_UPDATE=true", "RAFAEL_OUT=/tmp/r", "RAFAEL_DIR=/tmp/g"}}, s)

	old := *flagSeed
	t.Cleanup(func() { *flagSeed = old })
	*flagSeed = "9"
	s, err = readSettings(func(k string) string { return env[k] })
	assert.NoError(t, err)
	assert.Equal(t, uint64(9), s.seed, "the flag wins over the environment")

	*flagSeed = ""
	_, err = readSettings(func(k string) string {
		return map[string]string{"RAFAEL_SEED": "x", "RAFAEL_TIER": "cloud", "RAFAEL_TRIALS": "0", "RAFAEL_UPDATE": "maybe"}[k]
	})
	for _, want := range []string{`rafael.seed "x"`, `rafael.tier "cloud"`, `rafael.trials "0"`, `rafael.update "maybe"`} {
		assert.ErrorContains(t, err, want)
	}
	b := &optionalBool{}
	assert.True(t, b.IsBoolFlag())
	assert.NoError(t, b.Set("true"))
	assert.Error(t, b.Set("nope"))
}

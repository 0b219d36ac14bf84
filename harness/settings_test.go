package harness

import (
	"testing"
	"time"

	"github.com/rafaelabs/rafael/faults"
	"github.com/rafaelabs/rafael/scenarios"
	"github.com/stretchr/testify/assert"
)

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

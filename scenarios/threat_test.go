package scenarios

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/rafaelabs/rafael/faults"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	"pgregory.net/rapid"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestNamedThreats(t *testing.T) {
	db := faults.NewHook("db", 1)
	cache := faults.NewHook("cache", 2)
	for _, tc := range []struct {
		th       Threat
		str      string
		sev      Severity
		inject   time.Duration
		nTargets int
	}{
		{DBOutage(db, 2*time.Second), "db-outage(outage=2s) [high]", High, 2 * time.Second, 1},
		{DBOutage(db, 4*time.Second), "db-outage(outage=4s) [critical]", Critical, 4 * time.Second, 1},
		{Latency(db, 300*time.Millisecond, Jitter(100*time.Millisecond)), "latency(delay=300ms) [medium]", Medium, 5 * time.Second, 1},
		{Latency(db, time.Second, InjectFor(3*time.Second)), "latency(delay=1s) [high]", High, 3 * time.Second, 1},
		{Flood(64, 2000), "flood(callers=64, rate=2000) [critical]", Critical, 5 * time.Second, 0},
		{MemoryPressure(64 << 20), "memory-pressure(bytes=64MiB) [medium]", Medium, 5 * time.Second, 0},
		{Cascade(cache, db, time.Second, WithSeverity(High)), "cascade(delay=1s) [high]", High, 5 * time.Second, 2},
	} {
		t.Run(tc.th.Name, func(t *testing.T) {
			require.NoError(t, tc.th.Validate())
			assert.Equal(t, tc.str, tc.th.String())
			assert.Equal(t, tc.sev, tc.th.Severity)
			assert.Equal(t, tc.inject, tc.th.Inject)
			assert.Len(t, tc.th.Targets(), tc.nTargets)
			assert.Equal(t, []Phase{
				{"steady", 0, time.Second},
				{"inject", time.Second, time.Second + tc.inject},
				{"recover", time.Second + tc.inject, 3*time.Second + tc.inject},
			}, tc.th.Phases())
		})
	}
	f := Flood(64, 2000).Flood
	require.NotNil(t, f)
	assert.Equal(t, faults.Load{Concurrency: 64, Rate: 2000, Duration: 5 * time.Second}, *f)
	assert.Equal(t, 1.0, Medium.Weight())
	assert.Equal(t, 3.0, Critical.Weight())
}

func TestValidateReportsEveryProblem(t *testing.T) {
	err := Threat{}.Validate()
	require.Error(t, err)
	for _, want := range []string{"Name is empty", "Severity", "injects nothing"} {
		assert.ErrorContains(t, err, want)
	}
	assert.ErrorIs(t, err, ErrInvalid)

	plain := faults.NewHook("db", 1) // no byte-level kinds
	for name, tc := range map[string]struct {
		th   Threat
		want string
	}{
		"negative delay": {Latency(plain, -time.Second), "latency.Delay = -1s is negative"},
		"no target":      {DBOutage(nil, time.Second), "step 0 has no target"},
		"unsupported":    {Compose("partition", High, time.Second, Step{Target: plain, Fault: faults.Blackhole{}}), `target "db" cannot inject blackhole`},
		"outside inject": {Threat{Name: "late", Severity: High, Inject: time.Second, Steps: []Step{{Target: plain, Fault: faults.Down{}, At: 2 * time.Second}}}, "outside the inject phase"},
		"negative phase": {Threat{Name: "x", Severity: High, Recover: -time.Second, Ballast: 1}, "the recover phase lasts -1s"},
		"bad flood":      {Threat{Name: "flood", Severity: High, Flood: &faults.Load{}}, "flood:"},
	} {
		t.Run(name, func(t *testing.T) {
			err := tc.th.Validate()
			assert.ErrorIs(t, err, ErrInvalid)
			assert.ErrorContains(t, err, tc.want)
		})
	}
}

// The outage happens in virtual time, at the offsets the threat declares.
func TestScheduleAppliesStepsAtTheirOffsets(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		first := faults.NewHook("api", 1)
		second := faults.NewHook("db", 2)
		th := Cascade(first, second, 200*time.Millisecond, InjectFor(4*time.Second))
		require.NoError(t, th.Validate())
		start := time.Now()
		stop := th.Schedule(func(err error) { t.Errorf("schedule: %v", err) })
		defer stop()

		probe := func(h *faults.Hook) (time.Duration, error) {
			t0 := time.Now()
			err := h.Before(t.Context())
			return time.Since(t0), err
		}
		time.Sleep(time.Millisecond)
		d, err := probe(first)
		assert.NoError(t, err)
		assert.Equal(t, 200*time.Millisecond, d, "the first dependency is slow from the start")
		_, err = probe(second)
		assert.NoError(t, err, "the second is up until halfway")

		time.Sleep(2*time.Second + time.Millisecond - time.Since(start))
		_, err = probe(second)
		assert.ErrorIs(t, err, faults.ErrRefused, "down from halfway through the inject phase")
		time.Sleep(4*time.Second + time.Millisecond - time.Since(start))
		_, err = probe(second)
		assert.NoError(t, err, "back at the end of the inject phase")
		d, err = probe(first)
		assert.NoError(t, err)
		assert.Zero(t, d, "the latency ended with the inject phase")
	})
}

func TestStopRemovesEverythingAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		db := faults.NewHook("db", 1)
		stop := DBOutage(db, 5*time.Second).Schedule(nil)
		time.Sleep(time.Second)
		assert.ErrorIs(t, db.Before(t.Context()), faults.ErrRefused)
		stop()
		stop()
		assert.NoError(t, db.Before(t.Context()))
	})
}

func TestGeneratorStaysWithinDeclaredRanges(t *testing.T) {
	db := faults.NewHook("db", 1)
	for _, base := range []Threat{DBOutage(db, 2*time.Second), Latency(db, 300*time.Millisecond), Flood(32, 500), MemoryPressure(32 << 20), Cascade(db, db, time.Second)} {
		t.Run(base.Name, func(t *testing.T) {
			rapid.Check(t, func(rt *rapid.T) {
				th := base.Generator().Draw(rt, "threat")
				if err := th.Validate(); err != nil {
					rt.Fatalf("generated %v is invalid: %v", th, err)
				}
				for _, p := range th.Params() {
					if p.Value < p.Min || p.Value > p.Max {
						rt.Fatalf("%s = %v outside [%v, %v]", p.Name, p.Value, p.Min, p.Max)
					}
				}
				if th.Name != base.Name || th.Steady != base.Steady || th.Recover != base.Recover {
					rt.Fatalf("generation changed what is not a parameter: %v", th)
				}
			})
		})
	}
	composed := Compose("mine", High, time.Second, Step{Target: db, Fault: faults.Down{}})
	rapid.Check(t, func(rt *rapid.T) {
		assert.Equal(t, composed.String(), composed.Generator().Draw(rt, "t").String())
	})
}

// recordingTB is a rapid.TB that captures a failure instead of failing the
// test, as evolution does while it searches.
type recordingTB struct {
	testing.TB
	mu     sync.Mutex
	failed bool
	logs   []string
}

func (r *recordingTB) fail() { r.mu.Lock(); r.failed = true; r.mu.Unlock() }
func (r *recordingTB) Logf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.logs = append(r.logs, strings.TrimSpace(format))
}
func (r *recordingTB) Log(args ...any)                   {}
func (r *recordingTB) Errorf(format string, args ...any) { r.fail() }
func (r *recordingTB) Error(args ...any)                 { r.fail() }
func (r *recordingTB) Fatalf(format string, args ...any) { r.fail(); panic(errStop) }
func (r *recordingTB) Fatal(args ...any)                 { r.fail(); panic(errStop) }
func (r *recordingTB) FailNow()                          { r.fail(); panic(errStop) }
func (r *recordingTB) Fail()                             { r.fail() }
func (r *recordingTB) Failed() bool                      { r.mu.Lock(); defer r.mu.Unlock(); return r.failed }

var errStop = errors.New("stop")

// A property that breaks for outages of 1.2s or more shrinks to exactly
// 1.2s: the smallest threat that breaks it.
func TestGeneratorShrinksToTheSmallestBreakingThreat(t *testing.T) {
	db := faults.NewHook("db", 1)
	base := DBOutage(db, 2*time.Second)
	rec := &recordingTB{TB: t}
	var smallest time.Duration
	func() {
		defer func() {
			if r := recover(); r != nil && r != errStop {
				panic(r)
			}
		}()
		rapid.Check(rec, func(rt *rapid.T) {
			th := base.Generator().Draw(rt, "threat")
			if th.Inject >= 1200*time.Millisecond {
				smallest = th.Inject
				rt.Fatalf("survives no outage of %v", th.Inject)
			}
		})
	}()
	require.True(t, rec.Failed(), "the property fails")
	assert.Equal(t, 1200*time.Millisecond, smallest, "the last failing case rapid ran is the shrunk one")
}

func TestScheduleReportsApplyErrors(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := faults.NewHook("db", 1)
		bad := Compose("bad", High, time.Second, Step{Target: h, Fault: faults.Latency{Delay: -1}})
		got := make(chan error, 1)
		stop := bad.Schedule(func(err error) { got <- err })
		defer stop()
		assert.ErrorIs(t, <-got, faults.ErrInvalid, "reported at the step's time")
	})
}

func TestAtMostCapsTheGeneratorAtTheDeclaredThreat(t *testing.T) {
	db := faults.NewHook("db", 1)
	th := DBOutage(db, 2*time.Second).AtMost()
	assert.Equal(t, "db-outage(outage=2s) [high]", th.String())
	p := th.Params()[0]
	assert.Equal(t, float64(500*time.Millisecond), p.Min)
	assert.Equal(t, float64(2*time.Second), p.Max)
	rapid.Check(t, func(rt *rapid.T) {
		v := th.Generator().Draw(rt, "threat")
		assert.LessOrEqual(rt, v.Inject, 2*time.Second)
		assert.GreaterOrEqual(rt, v.Inject, 500*time.Millisecond)
		assert.Equal(rt, float64(2*time.Second), v.Params()[0].Max, "drawn threats keep the cap")
	})
	small := th.WithValues([]float64{float64(700 * time.Millisecond)})
	assert.Equal(t, 700*time.Millisecond, small.Inject)
	assert.Equal(t, "db-outage(outage=700ms) [high]", small.String())
	assert.Equal(t, 2*time.Second, th.WithValues([]float64{float64(time.Hour)}).Inject, "clamped to the cap")
	c := Compose("x", High, time.Second, Step{Target: db, Fault: faults.Down{}})
	assert.Equal(t, c.String(), c.AtMost().WithValues(nil).String())
}

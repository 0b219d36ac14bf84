package trial

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/rafaelabs/rafael/faults"
	"github.com/rafaelabs/rafael/genome"
	"github.com/rafaelabs/rafael/scenarios"
	"github.com/rafaelabs/rafael/slo"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// wireSLO is what the round trips judge their Results by: tight enough
// that a trial under an outage breaks it.
var wireSLO = slo.SLO{SuccessRate: 0.99, P99: 5 * time.Millisecond, RecoverWithin: 100 * time.Millisecond}

// roundTrip encodes r with encoding/json, decodes it into a Result and
// checks that the copy is r (errors by message) and answers as r does.
func roundTrip(t *testing.T, r Result) Result {
	t.Helper()
	b, err := json.Marshal(r)
	require.NoError(t, err)
	byPointer, err := json.Marshal(&r)
	require.NoError(t, err)
	require.Equal(t, string(b), string(byPointer), "a *Result encodes as its Result")

	var got Result
	require.NoError(t, json.Unmarshal(b, &got), "%s", b)
	if !reflect.DeepEqual(normalized(r), normalized(got)) {
		assert.Equal(t, normalized(r), normalized(got), "the decoded Result differs")
		t.FailNow()
	}
	assert.Equal(t, r.SetupErr == nil, got.SetupErr == nil)
	if r.SetupErr != nil {
		assert.Equal(t, r.SetupErr.Error(), got.SetupErr.Error())
	}
	assert.Equal(t, r.Timeline(20), got.Timeline(20))
	assert.Equal(t, r.Timeline(7), got.Timeline(7))
	assert.Equal(t, r.Violations(wireSLO), got.Violations(wireSLO))
	assert.Equal(t, r.Violations(slo.SLO{}), got.Violations(slo.SLO{}))
	vs, short, met := r.Outcome(wireSLO)
	gvs, gshort, gmet := got.Outcome(wireSLO)
	assert.Equal(t, vs, gvs)
	assert.Equal(t, short, gshort)
	assert.Equal(t, met, gmet)

	again, err := json.Marshal(got)
	require.NoError(t, err)
	assert.Equal(t, string(b), string(again), "the copy encodes as the original")
	return got
}

// nanMark stands for NaN in [normalized]: no Result of these tests holds it.
const nanMark = -math.MaxFloat64

// normalized is a copy of r that reflect.DeepEqual can compare with
// another: its errors are replaced with errors.New of their messages, and
// its NaNs with nanMark.
func normalized(r Result) Result {
	msg := func(err error) error {
		if err == nil {
			return nil
		}
		return errors.New(err.Error())
	}
	num := func(f float64) float64 {
		if math.IsNaN(f) {
			return nanMark
		}
		return f
	}
	nums := func(m map[string]float64) map[string]float64 {
		if m == nil {
			return nil
		}
		out := make(map[string]float64, len(m))
		for k, v := range m {
			out[k] = num(v)
		}
		return out
	}
	r.SetupErr = msg(r.SetupErr)
	if r.samples != nil {
		ss := make([]sample, len(r.samples))
		for i, s := range r.samples {
			s.err = msg(s.err)
			ss[i] = s
		}
		r.samples = ss
	}
	m := &r.Metrics
	m.SuccessRate, m.LoadAfter, m.AttemptsPerRequest, m.Fitness = num(m.SuccessRate), num(m.LoadAfter), num(m.AttemptsPerRequest), num(m.Fitness)
	m.Counts, m.Terms = nums(m.Counts), nums(m.Terms)
	return r
}

// Real trials come back whole: a trial under an outage with retries (its
// samples and attempts make the timeline) whose workload counted an
// infinity and a NaN, a trial whose genome did not compile (a setup
// error, no requests), and one whose workload deadlocked its bubble (a
// panic and a dump).
func TestResultRoundTripsRealTrials(t *testing.T) {
	db := faults.NewHook("db", 1)
	base := through(store(db))
	counting := func(ctx context.Context, p *genome.Policy) error {
		Count(ctx, "calls", 1)
		Count(ctx, "inf", math.Inf(1))
		Count(ctx, "nan", math.Inf(1))
		Count(ctx, "nan", math.Inf(-1))
		return base(ctx, p)
	}
	terms := []slo.Term{{Name: "calls", Weight: 1, Of: func(m slo.Metrics) float64 { return m.Counts["calls"] / 200 }}}
	th := scenarios.DBOutage(db, 2*time.Second)

	t.Run("outage", func(t *testing.T) {
		g := &genome.Genome{Module: "m", Retry: &genome.Retry{MaxAttempts: 3, BaseDelay: 10 * time.Millisecond, MaxDelay: 40 * time.Millisecond, Multiplier: 2}}
		res := InBubble(t, Config{Workload: counting, Requests: 200, Terms: terms}, th, g, 5)
		require.True(t, res.Finished)
		require.NotEmpty(t, res.samples)
		require.Greater(t, len(res.attemptAt), len(res.samples), "the retries show in the attempts")
		require.NotEmpty(t, res.Injections)
		require.NotEmpty(t, res.Failed)
		require.True(t, math.IsInf(res.Metrics.Counts["inf"], 1))
		require.True(t, math.IsNaN(res.Metrics.Counts["nan"]))
		require.NotEmpty(t, res.Violations(wireSLO))
		got := roundTrip(t, res)
		require.NotEmpty(t, got.Timeline(20).Points)
		assert.True(t, math.IsNaN(got.Metrics.Counts["nan"]))
		assert.True(t, math.IsInf(got.Metrics.Counts["inf"], 1))
		failing := 0
		for _, s := range got.samples {
			if s.err != nil {
				failing++
			}
		}
		assert.Positive(t, failing, "the failed requests' errors came back")
	})

	t.Run("setup error", func(t *testing.T) {
		g := resilient()
		g.CircuitBreaker = &genome.CircuitBreaker{Threshold: 3, OpenDuration: time.Second, HalfOpenProbes: 1, Window: 10, FailureRate: 2}
		res := InBubble(t, Config{Workload: base, Requests: 20}, th, g, 1)
		require.Error(t, res.SetupErr)
		require.Nil(t, res.samples)
		got := roundTrip(t, res)
		assert.Equal(t, res.SetupErr.Error(), got.SetupErr.Error())
		assert.Equal(t, slo.Setup, got.Violations(wireSLO)[0].Kind)
	})

	t.Run("deadlock", func(t *testing.T) {
		stuck := func(ctx context.Context, _ *genome.Policy) error {
			if db.Before(ctx) != nil {
				select {} // ignores ctx: synctest reports the deadlock
			}
			return nil
		}
		res := InBubble(t, Config{Workload: stuck, Requests: 30, Drain: time.Second}, scenarios.DBOutage(db, time.Second), &genome.Genome{Module: "m"}, 1)
		require.NotEmpty(t, res.Panicked)
		require.NotEmpty(t, res.Dump)
		got := roundTrip(t, res)
		assert.Equal(t, res.Dump, got.Dump)
	})
}

// What encoding/json alone would lose comes back: NaN and ±Inf in every
// float of the metrics, -0, strings that are not UTF-8 (a dump cut inside
// a rune, a binary error), errors with empty messages, nil against empty
// slices and maps; and a hung trial.
func TestResultRoundTripsItsEdges(t *testing.T) {
	ms := time.Millisecond
	cut := strings.Repeat("é", 3)[:5] // ends inside a rune
	edges := Result{
		Metrics: slo.Metrics{Requests: 4, Succeeded: 1, Hung: 1, SuccessRate: math.Copysign(0, -1), LoadAfter: math.Inf(1),
			AttemptsPerRequest: math.Inf(-1), Fitness: math.NaN(), P99: 3 * ms,
			Errors: []string{"1× \xff\xfe binary", ""},
			Counts: map[string]float64{"nan": math.NaN(), "+inf": math.Inf(1), "-inf": math.Inf(-1), "bad\xffkey": 1, "tiny": 5e-324, "big": math.MaxFloat64},
			Terms:  map[string]float64{}},
		Finished:   true,
		Panicked:   "deadlock: " + cut,
		Dump:       cut,
		SetupErr:   errors.New("memory pressure: \xc3"),
		Injections: []Injection{{Target: "db", Fault: "error", Applied: true, At: ms, For: 2 * ms, Touched: 3, Unit: "calls", Detail: "\x00<&>\u2028"}, {}},
		Succeeded:  []time.Duration{},
		samples: []sample{
			{start: 0, end: ms, done: true},
			{start: ms, end: 2 * ms, err: errors.New(""), done: true},
			{start: 2 * ms, end: 2 * ms, err: errors.New("refused \xff"), done: true},
			{start: 3 * ms},
		},
		attemptAt: []time.Duration{0, ms, ms, 2 * ms, 99 * ms},
		steady:    ms, inject: 2 * ms, recover: 3 * ms,
	}
	got := roundTrip(t, edges)
	assert.Equal(t, math.Float64bits(math.Copysign(0, -1)), math.Float64bits(got.Metrics.SuccessRate), "-0 stays -0")
	assert.True(t, math.IsNaN(got.Metrics.Fitness))
	assert.True(t, math.IsNaN(got.Metrics.Counts["nan"]))
	assert.NotNil(t, got.samples[1].err, "an error with no message is still an error")
	assert.Nil(t, got.samples[0].err)
	assert.NotNil(t, got.Succeeded, "empty, not nil")
	assert.Nil(t, got.Failed)
	assert.NotNil(t, got.Metrics.Terms)
	assert.Equal(t, []slo.Violation{
		{Kind: slo.Aborted, Detail: "synctest: deadlock: " + cut},
		{Kind: slo.Setup, Detail: "memory pressure: \xc3"},
	}, got.Violations(wireSLO)[:2])

	hung := Result{Hung: true, Watchdog: 20 * time.Second, Dump: "goroutine 7 [chan receive, synctest bubble 3]:\n…"}
	got = roundTrip(t, hung)
	assert.Contains(t, got.Violations(wireSLO)[0].Detail, "still running after 20s of real time")
	roundTrip(t, Result{})

	b, err := json.Marshal(edges)
	require.NoError(t, err)
	assert.Contains(t, string(b), `"fitness":"NaN"`)
	assert.Contains(t, string(b), `"loadAfter":"+Inf"`)
	assert.Contains(t, string(b), `{"base64":`, "a string that is not UTF-8 travels as its bytes")
}

// Every field of a Result comes back, the unexported ones and any added
// later included: each leaf of a Result filled by reflection, with values
// that differ from field to field (so that two fields swapped show), and
// each bool both ways.
func TestResultRoundTripsEveryField(t *testing.T) {
	for parity := range 2 {
		var r Result
		n := parity
		fill(reflect.ValueOf(&r).Elem(), &n)
		require.NotZero(t, r.steady)
		require.NotEmpty(t, r.samples)
		require.Error(t, r.samples[0].err)
		require.NotEmpty(t, r.Metrics.Counts)
		roundTrip(t, r)
	}
}

// fill sets every leaf of v, exported or not, to a value of its own: *n
// counts the leaves.
func fill(v reflect.Value, n *int) {
	if !v.CanSet() {
		v = reflect.NewAt(v.Type(), unsafe.Pointer(v.UnsafeAddr())).Elem()
	}
	*n++
	if v.Type() == reflect.TypeFor[error]() {
		v.Set(reflect.ValueOf(fmt.Errorf("error %d", *n)))
		return
	}
	switch v.Kind() {
	case reflect.Bool:
		v.SetBool(*n%2 == 0)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(int64(*n) * 1_000_003)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(uint64(*n) * 1_000_003)
	case reflect.Float32, reflect.Float64:
		v.SetFloat(float64(*n) + 0.25)
	case reflect.String:
		v.SetString(fmt.Sprintf("string %d", *n))
	case reflect.Struct:
		for i := range v.NumField() {
			fill(v.Field(i), n)
		}
	case reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 3, 3))
		for i := range 3 {
			fill(v.Index(i), n)
		}
	case reflect.Map:
		v.Set(reflect.MakeMap(v.Type()))
		for range 3 {
			k, e := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
			fill(k, n)
			fill(e, n)
			v.SetMapIndex(k, e)
		}
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fill(v.Elem(), n)
	default:
		panic(fmt.Sprintf("fill: a %s field: teach fill, and the wire, about it", v.Type()))
	}
}

// A field the decoder does not know, at any depth, or a value it cannot
// read, is an error that says so and leaves the Result as it was.
func TestResultDecodeRejectsWhatItDoesNotKnow(t *testing.T) {
	valid, err := json.Marshal(Result{Finished: true, Metrics: slo.Metrics{Counts: map[string]float64{"a": 1}},
		Injections: []Injection{{Target: "db"}}, samples: []sample{{start: time.Millisecond, done: true}}})
	require.NoError(t, err)
	with := func(old, new string) string {
		require.Contains(t, string(valid), old)
		return strings.Replace(string(valid), old, new, 1)
	}
	for _, c := range []struct {
		name, data, want string
	}{
		{"top level", with(`"finished":true`, `"finished":true,"bogus":1`), `unknown field "bogus"`},
		{"in the metrics", with(`"requests":0`, `"requests":0,"p42":7`), `unknown field "p42"`},
		{"in a sample", with(`"done":true`, `"done":true,"retried":true`), `unknown field "retried"`},
		{"in an injection", with(`"target":"db"`, `"target":"db","region":"eu"`), `unknown field "region"`},
		{"in a count", with(`"name":"a"`, `"name":"a","unit":"ms"`), `unknown field "unit"`},
		{"in a string's bytes", with(`"panicked":""`, `"panicked":{"base64":"/w==","hex":"ff"}`), `unknown field "hex"`},
		{"a float that is no number", with(`"fitness":0`, `"fitness":"lots"`), `a float is "lots"`},
		{"a value of the wrong type", with(`"finished":true`, `"finished":"yes"`), `finished`},
		{"not an object", `[1]`, `cannot unmarshal array`},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := Result{Panicked: "untouched"}
			err := json.Unmarshal([]byte(c.data), &r)
			require.Error(t, err)
			t.Log(err)
			assert.True(t, strings.HasPrefix(err.Error(), "trial: result: "), "%v", err)
			assert.Contains(t, err.Error(), c.want)
			assert.Equal(t, Result{Panicked: "untouched"}, r, "a failed decode leaves the Result as it was")
		})
	}

	r := Result{Panicked: "untouched"}
	require.NoError(t, json.Unmarshal([]byte("null"), &r))
	assert.Equal(t, "untouched", r.Panicked, "null leaves the Result as it was")
	assert.ErrorContains(t, r.UnmarshalJSON([]byte(string(valid)+" {}")), "trial: result: more data after the result")
}

package trial

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/rafaelabs/rafael/slo"
)

// A Result crosses a process boundary as JSON (a child test process runs
// the trial, its parent judges it): [Result.MarshalJSON] and
// [Result.UnmarshalJSON] go through the mirror types below, whose json tags
// are explicit and which have no methods of Result's, so that the encoding
// neither recurses nor changes when Result gains a method.
//
// What encoding/json alone would lose is handled here:
//   - an error (SetupErr, a sample's error) is carried as its message, and
//     decoded as an error with that message; nil stays nil;
//   - a float may be NaN or ±Inf (a team's Count of +Inf, a fitness under
//     infinite weights), which encoding/json refuses: see [wireFloat];
//   - a string may not be valid UTF-8 (an error of a binary protocol, a
//     dump cut at 32 KiB inside a rune), which encoding/json would replace
//     with U+FFFD: see [wireString]; the keys of Metrics.Counts and
//     Metrics.Terms are such strings too, so those maps travel as lists;
//   - a nil slice or map stays nil and an empty one empty (null against []).
//
// Durations are integer nanoseconds.

// wireResult is a [Result] on the wire, its unexported fields included.
type wireResult struct {
	Metrics    wireMetrics     `json:"metrics"`
	Finished   bool            `json:"finished"`
	Hung       bool            `json:"hung"`
	Watchdog   time.Duration   `json:"watchdog"`
	Panicked   wireString      `json:"panicked"`
	Dump       wireString      `json:"dump"`
	SetupErr   *wireString     `json:"setupErr"` // the error's message; null: none
	Injections []wireInjection `json:"injections"`
	Succeeded  []time.Duration `json:"succeeded"`
	Failed     []time.Duration `json:"failed"`
	Samples    []wireSample    `json:"samples"`
	AttemptAt  []time.Duration `json:"attemptAt"`
	Steady     time.Duration   `json:"steady"`
	Inject     time.Duration   `json:"inject"`
	Recover    time.Duration   `json:"recover"`
}

// wireMetrics is an [slo.Metrics] on the wire: its fields, under slo's own
// json names, with floats that may be NaN or ±Inf and strings that may not
// be UTF-8.
type wireMetrics struct {
	Requests           int           `json:"requests"`
	Succeeded          int           `json:"succeeded"`
	Hung               int           `json:"hung"`
	SuccessRate        wireFloat     `json:"successRate"`
	P50                time.Duration `json:"p50"`
	P90                time.Duration `json:"p90"`
	P99                time.Duration `json:"p99"`
	Max                time.Duration `json:"max"`
	FailedP50          time.Duration `json:"failedP50"`
	FailedP99          time.Duration `json:"failedP99"`
	FailedMax          time.Duration `json:"failedMax"`
	Recovered          bool          `json:"recovered"`
	Recovery           time.Duration `json:"recovery"`
	Metastable         bool          `json:"metastable"`
	LoadAfter          wireFloat     `json:"loadAfter"`
	AttemptsPerRequest wireFloat     `json:"attemptsPerRequest"`
	PeakInFlight       int           `json:"peakInFlight"`
	PeakGoroutines     int           `json:"peakGoroutines"`
	FloodCalls         int64         `json:"floodCalls"`
	FloodErrors        int64         `json:"floodErrors"`
	Lag                time.Duration `json:"lag"`
	Errors             []wireString  `json:"errors"`
	Counts             []wireNamed   `json:"counts"` // by name; null: a nil map
	Terms              []wireNamed   `json:"terms"`  // by name; null: a nil map
	Fitness            wireFloat     `json:"fitness"`
}

// wireNamed is one entry of a map of floats by name.
type wireNamed struct {
	Name  wireString `json:"name"`
	Value wireFloat  `json:"value"`
}

// wireInjection is an [Injection] on the wire.
type wireInjection struct {
	Target  wireString    `json:"target"`
	Fault   wireString    `json:"fault"`
	Applied bool          `json:"applied"`
	At      time.Duration `json:"at"`
	For     time.Duration `json:"for"`
	Touched int64         `json:"touched"`
	Unit    wireString    `json:"unit"`
	Detail  wireString    `json:"detail"`
}

// wireSample is a [sample] on the wire.
type wireSample struct {
	Start time.Duration `json:"start"`
	End   time.Duration `json:"end"`
	Err   *wireString   `json:"err"` // the error's message; null: it returned nil
	Done  bool          `json:"done"`
}

// MarshalJSON encodes r whole, its unexported record included (every
// request's start, end and error, every attempt's start, the threat's
// phases), so that the Result [Result.UnmarshalJSON] decodes from it
// answers every method — Timeline, Violations, Outcome — as r does. Errors
// travel as their messages; floats that are NaN or ±Inf as the strings
// "NaN", "+Inf" and "-Inf"; strings that are not valid UTF-8 as
// {"base64": …}; durations as integer nanoseconds.
func (r Result) MarshalJSON() ([]byte, error) {
	w := wireResult{
		Metrics:    toWireMetrics(r.Metrics),
		Finished:   r.Finished,
		Hung:       r.Hung,
		Watchdog:   r.Watchdog,
		Panicked:   wireString(r.Panicked),
		Dump:       wireString(r.Dump),
		SetupErr:   toWireErr(r.SetupErr),
		Injections: convert(r.Injections, toWireInjection),
		Succeeded:  r.Succeeded,
		Failed:     r.Failed,
		Samples:    convert(r.samples, toWireSample),
		AttemptAt:  r.attemptAt,
		Steady:     r.steady,
		Inject:     r.inject,
		Recover:    r.recover,
	}
	b, err := json.Marshal(w)
	if err != nil {
		return nil, fmt.Errorf("trial: result: %w", err)
	}
	return b, nil
}

// UnmarshalJSON decodes into r a Result that [Result.MarshalJSON] encoded,
// replacing all of r. An error comes back as one whose Error() is the
// original's message (errors.Is and errors.As no longer see through it).
// A field it does not know, or a value of the wrong type, is an error
// starting "trial: result:" that says which; r is then left as it was.
// JSON null leaves r as it was.
func (r *Result) UnmarshalJSON(b []byte) error {
	if bytes.Equal(bytes.TrimSpace(b), []byte("null")) {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var w wireResult
	if err := dec.Decode(&w); err != nil {
		return fmt.Errorf("trial: result: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("trial: result: more data after the result")
	}
	errs := map[string]error{} // one error for each message
	*r = Result{
		Metrics:    w.Metrics.metrics(),
		Finished:   w.Finished,
		Hung:       w.Hung,
		Watchdog:   w.Watchdog,
		Panicked:   string(w.Panicked),
		Dump:       string(w.Dump),
		SetupErr:   fromWireErr(w.SetupErr, errs),
		Injections: convert(w.Injections, wireInjection.injection),
		Succeeded:  w.Succeeded,
		Failed:     w.Failed,
		samples:    convert(w.Samples, func(s wireSample) sample { return s.sample(errs) }),
		attemptAt:  w.AttemptAt,
		steady:     w.Steady,
		inject:     w.Inject,
		recover:    w.Recover,
	}
	return nil
}

func toWireMetrics(m slo.Metrics) wireMetrics {
	return wireMetrics{
		Requests:           m.Requests,
		Succeeded:          m.Succeeded,
		Hung:               m.Hung,
		SuccessRate:        wireFloat(m.SuccessRate),
		P50:                m.P50,
		P90:                m.P90,
		P99:                m.P99,
		Max:                m.Max,
		FailedP50:          m.FailedP50,
		FailedP99:          m.FailedP99,
		FailedMax:          m.FailedMax,
		Recovered:          m.Recovered,
		Recovery:           m.Recovery,
		Metastable:         m.Metastable,
		LoadAfter:          wireFloat(m.LoadAfter),
		AttemptsPerRequest: wireFloat(m.AttemptsPerRequest),
		PeakInFlight:       m.PeakInFlight,
		PeakGoroutines:     m.PeakGoroutines,
		FloodCalls:         m.FloodCalls,
		FloodErrors:        m.FloodErrors,
		Lag:                m.Lag,
		Errors:             convert(m.Errors, func(s string) wireString { return wireString(s) }),
		Counts:             toWireNamed(m.Counts),
		Terms:              toWireNamed(m.Terms),
		Fitness:            wireFloat(m.Fitness),
	}
}

func (w wireMetrics) metrics() slo.Metrics {
	return slo.Metrics{
		Requests:           w.Requests,
		Succeeded:          w.Succeeded,
		Hung:               w.Hung,
		SuccessRate:        float64(w.SuccessRate),
		P50:                w.P50,
		P90:                w.P90,
		P99:                w.P99,
		Max:                w.Max,
		FailedP50:          w.FailedP50,
		FailedP99:          w.FailedP99,
		FailedMax:          w.FailedMax,
		Recovered:          w.Recovered,
		Recovery:           w.Recovery,
		Metastable:         w.Metastable,
		LoadAfter:          float64(w.LoadAfter),
		AttemptsPerRequest: float64(w.AttemptsPerRequest),
		PeakInFlight:       w.PeakInFlight,
		PeakGoroutines:     w.PeakGoroutines,
		FloodCalls:         w.FloodCalls,
		FloodErrors:        w.FloodErrors,
		Lag:                w.Lag,
		Errors:             convert(w.Errors, func(s wireString) string { return string(s) }),
		Counts:             fromWireNamed(w.Counts),
		Terms:              fromWireNamed(w.Terms),
		Fitness:            float64(w.Fitness),
	}
}

// toWireNamed lists m by name; nil for a nil m.
func toWireNamed(m map[string]float64) []wireNamed {
	if m == nil {
		return nil
	}
	out := make([]wireNamed, 0, len(m))
	for k, v := range m {
		out = append(out, wireNamed{Name: wireString(k), Value: wireFloat(v)})
	}
	slices.SortFunc(out, func(a, b wireNamed) int { return strings.Compare(string(a.Name), string(b.Name)) })
	return out
}

// fromWireNamed is the map ns list; nil for a nil ns.
func fromWireNamed(ns []wireNamed) map[string]float64 {
	if ns == nil {
		return nil
	}
	m := make(map[string]float64, len(ns))
	for _, n := range ns {
		m[string(n.Name)] = float64(n.Value)
	}
	return m
}

func toWireInjection(in Injection) wireInjection {
	return wireInjection{Target: wireString(in.Target), Fault: wireString(in.Fault), Applied: in.Applied,
		At: in.At, For: in.For, Touched: in.Touched, Unit: wireString(in.Unit), Detail: wireString(in.Detail)}
}

func (w wireInjection) injection() Injection {
	return Injection{Target: string(w.Target), Fault: string(w.Fault), Applied: w.Applied,
		At: w.At, For: w.For, Touched: w.Touched, Unit: string(w.Unit), Detail: string(w.Detail)}
}

func toWireSample(s sample) wireSample {
	return wireSample{Start: s.start, End: s.end, Err: toWireErr(s.err), Done: s.done}
}

func (w wireSample) sample(errs map[string]error) sample {
	return sample{start: w.Start, end: w.End, err: fromWireErr(w.Err, errs), done: w.Done}
}

// toWireErr is err's message, nil for a nil err.
func toWireErr(err error) *wireString {
	if err == nil {
		return nil
	}
	s := wireString(err.Error())
	return &s
}

// fromWireErr is an error whose message is *s, nil for a nil s; errs keeps
// one error for each message.
func fromWireErr(s *wireString, errs map[string]error) error {
	if s == nil {
		return nil
	}
	err, ok := errs[string(*s)]
	if !ok {
		err = errors.New(string(*s))
		errs[string(*s)] = err
	}
	return err
}

// convert maps f over in; nil for a nil in, so that null and [] both
// survive the trip.
func convert[T, U any](in []T, f func(T) U) []U {
	if in == nil {
		return nil
	}
	out := make([]U, len(in))
	for i, v := range in {
		out[i] = f(v)
	}
	return out
}

// wireFloat is a float64 on the wire: a JSON number when it is finite
// (exactly: encoding/json writes the shortest form that parses back to the
// same float, -0 included), else the string "NaN", "+Inf" or "-Inf", which
// encoding/json would refuse to write.
type wireFloat float64

// MarshalJSON writes f as a number, or as "NaN", "+Inf" or "-Inf".
func (f wireFloat) MarshalJSON() ([]byte, error) {
	switch v := float64(f); {
	case math.IsNaN(v):
		return []byte(`"NaN"`), nil
	case math.IsInf(v, 1):
		return []byte(`"+Inf"`), nil
	case math.IsInf(v, -1):
		return []byte(`"-Inf"`), nil
	default:
		return json.Marshal(v)
	}
}

// UnmarshalJSON reads what MarshalJSON writes; null leaves f as it was.
func (f *wireFloat) UnmarshalJSON(b []byte) error {
	if bytes.Equal(b, []byte("null")) {
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		switch s {
		case "NaN":
			*f = wireFloat(math.NaN())
		case "+Inf":
			*f = wireFloat(math.Inf(1))
		case "-Inf":
			*f = wireFloat(math.Inf(-1))
		default:
			return fmt.Errorf("a float is %q: want a number, \"NaN\", \"+Inf\" or \"-Inf\"", s)
		}
		return nil
	}
	var v float64
	if err := json.Unmarshal(b, &v); err != nil {
		return fmt.Errorf("a float is %s: %w", b, err)
	}
	*f = wireFloat(v)
	return nil
}

// wireString is a string on the wire: a JSON string when it is valid UTF-8,
// else {"base64": its bytes}, where encoding/json would have replaced each
// invalid byte with U+FFFD.
type wireString string

// wireBytes is a [wireString] that is not valid UTF-8.
type wireBytes struct {
	Base64 []byte `json:"base64"`
}

// MarshalJSON writes s as a JSON string, or as {"base64": …}.
func (s wireString) MarshalJSON() ([]byte, error) {
	if utf8.ValidString(string(s)) {
		return json.Marshal(string(s))
	}
	return json.Marshal(wireBytes{Base64: []byte(s)})
}

// UnmarshalJSON reads what MarshalJSON writes; null leaves s as it was.
func (s *wireString) UnmarshalJSON(b []byte) error {
	if bytes.Equal(b, []byte("null")) {
		return nil
	}
	if len(b) > 0 && b[0] == '{' {
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		var w wireBytes
		if err := dec.Decode(&w); err != nil {
			return fmt.Errorf("a string's bytes: %w", err)
		}
		*s = wireString(w.Base64)
		return nil
	}
	var v string
	if err := json.Unmarshal(b, &v); err != nil {
		return fmt.Errorf("a string is %s: %w", b, err)
	}
	*s = wireString(v)
	return nil
}

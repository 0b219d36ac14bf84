package scenarios

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/rafaelabs/rafael/faults"
)

// Decl is a threat as data: what a file, a vault pattern or a report holds
// of it. Kind says which fields it takes; targets are named, not held, and
// [Build] resolves the names against the targets of a run. Its JSON form
// writes durations as strings:
//
//	{"kind": "db-outage", "target": "postgres", "outage": "2s"}
//	{"kind": "latency", "target": "redis", "delay": "300ms", "jitter": "50ms", "inject": "2s"}
//	{"kind": "flood", "callers": 16, "rate": 400, "inject": "2s"}
//	{"kind": "memory-pressure", "bytes": 67108864}
//	{"kind": "error-rate", "target": "nats", "rate": 0.2, "inject": "3s"}
//	{"kind": "cascade", "target": "cache", "second": "postgres", "delay": "400ms"}
//
// A zero field takes its default: the first target given, a cascade's
// second the last one, phases of 1s steady, 5s inject and 2s recover (a
// db-outage's inject phase is its outage), the severity the named
// constructor derives from the threat's size.
type Decl struct {
	Kind     string        // one of [DeclKinds]
	Target   string        // the name (faults.Target.Name) of the target the faults act on
	Second   string        // cascade: the target taken down halfway through
	Outage   time.Duration // db-outage: how long the target is down
	Delay    time.Duration // latency, cascade: the added delay
	Jitter   time.Duration // latency: ± this much, at most Delay
	Callers  int           // flood: extra concurrent callers
	Rate     float64       // flood: extra calls per second; error-rate: the fraction of calls that fail
	Bytes    int64         // memory-pressure: bytes held during the inject phase
	Steady   time.Duration // the steady phase; 0 means 1s
	Inject   time.Duration // the inject phase (not for db-outage); 0 means 5s
	Recover  time.Duration // the recover phase; 0 means 2s
	Severity Severity      // 0 means derived from the threat's size
}

// declKind says, for one kind, which JSON fields it takes besides kind and
// the phases, which it requires, and the fault each target must carry.
type declKind struct {
	takes, needs  []string
	first, second faults.Kind // the fault kinds the target and the second must support
	targets       int         // how many targets it acts on: 0, 1 or 2
	need          string      // what a run must give when no target supports first
}

var declKinds = map[string]declKind{
	"latency":         {takes: []string{"target", "delay", "jitter"}, needs: []string{"delay"}, first: faults.KindLatency, targets: 1, need: "a proxy or a hook in front of the dependency"},
	"db-outage":       {takes: []string{"target", "outage"}, needs: []string{"outage"}, first: faults.KindDown, targets: 1, need: "a proxy or a hook in front of the dependency"},
	"flood":           {takes: []string{"callers", "rate"}, needs: []string{"callers", "rate"}},
	"memory-pressure": {takes: []string{"bytes"}, needs: []string{"bytes"}},
	"error-rate":      {takes: []string{"target", "rate"}, needs: []string{"rate"}, first: faults.KindError, targets: 1, need: "an in-process hook around the client's calls (faults.NewHook with faults.FuncErr, Connector or RoundTripper): no network proxy can make a call fail with an error"},
	"cascade":         {takes: []string{"target", "second", "delay"}, needs: []string{"delay"}, first: faults.KindLatency, second: faults.KindDown, targets: 2, need: "a proxy or a hook in front of each dependency"},
}

// DeclKinds returns the kinds a [Decl] may have, sorted.
func DeclKinds() []string {
	return slices.Sorted(func(yield func(string) bool) {
		for k := range declKinds {
			if !yield(k) {
				return
			}
		}
	})
}

// DeclError is one problem of a [Decl]: the field (its JSON name, "delay")
// and what is wrong with it.
type DeclError struct {
	Field   string
	Problem string
}

func (e *DeclError) Error() string { return e.Field + ": " + e.Problem }

// Validate reports every problem of d, joined, each a [*DeclError]: an
// unknown kind, a field the kind does not take or needs and lacks, a value
// out of range.
func (d Decl) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, &DeclError{Field: field, Problem: fmt.Sprintf(format, args...)})
	}
	k, ok := declKinds[d.Kind]
	if !ok {
		if d.Kind == "" {
			bad("kind", "missing: want one of %s", strings.Join(DeclKinds(), ", "))
		} else {
			bad("kind", "unknown %q: want one of %s", d.Kind, strings.Join(DeclKinds(), ", "))
		}
		return errors.Join(errs...)
	}
	for _, f := range d.set() {
		if !slices.Contains(k.takes, f) && !slices.Contains(phaseFields, f) {
			bad(f, "not used by a %s threat (it takes %s)", d.Kind, strings.Join(append(slices.Clone(k.takes), phaseFields...), ", "))
		}
	}
	for _, f := range k.needs {
		if !slices.Contains(d.set(), f) {
			bad(f, "missing: a %s threat needs it", d.Kind)
		}
	}
	if d.Kind == "db-outage" && d.Inject != 0 {
		bad("inject", "a db-outage's inject phase is its outage: set outage")
	}
	span := func(field string, v, lo, hi time.Duration) {
		if v != 0 && (v < lo || v > hi) {
			bad(field, "%v is outside %v–%v", v, lo, hi)
		}
	}
	span("outage", d.Outage, time.Millisecond, time.Minute)
	span("delay", d.Delay, time.Millisecond, time.Minute)
	span("inject", d.Inject, time.Millisecond, time.Minute)
	span("steady", d.Steady, time.Millisecond, time.Minute)
	span("recover", d.Recover, time.Millisecond, time.Minute)
	if d.Jitter < 0 || d.Jitter > d.Delay {
		bad("jitter", "%v is outside 0–delay (%v)", d.Jitter, d.Delay)
	}
	switch d.Kind {
	case "flood":
		if d.Callers < 1 || d.Callers > 1024 {
			bad("callers", "%d is outside 1–1024", d.Callers)
		}
		if !(d.Rate >= 1 && d.Rate <= 100_000) {
			bad("rate", "%v is outside 1–100000 calls per second", d.Rate)
		}
	case "error-rate":
		if !(d.Rate > 0 && d.Rate <= 1) {
			bad("rate", "%v is outside (0, 1]: write 0.2 for 20 %% of calls failing", d.Rate)
		}
	case "memory-pressure":
		if d.Bytes < 1<<20 || d.Bytes > faults.MaxBallast {
			bad("bytes", "%d is outside 1MiB–%dGiB", d.Bytes, faults.MaxBallast>>30)
		}
	}
	if d.Severity > Critical {
		bad("severity", "%v: want medium, high or critical", d.Severity)
	}
	return errors.Join(errs...)
}

var phaseFields = []string{"steady", "inject", "recover", "severity"}

// set returns the JSON names of d's non-zero fields besides kind.
func (d Decl) set() []string {
	var s []string
	add := func(name string, nonzero bool) {
		if nonzero {
			s = append(s, name)
		}
	}
	add("target", d.Target != "")
	add("second", d.Second != "")
	add("outage", d.Outage != 0)
	add("delay", d.Delay != 0)
	add("jitter", d.Jitter != 0)
	add("callers", d.Callers != 0)
	add("rate", d.Rate != 0)
	add("bytes", d.Bytes != 0)
	add("steady", d.Steady != 0)
	add("inject", d.Inject != 0)
	add("recover", d.Recover != 0)
	add("severity", d.Severity != 0)
	return s
}

// UnsupportedError is [Build]'s error for a declared threat that no target
// given can carry: Need says what the run must give instead. It matches
// faults.ErrUnsupported.
type UnsupportedError struct {
	Decl   Decl
	Target string      // the target name the decl asked for
	Fault  faults.Kind // the fault kind no target of that name supports
	Need   string      // what to give instead
}

func (e *UnsupportedError) Error() string {
	return fmt.Sprintf("%s on %q: no target named %q can inject %s: it needs %s", e.Decl.Kind, e.Target, e.Target, e.Fault, e.Need)
}

// Unwrap returns faults.ErrUnsupported.
func (e *UnsupportedError) Unwrap() error { return faults.ErrUnsupported }

// Build returns the threat d declares, its faults acting on targets chosen
// by name among targets: for each fault, the first target whose Name is
// the declared one and which supports the fault's kind, so that a proxy
// and a hook of one name (a "nats" proxy for outages, a "nats" hook for
// errors) each carry what they can. A target name left empty means the
// first target given (a cascade's second: the last). A decl no target can
// carry is an [*UnsupportedError] naming what it needs; a target name
// nothing answers to, or an invalid decl, is an error naming the field.
func Build(d Decl, targets ...faults.Target) (Threat, error) {
	if err := d.Validate(); err != nil {
		return Threat{}, fmt.Errorf("scenarios: %s threat: %w", orKind(d.Kind), err)
	}
	k := declKinds[d.Kind]
	var first, second faults.Target
	if k.targets > 0 {
		var err error
		if first, err = pick(d, d.Target, 0, k.first, k.need, targets); err != nil {
			return Threat{}, err
		}
	}
	if k.targets > 1 {
		var err error
		if second, err = pick(d, d.Second, len(targets)-1, k.second, k.need, targets); err != nil {
			return Threat{}, err
		}
	}
	opts := d.options()
	var t Threat
	switch d.Kind {
	case "latency":
		if d.Jitter > 0 {
			opts = append(opts, Jitter(d.Jitter))
		}
		t = Latency(first, d.Delay, opts...)
	case "db-outage":
		t = DBOutage(first, d.Outage, opts...)
	case "flood":
		t = Flood(d.Callers, d.Rate, opts...)
	case "memory-pressure":
		t = MemoryPressure(d.Bytes, opts...)
	case "error-rate":
		t = ErrorRate(first, d.Rate, opts...)
	case "cascade":
		t = Cascade(first, second, d.Delay, opts...)
	}
	if err := t.Validate(); err != nil {
		return Threat{}, fmt.Errorf("scenarios: %s threat: %w", d.Kind, err)
	}
	return t, nil
}

func orKind(k string) string {
	if k == "" {
		return "a"
	}
	return fmt.Sprintf("%q", k)
}

// options are d's phases and severity as options of a named constructor.
func (d Decl) options() []Option {
	var opts []Option
	if d.Steady > 0 {
		opts = append(opts, Steady(d.Steady))
	}
	if d.Inject > 0 {
		opts = append(opts, InjectFor(d.Inject))
	}
	if d.Recover > 0 {
		opts = append(opts, RecoverFor(d.Recover))
	}
	if d.Severity != 0 {
		opts = append(opts, WithSeverity(d.Severity))
	}
	return opts
}

// pick returns the first target named name (targets[def]'s name when name
// is empty) that supports kind.
func pick(d Decl, name string, def int, kind faults.Kind, need string, targets []faults.Target) (faults.Target, error) {
	if len(targets) == 0 {
		return nil, fmt.Errorf("scenarios: %s threat: no target given: it acts on %s", d.Kind, need)
	}
	if name == "" {
		name = targets[def].Name()
	}
	var names []string
	named := false
	for _, t := range targets {
		if t.Name() != name {
			if !slices.Contains(names, t.Name()) {
				names = append(names, t.Name())
			}
			continue
		}
		named = true
		if t.Supports(kind) {
			return t, nil
		}
	}
	if !named {
		return nil, fmt.Errorf("scenarios: %s threat: no target named %q (given: %s)", d.Kind, name, strings.Join(names, ", "))
	}
	return nil, &UnsupportedError{Decl: d, Target: name, Fault: kind, Need: need}
}

// ParseSeverity returns the severity named s: "medium", "high" or
// "critical".
func ParseSeverity(s string) (Severity, error) {
	for sev := Medium; sev <= Critical; sev++ {
		if sev.String() == s {
			return sev, nil
		}
	}
	return 0, fmt.Errorf("unknown severity %q: want medium, high or critical", s)
}

// ErrorRate fails a fraction rate of target's calls with an error for the
// inject phase (faults.Error): a dependency that answers, but wrongly.
// Only in-process hooks can carry it. Generated rates range over 0.01–1.
// Severity: medium below 0.1, high below 0.5, critical above.
func ErrorRate(target faults.Target, rate float64, opts ...Option) Threat {
	s := settle(opts)
	return named([]Param{{Name: "rate", Min: 0.01, Max: 1, Value: rate}}, s,
		func(v []float64) Threat {
			sev := Medium
			switch {
			case v[0] >= 0.5:
				sev = Critical
			case v[0] >= 0.1:
				sev = High
			}
			return Threat{Name: "error-rate", Severity: sev, Inject: s.inject,
				Steps: []Step{{Target: target, Fault: faults.Error{Rate: v[0]}}}}
		})
}

// Decl returns t as data, and true, when t was built by a named
// constructor ([Latency], [DBOutage], [Flood], [MemoryPressure], [Cascade],
// [ErrorRate]) or [Build], possibly capped by [Threat.AtMost]: [Build] of
// the result with targets of the same names builds t again. A composed,
// combined or timed threat has no data form: it returns false.
func (t Threat) Decl() (Decl, bool) {
	names := make([]string, len(t.params))
	for i, p := range t.params {
		names[i] = p.Name
	}
	val := func(i int) float64 { return t.params[i].Value }
	target := func(i int) (string, bool) {
		if i >= len(t.Steps) || t.Steps[i].Target == nil {
			return "", false
		}
		return t.Steps[i].Target.Name(), true
	}
	d := Decl{Kind: t.Name}
	ok := true
	switch {
	case t.build == nil:
		return Decl{}, false
	case t.Name == "latency" && slices.Equal(names, []string{"delay"}) && len(t.Steps) == 1:
		d.Delay = time.Duration(val(0))
		if l, isLat := t.Steps[0].Fault.(faults.Latency); isLat {
			d.Jitter = l.Jitter
		}
		d.Target, ok = target(0)
	case t.Name == "db-outage" && slices.Equal(names, []string{"outage"}) && len(t.Steps) == 1:
		d.Outage = time.Duration(val(0))
		d.Target, ok = target(0)
	case t.Name == "flood" && slices.Equal(names, []string{"callers", "rate"}):
		d.Callers, d.Rate = int(val(0)), val(1)
	case t.Name == "memory-pressure" && slices.Equal(names, []string{"bytes"}):
		d.Bytes = int64(val(0))
	case t.Name == "error-rate" && slices.Equal(names, []string{"rate"}) && len(t.Steps) == 1:
		d.Rate = val(0)
		d.Target, ok = target(0)
	case t.Name == "cascade" && slices.Equal(names, []string{"delay"}) && len(t.Steps) == 2:
		d.Delay = time.Duration(val(0))
		var ok2 bool
		d.Target, ok = target(0)
		d.Second, ok2 = target(1)
		ok = ok && ok2
	default:
		return Decl{}, false
	}
	if !ok {
		return Decl{}, false
	}
	def := settle(nil)
	if t.Steady != def.steady {
		d.Steady = t.Steady
	}
	if t.Recover != def.recover {
		d.Recover = t.Recover
	}
	if t.Name != "db-outage" && t.Inject != def.inject {
		d.Inject = t.Inject
	}
	// The severity only where it is not the one the size gives.
	plain := d
	plain.Severity = 0
	if t.rebuildSeverity(plain) != t.Severity {
		d.Severity = t.Severity
	}
	return d, true
}

// rebuildSeverity is the severity a named constructor derives for d.
func (t Threat) rebuildSeverity(d Decl) Severity {
	targets := make([]faults.Target, 0, 2)
	for _, s := range t.Steps {
		targets = append(targets, s.Target)
	}
	b, err := Build(d, targets...)
	if err != nil {
		return 0
	}
	return b.Severity
}

// declFile is a Decl's JSON form.
type declFile struct {
	Kind     string  `json:"kind"`
	Target   string  `json:"target,omitempty"`
	Second   string  `json:"second,omitempty"`
	Outage   string  `json:"outage,omitempty"`
	Delay    string  `json:"delay,omitempty"`
	Jitter   string  `json:"jitter,omitempty"`
	Callers  int     `json:"callers,omitempty"`
	Rate     float64 `json:"rate,omitempty"`
	Bytes    int64   `json:"bytes,omitempty"`
	Steady   string  `json:"steady,omitempty"`
	Inject   string  `json:"inject,omitempty"`
	Recover  string  `json:"recover,omitempty"`
	Severity string  `json:"severity,omitempty"`
}

func durString(d time.Duration) string {
	if d == 0 {
		return ""
	}
	return d.String()
}

// MarshalJSON encodes d with durations as strings ("300ms") and zero
// fields left out.
func (d Decl) MarshalJSON() ([]byte, error) {
	f := declFile{Kind: d.Kind, Target: d.Target, Second: d.Second, Outage: durString(d.Outage), Delay: durString(d.Delay),
		Jitter: durString(d.Jitter), Callers: d.Callers, Rate: d.Rate, Bytes: d.Bytes,
		Steady: durString(d.Steady), Inject: durString(d.Inject), Recover: durString(d.Recover)}
	if d.Severity != 0 {
		f.Severity = d.Severity.String()
	}
	return json.Marshal(f)
}

// UnmarshalJSON decodes d strictly: an unknown field, a field of the wrong
// type, a duration that does not parse and every problem [Decl.Validate]
// finds are reported together, each a [*DeclError] naming its field.
func (d *Decl) UnmarshalJSON(data []byte) error {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(data, &m); err != nil || m == nil {
		return &DeclError{Field: "(threat)", Problem: "want a JSON object such as {\"kind\": \"latency\", \"delay\": \"300ms\"}, got " + strings.TrimSpace(string(data))}
	}
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, &DeclError{Field: field, Problem: fmt.Sprintf(format, args...)})
	}
	known := []string{"kind", "target", "second", "outage", "delay", "jitter", "callers", "rate", "bytes", "steady", "inject", "recover", "severity"}
	for _, k := range slices.Sorted(func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}) {
		if !slices.Contains(known, k) {
			bad(k, "unknown field: want one of %s", strings.Join(known, ", "))
		}
	}
	str := func(key string) string {
		raw, ok := m[key]
		if !ok {
			return ""
		}
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			bad(key, "want a string, got %s", bytes.TrimSpace(raw))
		}
		return s
	}
	durf := func(key string) time.Duration {
		s := str(key)
		if s == "" {
			return 0
		}
		v, err := time.ParseDuration(s)
		if err != nil {
			bad(key, "%q is not a duration: write it like \"300ms\" or \"2s\"", s)
		}
		return v
	}
	num := func(key string) float64 {
		raw, ok := m[key]
		if !ok {
			return 0
		}
		var f float64
		if err := json.Unmarshal(raw, &f); err != nil {
			bad(key, "want a number, got %s", bytes.TrimSpace(raw))
		}
		return f
	}
	whole := func(key string, limit float64) float64 {
		f := num(key)
		if f != math.Trunc(f) || math.Abs(f) > limit {
			bad(key, "%v is not a whole number", f)
			return 0
		}
		return f
	}
	out := Decl{Kind: str("kind"), Target: str("target"), Second: str("second"),
		Outage: durf("outage"), Delay: durf("delay"), Jitter: durf("jitter"),
		Callers: int(whole("callers", 1<<31)), Rate: num("rate"), Bytes: int64(whole("bytes", 1<<62)),
		Steady: durf("steady"), Inject: durf("inject"), Recover: durf("recover")}
	if s := str("severity"); s != "" {
		var err error
		if out.Severity, err = ParseSeverity(s); err != nil {
			bad("severity", "%v", err)
		}
	}
	// The checks of the values, but for fields that did not decode.
	failed := map[string]bool{}
	for _, e := range errs {
		failed[e.(*DeclError).Field] = true
	}
	if err := out.Validate(); err != nil {
		for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
			if !failed[e.(*DeclError).Field] {
				errs = append(errs, e)
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	*d = out
	return nil
}

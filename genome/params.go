package genome

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"time"
)

// ParamKind is the type of a gene parameter.
type ParamKind uint8

// The parameter kinds.
const (
	KindInt      ParamKind = iota // a count
	KindFloat                     // a ratio or a rate
	KindDuration                  // a time.Duration, in nanoseconds
	KindChoice                    // one of Param.Choices, by index
)

// Param describes one tunable parameter of a gene: its name, its type and its
// inclusive bounds. Evolution mutates genomes through these descriptors.
type Param struct {
	Gene     GeneKind
	Name     string    // the JSON name, such as "baseDelay"
	Kind     ParamKind // int, float, duration or choice
	Min, Max float64   // bounds in the base unit: a count, a ratio, nanoseconds, or a choice index
	ZeroOff  bool      // 0 is allowed too, and switches the parameter off
	Choices  []string  // the names of a choice parameter's values
	// Adaptive marks a parameter of the gene's adaptive form (a retry's
	// budget; a bulkhead's adaptive limit): at 0 (the first choice) the
	// gene is static, and the JSON leaves the parameter out, as genomes
	// written before it existed did, so their digests stay what they were.
	// The gene's first adaptive parameter is its switch (see
	// [AdaptiveSwitch]).
	Adaptive bool
}

// AdaptiveSwitch returns the parameter that switches gene k between its
// static and adaptive forms — retry.budget, bulkhead.limit — and false
// for a gene with no adaptive form.
func AdaptiveSwitch(k GeneKind) (Param, bool) {
	for _, d := range paramTable {
		if d.Gene == k && d.Adaptive {
			return d.Param, true
		}
	}
	return Param{}, false
}

// Path returns "gene.param", such as "retry.baseDelay".
func (p Param) Path() string { return p.Gene.String() + "." + p.Name }

// Format renders a value of p in its unit: "250ms", "3", "0.5", "rate".
func (p Param) Format(v float64) string {
	switch p.Kind {
	case KindDuration:
		return time.Duration(v).String()
	case KindInt:
		return strconv.FormatInt(int64(v), 10)
	case KindChoice:
		if v >= 0 && int(v) < len(p.Choices) {
			return p.Choices[int(v)]
		}
		return fmt.Sprintf("choice(%v)", v)
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

func (p Param) bounds() string {
	if p.Kind == KindChoice {
		return "one of " + quoteList(p.Choices)
	}
	r := "between " + p.Format(p.Min) + " and " + p.Format(p.Max)
	if p.ZeroOff {
		return "0 (off) or " + r
	}
	return r
}

// clamp returns v moved into p's bounds.
func (p Param) clamp(v float64) float64 {
	if math.IsNaN(v) {
		return p.Min
	}
	if p.ZeroOff && v == 0 {
		return 0
	}
	switch p.Kind {
	case KindInt, KindDuration, KindChoice:
		v = math.Round(v)
	}
	return math.Min(math.Max(v, p.Min), p.Max)
}

func (p Param) inBounds(v float64) bool {
	if math.IsNaN(v) {
		return false
	}
	if p.ZeroOff && v == 0 {
		return true
	}
	return v >= p.Min && v <= p.Max
}

type paramDef struct {
	Param
	ptr func(*Genome) any // *int, *float64, *time.Duration or *uint8; nil when the gene is absent
}

// at returns a getter of field f of the gene that gene selects, as any.
func at[G, F any](gene func(*Genome) *G, f func(*G) *F) func(*Genome) any {
	return func(g *Genome) any {
		if x := gene(g); x != nil {
			return f(x)
		}
		return nil
	}
}

func ms(n float64) float64 { return n * float64(time.Millisecond) }

var (
	fbOf = func(g *Genome) *Fallback { return g.Fallback }
	rlOf = func(g *Genome) *RateLimit { return g.RateLimit }
	bhOf = func(g *Genome) *Bulkhead { return g.Bulkhead }
	toOf = func(g *Genome) *Timeout { return g.Timeout }
	rtOf = func(g *Genome) *Retry { return g.Retry }
	cbOf = func(g *Genome) *CircuitBreaker { return g.CircuitBreaker }
	hdOf = func(g *Genome) *Hedge { return g.Hedge }
)

// paramTable is the fixed catalogue of parameters, in gene order and, within
// a gene, in JSON order. It is never modified.
var paramTable = []paramDef{
	{Param{GeneFallback, "kind", KindChoice, 0, 2, false, fallbackKindNames, false}, at(fbOf, func(x *Fallback) *uint8 { return (*uint8)(&x.Kind) })},
	{Param{GeneRateLimit, "rate", KindFloat, 0.01, 1e9, false, nil, false}, at(rlOf, func(x *RateLimit) *float64 { return &x.Rate })},
	{Param{GeneRateLimit, "burst", KindInt, 1, 1000000, false, nil, false}, at(rlOf, func(x *RateLimit) *int { return &x.Burst })},
	{Param{GeneBulkhead, "maxConcurrent", KindInt, 1, 10000, false, nil, false}, at(bhOf, func(x *Bulkhead) *int { return &x.MaxConcurrent })},
	{Param{GeneBulkhead, "maxWait", KindDuration, 0, ms(60000), false, nil, false}, at(bhOf, func(x *Bulkhead) *time.Duration { return &x.MaxWait })},
	{Param{GeneBulkhead, "limit", KindChoice, 0, 3, false, limitNames, true}, at(bhOf, func(x *Bulkhead) *uint8 { return (*uint8)(&x.Limit) })},
	{Param{GeneBulkhead, "minConcurrent", KindInt, 1, 10000, true, nil, true}, at(bhOf, func(x *Bulkhead) *int { return &x.MinConcurrent })},
	{Param{GeneBulkhead, "tolerance", KindFloat, 1.1, 10, true, nil, true}, at(bhOf, func(x *Bulkhead) *float64 { return &x.Tolerance })},
	{Param{GeneTimeout, "perAttempt", KindDuration, ms(1), ms(600000), true, nil, false}, at(toOf, func(x *Timeout) *time.Duration { return &x.PerAttempt })},
	{Param{GeneTimeout, "overall", KindDuration, ms(1), ms(3600000), true, nil, false}, at(toOf, func(x *Timeout) *time.Duration { return &x.Overall })},
	{Param{GeneRetry, "maxAttempts", KindInt, 1, 20, false, nil, false}, at(rtOf, func(x *Retry) *int { return &x.MaxAttempts })},
	{Param{GeneRetry, "baseDelay", KindDuration, ms(1), ms(30000), false, nil, false}, at(rtOf, func(x *Retry) *time.Duration { return &x.BaseDelay })},
	{Param{GeneRetry, "maxDelay", KindDuration, ms(1), ms(300000), false, nil, false}, at(rtOf, func(x *Retry) *time.Duration { return &x.MaxDelay })},
	{Param{GeneRetry, "multiplier", KindFloat, 1, 10, false, nil, false}, at(rtOf, func(x *Retry) *float64 { return &x.Multiplier })},
	{Param{GeneRetry, "jitter", KindFloat, 0, 1, false, nil, false}, at(rtOf, func(x *Retry) *float64 { return &x.Jitter })},
	{Param{GeneRetry, "budget", KindFloat, 0.01, 1, true, nil, true}, at(rtOf, func(x *Retry) *float64 { return &x.Budget })},
	{Param{GeneCircuitBreaker, "mode", KindChoice, 0, 1, false, breakerModeNames, false}, at(cbOf, func(x *CircuitBreaker) *uint8 { return (*uint8)(&x.Mode) })},
	{Param{GeneCircuitBreaker, "threshold", KindInt, 1, 1000, false, nil, false}, at(cbOf, func(x *CircuitBreaker) *int { return &x.Threshold })},
	{Param{GeneCircuitBreaker, "failureRate", KindFloat, 0.01, 1, false, nil, false}, at(cbOf, func(x *CircuitBreaker) *float64 { return &x.FailureRate })},
	{Param{GeneCircuitBreaker, "window", KindInt, 1, 10000, false, nil, false}, at(cbOf, func(x *CircuitBreaker) *int { return &x.Window })},
	{Param{GeneCircuitBreaker, "openDuration", KindDuration, ms(1), ms(600000), false, nil, false}, at(cbOf, func(x *CircuitBreaker) *time.Duration { return &x.OpenDuration })},
	{Param{GeneCircuitBreaker, "halfOpenProbes", KindInt, 1, 100, false, nil, false}, at(cbOf, func(x *CircuitBreaker) *int { return &x.HalfOpenProbes })},
	{Param{GeneHedge, "delay", KindDuration, ms(1), ms(60000), false, nil, false}, at(hdOf, func(x *Hedge) *time.Duration { return &x.Delay })},
	{Param{GeneHedge, "maxHedges", KindInt, 1, 10, false, nil, false}, at(hdOf, func(x *Hedge) *int { return &x.MaxHedges })},
	{Param{GeneHedge, "quantile", KindFloat, 0.5, 0.999, true, nil, true}, at(hdOf, func(x *Hedge) *float64 { return &x.Quantile })},
}

// Params returns the descriptors of every gene parameter, in gene order.
func Params() []Param {
	ps := make([]Param, len(paramTable))
	for i, d := range paramTable {
		ps[i] = d.Param
	}
	return ps
}

// ParamsOf returns the descriptors of the parameters of gene kind k.
func ParamsOf(k GeneKind) []Param {
	var ps []Param
	for _, d := range paramTable {
		if d.Gene == k {
			ps = append(ps, d.Param)
		}
	}
	return ps
}

func lookup(p Param) *paramDef {
	for i := range paramTable {
		if paramTable[i].Gene == p.Gene && paramTable[i].Name == p.Name {
			return &paramTable[i]
		}
	}
	return nil
}

// Value returns the value of parameter p in g, in p's base unit, and false
// when g lacks p's gene.
func (g *Genome) Value(p Param) (float64, bool) {
	d := lookup(p)
	if d == nil {
		return 0, false
	}
	return get(d.ptr(g))
}

// SetValue sets parameter p of g to v (rounded for counts, durations and
// choices, but not clamped: call [Genome.Normalize] after mutating). It
// reports false when g lacks p's gene.
func (g *Genome) SetValue(p Param, v float64) bool {
	d := lookup(p)
	if d == nil {
		return false
	}
	return set(d.ptr(g), v)
}

func get(ptr any) (float64, bool) {
	switch x := ptr.(type) {
	case *int:
		return float64(*x), true
	case *float64:
		return *x, true
	case *time.Duration:
		return float64(*x), true
	case *uint8:
		return float64(*x), true
	}
	return 0, false
}

func set(ptr any, v float64) bool {
	switch x := ptr.(type) {
	case *int:
		*x = int(saturate(v, math.MinInt32, math.MaxInt32))
	case *float64:
		*x = v
	case *time.Duration:
		*x = time.Duration(saturate(v, math.MinInt64/2, math.MaxInt64/2))
	case *uint8:
		*x = uint8(saturate(v, 0, 255))
	default:
		return false
	}
	return true
}

func saturate(v, lo, hi float64) float64 {
	if math.IsNaN(v) {
		return lo
	}
	return math.Min(math.Max(math.Round(v), lo), hi)
}

// Normalize moves every parameter of g into its bounds and repairs what
// depends on more than one field, so that the result compiles and none of
// its parameters is dead — set to a value that can never act. It keeps the
// genes g has and leaves Module alone. The relations it enforces (see
// [Genome.Incoherent]):
//
//   - retry: maxDelay ≥ baseDelay; with maxDelay = baseDelay there is
//     nothing to multiply, and multiplier is 1.
//   - timeout: at least one of perAttempt and overall is set; a perAttempt
//     at or above overall never acts (the overall deadline comes first), so
//     it is dropped (0). With a single attempt — no retry gene (or one
//     of 1 attempt) and no hedge — an overall above perAttempt never acts
//     either: the attempt is the whole call, and overall is dropped.
//   - retry within the overall timeout: no attempt the overall deadline
//     can never reach — maxAttempts is cut to the attempts whose earliest
//     start (each backoff at its shortest jitter, every attempt failing at
//     once) is before the overall deadline.
//   - bulkhead: a static limit has no minConcurrent or tolerance (0); an
//     adaptive one has both (1 and 2 when unset), and minConcurrent is at
//     most maxConcurrent.
//   - retry budget: only with retries to budget — with maxAttempts 1 it
//     is dropped (0).
//   - hedge: its delay is below the per-attempt timeout (else below the
//     overall one), or it would never fire: half of it, when it is not.
//   - fallback: a valid JSON value, and an error class for kind error.
func (g *Genome) Normalize() {
	for _, d := range paramTable {
		ptr := d.ptr(g)
		if v, ok := get(ptr); ok {
			set(ptr, d.clamp(v))
		}
	}
	if g.Generation < 0 {
		g.Generation = 0
	}
	if g.Parent != "" && !digestRE.MatchString(g.Parent) {
		g.Parent = ""
	}
	if r := g.Retry; r != nil && r.MaxDelay < r.BaseDelay {
		r.MaxDelay = r.BaseDelay
	}
	if r := g.Retry; r != nil && r.MaxDelay == r.BaseDelay {
		r.Multiplier = 1
	}
	if t := g.Timeout; t != nil && t.PerAttempt == 0 && t.Overall == 0 {
		t.Overall = DefaultGene(GeneTimeout).(*Timeout).Overall
	}
	if t := g.Timeout; t != nil && t.Overall > 0 && t.PerAttempt >= t.Overall {
		t.PerAttempt = 0
	}
	if r, t := g.Retry, g.Timeout; r != nil && t != nil && t.Overall > 0 {
		r.MaxAttempts = min(r.MaxAttempts, reachable(r, t.Overall))
	}
	if t := g.Timeout; t != nil && t.PerAttempt > 0 && t.Overall > t.PerAttempt && g.singleAttempt() {
		t.Overall = 0
	}
	if r := g.Retry; r != nil && r.MaxAttempts <= 1 {
		r.Budget = 0
	}
	if b := g.Bulkhead; b != nil {
		switch {
		case b.Limit == LimitStatic:
			b.MinConcurrent, b.Tolerance = 0, 0
		default:
			b.MinConcurrent = min(max(1, b.MinConcurrent), b.MaxConcurrent)
			if b.Tolerance == 0 {
				b.Tolerance = defaultTolerance
			}
		}
	}
	if h, t := g.Hedge, g.Timeout; h != nil && t != nil {
		limit := t.PerAttempt
		if limit == 0 {
			limit = t.Overall
		}
		if h.Delay >= limit && limit >= 2*time.Millisecond {
			h.Delay = max(time.Millisecond, limit/2)
		}
	}
	if f := g.Fallback; f != nil {
		if len(f.Value) > 0 && !json.Valid(f.Value) {
			f.Value = nil
		}
		if f.Kind == FallbackError && !classRE.MatchString(f.ErrorClass) {
			f.ErrorClass = "unavailable"
		}
	}
}

// singleAttempt reports whether g's policy makes one attempt a call: no
// retry gene, or one of a single attempt, and no hedge.
func (g *Genome) singleAttempt() bool {
	return (g.Retry == nil || g.Retry.MaxAttempts <= 1) && g.Hedge == nil
}

// reachable is how many of r's attempts can start before overall has
// passed: the first at once, each later one after the backoffs before it at
// their shortest (the jitter taking the most off), every attempt failing at
// once.
func reachable(r *Retry, overall time.Duration) int {
	n, at, d := 1, 0.0, float64(r.BaseDelay)
	for n < r.MaxAttempts {
		at += math.Min(d, float64(r.MaxDelay)) * (1 - r.Jitter)
		if at >= float64(overall) {
			break
		}
		n++
		d *= r.Multiplier
	}
	return n
}

// Incoherent lists the relations between g's genes that g breaks (see
// [Genome.Normalize]), each naming its fields; none for a genome
// Normalize returned.
func (g *Genome) Incoherent() []string {
	var out []string
	r, t, h := g.Retry, g.Timeout, g.Hedge
	if r != nil && r.MaxDelay < r.BaseDelay {
		out = append(out, "retry.maxDelay is below retry.baseDelay")
	}
	if r != nil && r.MaxDelay == r.BaseDelay && r.Multiplier != 1 {
		out = append(out, "retry.multiplier has nothing to multiply: retry.maxDelay equals retry.baseDelay")
	}
	if t != nil && t.Overall > 0 && t.PerAttempt >= t.Overall {
		out = append(out, "timeout.perAttempt never acts: it is not below timeout.overall")
	}
	if t != nil && t.PerAttempt > 0 && t.Overall > t.PerAttempt && g.singleAttempt() {
		out = append(out, "timeout.overall never acts: with one attempt (no retry, no hedge) timeout.perAttempt ends the call first")
	}
	if r != nil && t != nil && t.Overall > 0 && r.MaxAttempts > reachable(r, t.Overall) {
		out = append(out, fmt.Sprintf("retry.maxAttempts %d: attempts past the %dth can never start before timeout.overall %v", r.MaxAttempts, reachable(r, t.Overall), t.Overall))
	}
	if b := g.Bulkhead; b != nil && b.Limit == LimitStatic && (b.MinConcurrent != 0 || b.Tolerance != 0) {
		out = append(out, "bulkhead.minConcurrent and bulkhead.tolerance never act: bulkhead.limit is static")
	}
	if b := g.Bulkhead; b != nil && b.Limit != LimitStatic && (b.MinConcurrent == 0 || b.Tolerance == 0) {
		out = append(out, "bulkhead.limit "+b.Limit.String()+" needs bulkhead.minConcurrent and bulkhead.tolerance")
	}
	if b := g.Bulkhead; b != nil && b.MinConcurrent > b.MaxConcurrent {
		out = append(out, "bulkhead.minConcurrent is above bulkhead.maxConcurrent")
	}
	if r != nil && r.MaxAttempts <= 1 && r.Budget != 0 {
		out = append(out, "retry.budget never acts: with retry.maxAttempts 1 there is no retry to budget")
	}
	if h != nil && t != nil {
		limit := t.PerAttempt
		if limit == 0 {
			limit = t.Overall
		}
		if h.Delay >= limit && limit >= 2*time.Millisecond {
			out = append(out, "hedge.delay never fires: it is not below the timeout")
		}
	}
	return out
}

var (
	digestRE = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)
	classRE  = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,63}$`)
)

// ErrInvalid is matched (with errors.Is) by every [FieldError].
var ErrInvalid = errors.New("genome: invalid")

// FieldError is one violation found by [Genome.Validate] or while decoding:
// the field, its value and what is wrong with it.
type FieldError struct {
	Field   string // "module", "retry.baseDelay", "genes.retyr", ...
	Value   string // the offending value as written, or "" when missing
	Problem string // what is wrong and what is expected
}

// Error returns "genome: <field>: <value> <problem>".
func (e *FieldError) Error() string {
	if e.Value == "" {
		return "genome: " + e.Field + ": " + e.Problem
	}
	return "genome: " + e.Field + ": " + e.Value + " " + e.Problem
}

// Is reports whether target is [ErrInvalid].
func (e *FieldError) Is(target error) bool { return target == ErrInvalid }

// Validate reports every violation in g at once, as a join of [FieldError]s
// naming the field, the value and the bound; nil when g is valid.
func (g *Genome) Validate() error {
	var errs []error
	if !moduleRE.MatchString(g.Module) {
		errs = append(errs, &FieldError{"module", strconv.Quote(g.Module),
			"is not a module name: use 1–128 letters, digits, '.', '_' or '-', starting with a letter or digit"})
	}
	if g.Generation < 0 {
		errs = append(errs, &FieldError{"generation", strconv.Itoa(g.Generation), "is negative"})
	}
	if g.Parent != "" && !digestRE.MatchString(g.Parent) {
		errs = append(errs, &FieldError{"parent", strconv.Quote(g.Parent), `is not a digest: want "sha256:" and 64 lowercase hex digits, or ""`})
	}
	errs = append(errs, g.validateGenes()...)
	return errors.Join(errs...)
}

// defaultTolerance is an adaptive limit's tolerance when none is set: a
// call may take twice the best latency before the limit falls.
const defaultTolerance = 2

func (g *Genome) validateGenes() []error {
	var errs []error
	for _, d := range paramTable {
		v, ok := get(d.ptr(g))
		if ok && !d.inBounds(v) {
			errs = append(errs, &FieldError{d.Path(), d.Format(v), "is out of bounds: want " + d.bounds()})
		}
	}
	if r := g.Retry; r != nil && r.MaxDelay < r.BaseDelay {
		errs = append(errs, &FieldError{"retry.maxDelay", r.MaxDelay.String(), "is below retry.baseDelay " + r.BaseDelay.String()})
	}
	if t := g.Timeout; t != nil && t.PerAttempt == 0 && t.Overall == 0 {
		errs = append(errs, &FieldError{"timeout", "", "has neither perAttempt nor overall set: set one, or remove the gene"})
	}
	if b := g.Bulkhead; b != nil && b.Limit != LimitStatic {
		if b.MinConcurrent == 0 {
			errs = append(errs, &FieldError{"bulkhead.minConcurrent", "", "is missing: an adaptive limit (" + b.Limit.String() + ") needs its floor, 1 or more"})
		} else if b.MinConcurrent > b.MaxConcurrent {
			errs = append(errs, &FieldError{"bulkhead.minConcurrent", strconv.Itoa(b.MinConcurrent), "is above bulkhead.maxConcurrent " + strconv.Itoa(b.MaxConcurrent)})
		}
		if b.Tolerance == 0 {
			errs = append(errs, &FieldError{"bulkhead.tolerance", "", "is missing: an adaptive limit (" + b.Limit.String() + ") needs it, between 1.1 and 10"})
		}
	}
	if f := g.Fallback; f != nil {
		if len(f.Value) > 0 && !json.Valid(f.Value) {
			errs = append(errs, &FieldError{"fallback.value", "", "is not valid JSON"})
		}
		if f.Kind == FallbackError && !classRE.MatchString(f.ErrorClass) {
			errs = append(errs, &FieldError{"fallback.errorClass", strconv.Quote(f.ErrorClass),
				`is not an error class: use a lowercase word such as "unavailable"`})
		}
	}
	return errs
}

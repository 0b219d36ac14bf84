package vaultdata

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rafaelabs/rafael/genome"
	"github.com/rafaelabs/rafael/scenarios"
)

// decoder decodes one pattern file strictly, collecting every problem as a
// FieldError naming the file and the field.
type decoder struct {
	file string
	errs []error
}

func (d *decoder) bad(field, format string, args ...any) {
	d.errs = append(d.errs, &FieldError{File: d.file, Field: field, Problem: fmt.Sprintf(format, args...)})
}

// object splits raw as a JSON object whose keys must be among known; an
// unknown key is a problem naming it. It returns nil when raw is not an object.
func (d *decoder) object(raw json.RawMessage, path string, known ...string) fields {
	m, ok := members(raw)
	if !ok {
		d.bad(orRoot(path), "want a JSON object, got %s", kindOf(raw))
		return nil
	}
	return d.known(m, path, known)
}

// known reports each key of m that is not among known.
func (d *decoder) known(m fields, path string, known []string) fields {
	for i, f := range m {
		if !slices.Contains(known, f.key) && m.last(i) {
			d.bad(join(path, f.key), "unknown field: want one of %s", strings.Join(known, ", "))
		}
	}
	return m
}

// field returns m's value of key, or false when it is absent (a problem
// when the field is required).
func (d *decoder) field(m fields, path, key string, required bool) (json.RawMessage, bool) {
	raw, ok := m.get(key)
	if !ok && required {
		d.bad(join(path, key), "missing")
	}
	return raw, ok
}

func (d *decoder) str(m fields, path, key string, required bool) string {
	raw, ok := d.field(m, path, key, required)
	if !ok {
		return ""
	}
	s, ok := text(raw)
	if !ok {
		d.bad(join(path, key), "want a string, got %s", kindOf(raw))
		return ""
	}
	if required && s == "" {
		d.bad(join(path, key), "empty")
	}
	return s
}

func (d *decoder) num(m fields, path, key string, required bool) float64 {
	raw, ok := d.field(m, path, key, required)
	if !ok {
		return 0
	}
	f, ok := number(raw)
	if !ok {
		d.bad(join(path, key), "want a number, got %s", kindOf(raw))
	}
	return f
}

func (d *decoder) integer(m fields, path, key string, required bool) int {
	f := d.num(m, path, key, required)
	if f != math.Trunc(f) || math.Abs(f) > 1<<31 {
		d.bad(join(path, key), "%v is not a whole number", f)
		return 0
	}
	return int(f)
}

func (d *decoder) duration(m fields, path, key string, required bool) time.Duration {
	s := d.str(m, path, key, required)
	if s == "" {
		return 0
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		d.bad(join(path, key), "%q is not a duration: write it like \"300ms\" or \"2s\"", s)
	}
	return v
}

// array splits m's value of key as a JSON array of raw elements.
func (d *decoder) array(m fields, path, key string) []json.RawMessage {
	raw, ok := m.get(key)
	if !ok {
		return nil
	}
	if bytes.Equal(raw, []byte("null")) {
		return nil
	}
	a, ok := elements(raw)
	if !ok {
		d.bad(join(path, key), "want an array, got %s", kindOf(raw))
	}
	return a
}

// isName reports whether s is lowercase letters and digits in words joined
// by single '-', as ids, tags and dependency names are: ^[a-z0-9]+(-[a-z0-9]+)*$.
// (A hand-written loop: a regexp costs a tenth of a lazy load.)
func isName(s string) bool {
	if s == "" || s[0] == '-' || s[len(s)-1] == '-' || strings.Contains(s, "--") {
		return false
	}
	for _, c := range []byte(s) {
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// decodePattern decodes and validates one pattern file's bytes.
func decodePattern(file string, data []byte) (*Pattern, error) {
	d := &decoder{file: file}
	var p *Pattern
	if m := d.top(data, true); m != nil {
		p = &Pattern{}
		d.header(m, p)
		d.body(m, p)
	}
	return p, errors.Join(d.errs...)
}

// topFields are the members of a pattern file.
var topFields = []string{"id", "name", "summary", "category", "stack", "tags", "genome", "example",
	"threats", "slo", "model", "status", "score", "proofs", "adopted"}

// top splits a file into its members, nil when it is not a JSON object.
// With syntax, the whole file must be JSON; without, only as far as the
// scanner checks: its structure, and the scalars that header converts.
func (d *decoder) top(data []byte, syntax bool) fields {
	m, ok := members(data)
	if (syntax || !ok) && !json.Valid(data) {
		var v any
		d.bad("(file)", "not JSON: %v", json.Unmarshal(data, &v))
		return nil
	}
	if !ok {
		d.bad("(file)", "want a JSON object, got %s", kindOf(data))
		return nil
	}
	if _, ok := m.get("provenance"); ok {
		d.bad("provenance", "replaced by \"proofs\", a list of the runs that proved the pattern: write it as proofs: [{\"where\": \"simulated model\", \"score\": <what it measured>, ...}], or re-prove it with rafael vault verify -update")
		m = slices.DeleteFunc(slices.Clone(m), func(f member) bool { return f.key == "provenance" })
	}
	return d.known(m, "", topFields)
}

// header decodes and checks what a search needs: the id, name, summary,
// category, stack, tags, status and score.
func (d *decoder) header(m fields, p *Pattern) {
	p.ID = d.str(m, "", "id", true)
	if p.ID != "" && !isName(p.ID) {
		d.bad("id", "%q: use lowercase letters, digits and single '-' between them", p.ID)
	}
	p.Name = d.str(m, "", "name", true)
	p.Summary = d.str(m, "", "summary", false)
	if c := d.str(m, "", "category", true); c != "" {
		var err error
		if p.Category, err = ParseCategory(c); err != nil {
			d.bad("category", "unknown %q: want one of %s", c, list(categoryNames[1:]))
		}
	}
	if s := d.str(m, "", "stack", true); s != "" {
		p.Stack = s
		if !slices.Contains(stacks, s) {
			d.bad("stack", "unknown %q: want one of %s", s, strings.Join(stacks, ", "))
		}
	}
	for i, raw := range d.array(m, "", "tags") {
		tag, ok := text(raw)
		if !ok || !isName(tag) {
			d.bad(fmt.Sprintf("tags[%d]", i), "%s: want a lowercase word such as \"idempotent\"", raw)
			continue
		}
		p.Tags = append(p.Tags, tag)
	}
	if s := d.str(m, "", "status", true); s != "" {
		var err error
		if p.Status, err = ParseStatus(s); err != nil {
			d.bad("status", "unknown %q: want one of %s", s, list(statusNames[1:]))
		}
	}
	p.Score = d.integer(m, "", "score", true)
	if p.Score < 0 || p.Score > 100 {
		d.bad("score", "%d is outside 0–100", p.Score)
	}
}

// body decodes and checks the rest, given the header: the genome (and that
// it fits the category), the example, the model, the threats, the SLO and
// the provenance.
func (d *decoder) body(m fields, p *Pattern) {
	if raw, ok := m.get("genome"); !ok {
		d.bad("genome", "missing")
	} else {
		p.Genome = d.genome(raw)
	}
	if p.Genome != nil && p.Category != 0 {
		if problem := fits(p.Category, p.Genome); problem != "" {
			d.bad("category", "%s", problem)
		}
	}
	for _, raw := range d.array(m, "", "example") {
		line, ok := text(raw)
		if !ok {
			d.bad("example", "want an array of lines (strings), got %s", kindOf(raw))
			break
		}
		p.Example += line + "\n"
	}
	if _, ok := m.get("example"); !ok {
		d.bad("example", "missing: show the pattern in use in a few lines of Go")
	}
	if raw, ok := m.get("model"); ok {
		p.Model = d.model(raw)
	}
	threats := d.array(m, "", "threats")
	if len(threats) == 0 {
		d.bad("threats", "missing or empty: a pattern is verified against at least one threat")
	}
	for i, raw := range threats {
		p.Threats = append(p.Threats, d.threat(raw, fmt.Sprintf("threats[%d]", i), p.Model.Dependencies))
	}
	if raw, ok := m.get("slo"); !ok {
		d.bad("slo", "missing")
	} else {
		p.SLO = d.slo(raw)
	}
	d.proofs(m, p)
	if raw, ok := m.get("adopted"); ok {
		p.Adopted = d.adopted(raw)
	}
}

// genome decodes the pattern's genome, prefixing the genome's own field
// names with "genome.".
func (d *decoder) genome(raw json.RawMessage) *genome.Genome {
	g, err := genome.Parse(raw)
	if err == nil {
		return g
	}
	var all []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		all = j.Unwrap()
	} else {
		all = []error{err}
	}
	for _, e := range all {
		var fe *genome.FieldError
		if errors.As(e, &fe) {
			d.bad("genome."+fe.Field, "%s", strings.TrimSpace(fe.Value+" "+fe.Problem))
		} else {
			d.bad("genome", "%v", e)
		}
	}
	return nil
}

func (d *decoder) model(raw json.RawMessage) Model {
	m := d.object(raw, "model", "dependencies")
	var md Model
	deps := d.array(m, "model", "dependencies")
	if m != nil && len(deps) == 0 {
		d.bad("model.dependencies", "missing or empty: name at least one dependency")
	}
	for i, raw := range deps {
		path := fmt.Sprintf("model.dependencies[%d]", i)
		o := d.object(raw, path, "name", "service", "capacity")
		if o == nil {
			continue
		}
		dep := Dependency{Name: d.str(o, path, "name", true), Service: d.duration(o, path, "service", true), Capacity: d.integer(o, path, "capacity", true)}
		if dep.Name != "" && !isName(dep.Name) {
			d.bad(path+".name", "%q: use lowercase letters, digits and '-'", dep.Name)
		}
		if slices.ContainsFunc(md.Dependencies, func(o Dependency) bool { return o.Name == dep.Name }) {
			d.bad(path+".name", "%q is named twice", dep.Name)
		}
		if dep.Service < time.Microsecond || dep.Service > 10*time.Second {
			d.bad(path+".service", "%v is outside 1µs–10s", dep.Service)
		}
		if dep.Capacity < 1 || dep.Capacity > 100_000 {
			d.bad(path+".capacity", "%d is outside 1–100000", dep.Capacity)
		}
		md.Dependencies = append(md.Dependencies, dep)
	}
	return md
}

// declFields are the members of a threat (scenarios.Decl's JSON form).
var declFields = []string{"kind", "target", "second", "outage", "delay", "jitter", "callers", "rate", "bytes",
	"steady", "inject", "recover", "severity"}

// threat decodes one threat as a scenarios.Decl, each of its problems a
// field of path, and checks its targets against the model's dependencies.
// (The decoder's own field readers, not Decl.UnmarshalJSON: the same
// checks, without a map per threat.)
func (d *decoder) threat(raw json.RawMessage, path string, deps []Dependency) scenarios.Decl {
	o := d.object(raw, path, declFields...)
	if o == nil {
		return scenarios.Decl{}
	}
	n := len(d.errs)
	th := scenarios.Decl{Kind: d.str(o, path, "kind", false), Target: d.str(o, path, "target", false), Second: d.str(o, path, "second", false),
		Outage: d.duration(o, path, "outage", false), Delay: d.duration(o, path, "delay", false), Jitter: d.duration(o, path, "jitter", false),
		Callers: d.integer(o, path, "callers", false), Rate: d.num(o, path, "rate", false), Bytes: int64(d.num(o, path, "bytes", false)),
		Steady: d.duration(o, path, "steady", false), Inject: d.duration(o, path, "inject", false), Recover: d.duration(o, path, "recover", false)}
	if s := d.str(o, path, "severity", false); s != "" {
		var err error
		if th.Severity, err = scenarios.ParseSeverity(s); err != nil {
			d.bad(path+".severity", "%v", err)
		}
	}
	failed := map[string]bool{}
	for _, e := range d.errs[n:] {
		var fe *FieldError
		if errors.As(e, &fe) {
			failed[fe.Field] = true
		}
	}
	if err := th.Validate(); err != nil {
		for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
			var de *scenarios.DeclError
			if errors.As(e, &de) && !failed[join(path, de.Field)] {
				d.bad(join(path, de.Field), "%s", de.Problem)
			}
		}
	}
	has := func(name string) bool {
		return slices.ContainsFunc(deps, func(dep Dependency) bool { return dep.Name == name })
	}
	if len(deps) > 0 {
		if th.Target != "" && !has(th.Target) {
			d.bad(path+".target", "%q is not a dependency of the model", th.Target)
		}
		if th.Second != "" && !has(th.Second) {
			d.bad(path+".second", "%q is not a dependency of the model", th.Second)
		}
	}
	return resolve(th, deps)
}

func (d *decoder) slo(raw json.RawMessage) SLO {
	o := d.object(raw, "slo", "successRate", "p99", "recoverWithin")
	s := SLO{SuccessRate: d.num(o, "slo", "successRate", false), P99: d.duration(o, "slo", "p99", false),
		RecoverWithin: d.duration(o, "slo", "recoverWithin", false)}
	if !(s.SuccessRate >= 0 && s.SuccessRate <= 1) {
		d.bad("slo.successRate", "%v is outside 0–1: write 0.99 for 99 %%", s.SuccessRate)
	}
	if s.P99 < 0 {
		d.bad("slo.p99", "%v is negative", s.P99)
	}
	if s.RecoverWithin < 0 {
		d.bad("slo.recoverWithin", "%v is negative", s.RecoverWithin)
	}
	return s
}

// proofs decodes the list of proofs; the pattern's declared score must be
// at most what each measured.
func (d *decoder) proofs(m fields, p *Pattern) {
	raws := d.array(m, "", "proofs")
	if len(raws) == 0 {
		d.bad("proofs", "missing or empty: a pattern is backed by at least one proof (a run that measured its score)")
	}
	var digest string // the pattern's genome's, computed once
	for i, raw := range raws {
		path := fmt.Sprintf("proofs[%d]", i)
		o := d.object(raw, path, "where", "tier", "score", "genome", "seed", "date", "report", "test")
		if o == nil {
			continue
		}
		var pr Proof
		pr.Where = d.str(o, path, "where", true)
		if r, ok := o.get("seed"); !ok {
			d.bad(path+".seed", "missing")
		} else if n, err := strconv.ParseUint(string(bytes.TrimSpace(r)), 10, 64); err != nil {
			d.bad(path+".seed", "%s is not a whole number from 0 to 2^64-1", r)
		} else {
			pr.Seed = n
		}
		pr.Genome = d.str(o, path, "genome", true)
		if pr.Genome != "" && p.Genome != nil {
			if digest == "" {
				digest = p.Genome.Digest()
			}
			if want := digest; pr.Genome != want {
				d.bad(path+".genome", "%s is not the pattern's genome (%s): the proof is of another genome; re-run it (rafael vault verify -update)", pr.Genome, want)
			}
		}
		pr.Tier = d.str(o, path, "tier", true)
		if pr.Tier != "" && pr.Tier != "simulated" && pr.Tier != "wire" {
			d.bad(path+".tier", "%q: want simulated or wire", pr.Tier)
		}
		if pr.Where == ModelProof && pr.Tier == "wire" {
			d.bad(path+".tier", "wire, but it ran on the %s", ModelProof)
		}
		if pr.Where == ModelProof && len(p.Model.Dependencies) == 0 {
			d.bad(path+".where", "%s, but the pattern has no model", ModelProof)
		}
		pr.Score = d.num(o, path, "score", true)
		if !(pr.Score >= 0 && pr.Score <= 100) {
			d.bad(path+".score", "%v is outside 0–100", pr.Score)
		} else if float64(p.Score) > pr.Score {
			d.bad("score", "%d is above what proofs[%d] (%s) measured, %.2f: declare at most what was measured", p.Score, i, pr.Where, pr.Score)
		}
		if s := d.str(o, path, "date", true); s != "" {
			t, err := time.Parse(time.RFC3339, s)
			if err != nil {
				d.bad(path+".date", "%q is not an RFC 3339 time such as \"2025-11-24T04:28:00Z\"", s)
			}
			pr.Date = t.UTC()
		}
		pr.Report = d.str(o, path, "report", true)
		if pr.Report != "" && !digestPattern.MatchString(pr.Report) {
			d.bad(path+".report", "%q: want \"sha256:\" and 64 hex digits", pr.Report)
		}
		if raw, ok := o.get("test"); ok {
			tp := path + ".test"
			if to := d.object(raw, tp, "dir", "package", "run"); to != nil {
				t := Test{Dir: d.str(to, tp, "dir", false), Package: d.str(to, tp, "package", true), Run: d.str(to, tp, "run", true)}
				if problem := t.check(); problem != "" {
					d.bad(tp, "%s", problem)
				}
				pr.Test = &t
			}
		}
		p.Proofs = append(p.Proofs, pr)
	}
}

// adopted decodes the audit entry that adopted the pattern's genome.
func (d *decoder) adopted(raw json.RawMessage) *Adoption {
	o := d.object(raw, "adopted", "module", "digest", "seq", "entry")
	if o == nil {
		return nil
	}
	a := &Adoption{Module: d.str(o, "adopted", "module", true), Digest: d.str(o, "adopted", "digest", true),
		Seq: d.integer(o, "adopted", "seq", true), Entry: d.str(o, "adopted", "entry", true)}
	if a.Entry != "" && !digestPattern.MatchString(a.Entry) {
		d.bad("adopted.entry", "%q: want \"sha256:\" and 64 hex digits", a.Entry)
	}
	if a.Seq < 1 {
		d.bad("adopted.seq", "%d: want the entry's sequence number, from 1", a.Seq)
	}
	return a
}

var digestPattern = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func orRoot(path string) string {
	if path == "" {
		return "(file)"
	}
	return path
}

// kindOf names the JSON type of raw for an error message.
func kindOf(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "nothing"
	}
	switch raw[0] {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case '"':
		return "a string " + string(raw)
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "a number " + string(raw)
}

// categoryGene is the gene a pattern of each single-gene category must have.
var categoryGene = map[Category]genome.GeneKind{
	Retry: genome.GeneRetry, CircuitBreaker: genome.GeneCircuitBreaker, Timeout: genome.GeneTimeout,
	RateLimit: genome.GeneRateLimit, Bulkhead: genome.GeneBulkhead, Fallback: genome.GeneFallback, Hedging: genome.GeneHedge,
}

// fits says what is wrong with a genome for category c, or "".
func fits(c Category, g *genome.Genome) string {
	if c == Composite {
		if n := len(g.Genes()); n < 2 {
			return fmt.Sprintf("composite, but the genome has %d gene(s): a composite pattern combines at least two", n)
		}
		return ""
	}
	if k, ok := categoryGene[c]; ok && !g.Has(k) {
		return fmt.Sprintf("%s, but the genome has no %s gene", c, k)
	}
	return ""
}

package genome

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

var topFields = []string{"schemaVersion", "module", "generation", "parent", "genes"}

// MarshalJSON encodes g as canonical JSON: compact, with fields, genes and
// parameters in a fixed order, durations as strings such as "250ms", strings
// escaped minimally (no HTML escaping of '<', '>' or '&') and the fallback
// value in the canonical form of the JSON Canonicalization Scheme (RFC 8785:
// keys sorted, no whitespace, numbers and escapes spelled one way), except
// that numbers keep every digit rather than being rounded to the nearest
// IEEE 754 double. [Genome.Digest] hashes exactly these bytes, so any JSON
// that decodes to the same genome has the same digest: this output indented,
// or re-encoded by encoding/json (which escapes '&' as \u0026), or a file
// with its keys in another order.
func (g *Genome) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteString(`{"schemaVersion":`)
	b.WriteString(strconv.Itoa(SchemaVersion))
	b.WriteString(`,"module":`)
	writeString(&b, g.Module)
	b.WriteString(`,"generation":`)
	b.WriteString(strconv.Itoa(g.Generation))
	b.WriteString(`,"parent":`)
	writeString(&b, g.Parent)
	b.WriteString(`,"genes":{`)
	first := true
	for _, k := range g.Genes() {
		if !first {
			b.WriteByte(',')
		}
		first = false
		writeString(&b, k.String())
		b.WriteString(":{")
		n := 0
		for _, d := range paramTable {
			if d.Gene != k {
				continue
			}
			v, _ := get(d.ptr(g))
			if d.Adaptive && v == 0 {
				continue
			}
			if n > 0 {
				b.WriteByte(',')
			}
			n++
			writeString(&b, d.Name)
			b.WriteByte(':')
			switch d.Kind {
			case KindDuration, KindChoice:
				writeString(&b, d.Format(v))
			case KindInt:
				b.WriteString(strconv.FormatInt(int64(v), 10))
			case KindFloat:
				if num := strconv.FormatFloat(v, 'g', -1, 64); json.Valid([]byte(num)) {
					b.WriteString(num)
				} else { // NaN or ±Inf: keep the JSON valid; Validate rejects the genome anyway
					writeString(&b, num)
				}
			}
		}
		if k == GeneFallback {
			if len(g.Fallback.Value) > 0 {
				b.WriteString(`,"value":`)
				v, err := canonicalJSON(g.Fallback.Value)
				if err != nil {
					return nil, fmt.Errorf("genome: fallback.value: %w", err)
				}
				b.Write(v)
			}
			if g.Fallback.Kind == FallbackError {
				b.WriteString(`,"errorClass":`)
				writeString(&b, g.Fallback.ErrorClass)
			}
		}
		b.WriteByte('}')
	}
	b.WriteString("}}")
	return b.Bytes(), nil
}

// Digest returns "sha256:" and the hex SHA-256 of g's canonical JSON. Equal
// genomes have equal digests.
func (g *Genome) Digest() string {
	data, err := g.MarshalJSON()
	if err != nil { // only an invalid fallback value; hash what is there
		data = []byte(err.Error())
	}
	sum := sha256.Sum256(data)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// UnmarshalJSON decodes a genome strictly: a missing or newer schemaVersion,
// an unknown field, an unknown gene, an unknown parameter or a value of the
// wrong type is an error naming the field and what was expected. Every such
// error is reported at once. Values out of bounds are left for
// [Genome.Validate] (or [Genome.Normalize]). A parameter left out takes its
// [DefaultGene] value, except timeouts, which are then off.
func (g *Genome) UnmarshalJSON(data []byte) error {
	out, errs := decode(data)
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	*g = *out
	return nil
}

// decode returns what it could decode of data and every problem found; the
// genome is nil when the document is not a genome at all.
func decode(data []byte) (*Genome, []error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil {
		return nil, []error{&FieldError{"(document)", "", "is not a JSON object: " + err.Error()}}
	}
	sv, ok := top["schemaVersion"]
	if !ok {
		return nil, []error{&FieldError{"schemaVersion", "", fmt.Sprintf("is missing: want %d", SchemaVersion)}}
	}
	var v int
	if err := json.Unmarshal(sv, &v); err != nil || v < 1 {
		return nil, []error{&FieldError{"schemaVersion", string(sv), fmt.Sprintf("is not a schema version: want %d", SchemaVersion)}}
	}
	if v > SchemaVersion {
		return nil, []error{&FieldError{"schemaVersion", string(sv), fmt.Sprintf("is newer than this version of rafael reads (%d): upgrade rafael", SchemaVersion)}}
	}
	out := new(Genome)
	var errs []error
	for _, key := range sortedKeys(top) {
		raw := top[key]
		switch key {
		case "schemaVersion":
		case "module":
			errs = appendErr(errs, decodeAs(key, raw, &out.Module, "a string"))
		case "generation":
			errs = appendErr(errs, decodeAs(key, raw, &out.Generation, "an integer"))
		case "parent":
			errs = appendErr(errs, decodeAs(key, raw, &out.Parent, "a string"))
		case "genes":
			errs = append(errs, out.decodeGenes(raw)...)
		default:
			errs = append(errs, &FieldError{key, "", "is not a genome field (expected one of " + quoteList(topFields) + ")"})
		}
	}
	return out, errs
}

func (g *Genome) decodeGenes(raw json.RawMessage) []error {
	var genes map[string]json.RawMessage
	if err := json.Unmarshal(raw, &genes); err != nil {
		return []error{&FieldError{"genes", "", "is not an object of genes: " + err.Error()}}
	}
	var errs []error
	for _, name := range sortedKeys(genes) {
		k, err := ParseGeneKind(name)
		if err != nil {
			errs = append(errs, &FieldError{"genes." + name, "", "is not a gene (expected one of " + quoteList(geneNames[:]) + ")"})
			continue
		}
		g.Add(k)
		for _, d := range paramTable { // a parameter left out that switches off at 0 is off
			if d.Gene == k && d.ZeroOff {
				set(d.ptr(g), 0)
			}
		}
		var fields map[string]json.RawMessage
		if err := json.Unmarshal(genes[name], &fields); err != nil {
			errs = append(errs, &FieldError{name, "", "is not an object of parameters: " + err.Error()})
			continue
		}
		for _, f := range sortedKeys(fields) {
			errs = appendErr(errs, g.decodeParam(k, f, fields[f]))
		}
		if k == GeneFallback && g.Fallback.Kind != FallbackError {
			g.Fallback.ErrorClass = "" // only the error kind has a class
		}
	}
	return errs
}

func (g *Genome) decodeParam(k GeneKind, name string, raw json.RawMessage) error {
	path := k.String() + "." + name
	if k == GeneFallback {
		switch name {
		case "value":
			v, err := canonicalJSON(raw)
			if err != nil {
				return &FieldError{path, "", "is not valid JSON: " + err.Error()}
			}
			g.Fallback.Value = v
			return nil
		case "errorClass":
			return decodeAs(path, raw, &g.Fallback.ErrorClass, "a string")
		}
	}
	var d *paramDef
	var names []string
	for i := range paramTable {
		if paramTable[i].Gene == k {
			names = append(names, paramTable[i].Name)
			if paramTable[i].Name == name {
				d = &paramTable[i]
			}
		}
	}
	if k == GeneFallback {
		names = append(names, "value", "errorClass")
	}
	if d == nil {
		return &FieldError{path, "", "is not a parameter of gene " + k.String() + " (expected one of " + quoteList(names) + ")"}
	}
	ptr := d.ptr(g)
	switch d.Kind {
	case KindInt:
		var f float64
		if err := json.Unmarshal(raw, &f); err != nil || f != float64(int64(f)) {
			return &FieldError{path, string(raw), "is not an integer"}
		}
		set(ptr, f)
	case KindFloat:
		var f float64
		if err := json.Unmarshal(raw, &f); err != nil {
			return &FieldError{path, string(raw), "is not a number"}
		}
		set(ptr, f)
	case KindDuration:
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return &FieldError{path, string(raw), `is not a duration: want a string such as "250ms" or "2s"`}
		}
		dur, err := time.ParseDuration(s)
		if err != nil {
			return &FieldError{path, string(raw), `is not a duration: want a string such as "250ms" or "2s"`}
		}
		set(ptr, float64(dur))
	case KindChoice:
		var s string
		_ = json.Unmarshal(raw, &s)
		i := slices.Index(d.Choices, s)
		if i < 0 {
			return &FieldError{path, string(raw), "is not one of " + quoteList(d.Choices)}
		}
		set(ptr, float64(i))
	}
	return nil
}

func decodeAs(path string, raw json.RawMessage, dst any, want string) error {
	if err := json.Unmarshal(raw, dst); err != nil {
		return &FieldError{path, string(raw), "is not " + want}
	}
	return nil
}

func appendErr(errs []error, err error) []error {
	if err != nil {
		return append(errs, err)
	}
	return errs
}

func sortedKeys(m map[string]json.RawMessage) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// Parse decodes and validates a genome from JSON. The error lists every
// problem found at once, structural and out-of-bounds alike, each naming its
// field.
func Parse(data []byte) (*Genome, error) {
	g, errs := decode(data)
	if g == nil {
		return nil, errors.Join(errs...)
	}
	if err := g.Validate(); err != nil {
		errs = append(errs, flatten(err)...)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return g, nil
}

// maxFile bounds the genome file Load reads: a genome is a few hundred
// bytes.
const maxFile = 1 << 20

// Load reads and validates the genome file at path. On failure the error
// names the file and lists every problem with its field; nothing is returned
// half-decoded. A path that is not a regular file (or a symbolic link to
// one) is refused before it is opened, so a named pipe planted there never
// blocks the caller, and so is a file over 1 MiB.
func Load(path string) (*Genome, error) {
	data, err := readFile(path)
	if err != nil {
		return nil, fmt.Errorf("genome: load: %w", err)
	}
	g, err := Parse(data)
	if err != nil {
		return nil, &LoadError{Path: path, Err: err}
	}
	return g, nil
}

// readFile reads a genome file: a regular file (or a symbolic link to
// one) of at most 1 MiB, checked before it is opened.
func readFile(path string) ([]byte, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() || st.Size() > maxFile {
		return nil, fmt.Errorf("%s is not a genome file (a regular file of at most 1 MiB): it is %s of %d bytes", path, st.Mode().Type(), st.Size())
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, maxFile))
}

// LoadError is returned by [Load] for a file that is not a valid genome.
type LoadError struct {
	Path string // the file
	Err  error  // the problems: one or more joined FieldErrors
}

// Error lists each problem on its own line under the file name.
func (e *LoadError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "genome: load %s:", e.Path)
	for _, err := range flatten(e.Err) {
		b.WriteString("\n\t")
		b.WriteString(strings.TrimPrefix(err.Error(), "genome: "))
	}
	b.WriteString("\n\t(fix these fields; Genome.Normalize clamps out-of-bounds values)")
	return b.String()
}

// Unwrap returns the problems.
func (e *LoadError) Unwrap() error { return e.Err }

func flatten(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, flatten(e)...)
		}
		return out
	}
	return []error{err}
}

package report

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/rafaelabs/rafael/internal/atomicfile"
	"github.com/rafaelabs/rafael/slo"
)

// ErrSchema is matched by the error for a report of a schema version this
// package does not read: one older or newer than [SchemaVersion], or none.
var ErrSchema = errors.New("report: unsupported schema version")

// MarshalIndent returns the report as indented JSON.
func (r *Report) MarshalIndent() ([]byte, error) {
	return json.MarshalIndent(r, "", "  ")
}

// WriteFile writes the report as JSON to path atomically: to a temporary
// file in the same directory, synced, then renamed over path, so a reader
// never sees half a report. It creates path's directory when missing.
func (r *Report) WriteFile(path string) error {
	data, err := r.MarshalIndent()
	if err != nil {
		return fmt.Errorf("report: encode %s: %w", path, err)
	}
	return write(path, append(data, '\n'))
}

// WriteFiles writes the report in dir as base.json, base.md and base.html
// (see [Report.Markdown] and [Report.HTML]), each atomically like
// [Report.WriteFile], and returns their paths. It renders all three before
// writing any, so a rendering error leaves nothing behind.
func (r *Report) WriteFiles(dir, base string) ([]string, error) {
	js, err := r.MarshalIndent()
	if err != nil {
		return nil, fmt.Errorf("report: encode %s: %w", base, err)
	}
	page, err := r.HTML()
	if err != nil {
		return nil, err
	}
	var paths []string
	for _, f := range []struct {
		ext  string
		data []byte
	}{{".json", append(js, '\n')}, {".md", r.Markdown()}, {".html", page}} {
		p := filepath.Join(dir, base+f.ext)
		if err := write(p, f.data); err != nil {
			return paths, err
		}
		paths = append(paths, p)
	}
	return paths, nil
}

// ReadFile reads a report written by [Report.WriteFile]. A file that is not
// JSON, is cut short, has a field this version does not know, or has
// another schema version is an error naming the file and the problem; the
// schema error matches [ErrSchema].
//
// A version 1 file is refused, not converted: its scores were on another
// scale, its latencies mixed failures with successes and its violations
// were sentences, so a converted report would show verdicts and numbers
// its run never measured. The error says to run the tests again with this
// version, which writes version 2.
func ReadFile(path string) (*Report, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	return decode(path, data)
}

// decode reads a report's JSON, as ReadFile does; path names it in errors.
func decode(path string, data []byte) (*Report, error) {
	var head struct {
		SchemaVersion *int `json:"schemaVersion"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return nil, fmt.Errorf("report: %s: not a complete JSON report: %w", path, err)
	}
	switch {
	case head.SchemaVersion == nil:
		return nil, fmt.Errorf("%w: %s has no schemaVersion: is it a RAFAEL report?", ErrSchema, path)
	case *head.SchemaVersion < SchemaVersion:
		return nil, fmt.Errorf("%w: %s has schemaVersion %d, written by an older rafael; this version reads %d and does not convert older reports, whose scores and latencies meant other things: run the tests again with this version (go test, or rafael test) to write it anew",
			ErrSchema, path, *head.SchemaVersion, SchemaVersion)
	case *head.SchemaVersion > SchemaVersion:
		return nil, fmt.Errorf("%w: %s has schemaVersion %d; this version of rafael reads %d: read it with the rafael that wrote it, or a newer one",
			ErrSchema, path, *head.SchemaVersion, SchemaVersion)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var r Report
	if err := dec.Decode(&r); err != nil {
		return nil, fmt.Errorf("report: %s: %w", path, err)
	}
	if err := r.checkKinds(); err != nil {
		return nil, fmt.Errorf("report: %s: %w", path, err)
	}
	return &r, nil
}

// checkKinds reports the first violation without a kind ({} or "kind":
// null, which encoding/json leaves at 0): the harness never writes one, it
// renders as "Kind(0)", and WriteFile could not encode it.
func (r *Report) checkKinds() error {
	check := func(where string, vs []slo.Violation) error {
		for i, v := range vs {
			if v.Kind == 0 {
				return fmt.Errorf("%s.violations[%d] has no kind: want one of successRate, p99, recovery, neverRecovered, hung, setup, aborted", where, i)
			}
		}
		return nil
	}
	trials := func(where string, ts []Trial) error {
		for i, t := range ts {
			w := fmt.Sprintf("%s[%d]", where, i)
			if err := check(w, t.Violations); err != nil {
				return err
			}
			for j, m := range t.Reruns {
				if err := check(fmt.Sprintf("%s.reruns[%d]", w, j), m.Violations); err != nil {
					return err
				}
			}
		}
		return nil
	}
	for i, th := range r.Threats {
		if err := trials(fmt.Sprintf("threats[%d].trials", i), th.Trials); err != nil {
			return err
		}
		if err := trials(fmt.Sprintf("threats[%d].evolvedTrials", i), th.EvolvedTrials); err != nil {
			return err
		}
	}
	for i, c := range r.Counterexamples {
		if err := check(fmt.Sprintf("counterexamples[%d]", i), c.Violations); err != nil {
			return err
		}
	}
	return nil
}

// write creates path's directory when missing and replaces path with data
// atomically.
func write(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	if err := atomicfile.Write(path, data); err != nil {
		return fmt.Errorf("report: write %s: %w", path, err)
	}
	return nil
}

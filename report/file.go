package report

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// ErrSchema is matched by the error for a report of a schema version this
// package does not read.
var ErrSchema = errors.New("report: unknown schema version")

// MarshalIndent returns the report as indented JSON.
func (r *Report) MarshalIndent() ([]byte, error) {
	return json.MarshalIndent(r, "", "  ")
}

// WriteFile writes the report as JSON to path atomically: to a temporary
// file in the same directory, synced, then renamed over path, so a reader
// never sees half a report.
func (r *Report) WriteFile(path string) error {
	data, err := r.MarshalIndent()
	if err != nil {
		return fmt.Errorf("report: encode %s: %w", path, err)
	}
	return writeAtomic(path, append(data, '\n'))
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
		if err := writeAtomic(p, f.data); err != nil {
			return paths, err
		}
		paths = append(paths, p)
	}
	return paths, nil
}

// ReadFile reads a report written by [Report.WriteFile]. A file that is not
// JSON, is cut short, or has an unknown schema version is an error naming
// the file and the problem.
func ReadFile(path string) (*Report, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	var head struct {
		SchemaVersion *int `json:"schemaVersion"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return nil, fmt.Errorf("report: %s: not a complete JSON report: %w", path, err)
	}
	switch {
	case head.SchemaVersion == nil:
		return nil, fmt.Errorf("%w: %s has no schemaVersion: is it a RAFAEL report?", ErrSchema, path)
	case *head.SchemaVersion != SchemaVersion:
		return nil, fmt.Errorf("%w: %s has schemaVersion %d; this version of rafael reads %d", ErrSchema, path, *head.SchemaVersion, SchemaVersion)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var r Report
	if err := dec.Decode(&r); err != nil {
		return nil, fmt.Errorf("report: %s: %w", path, err)
	}
	return &r, nil
}

// writeAtomic writes data to path through a temporary file and a rename.
func writeAtomic(path string, data []byte) (err error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if _, err = f.Write(data); err != nil {
		return fmt.Errorf("report: write %s: %w", path, err)
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("report: sync %s: %w", path, err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("report: close %s: %w", path, err)
	}
	if err = os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	return nil
}

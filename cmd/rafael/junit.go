package main

import (
	"encoding/xml"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/rafaelabs/rafael/internal/atomicfile"
)

// junit gathers go test -json events into a JUnit XML file, as CI systems
// read one: a test suite per package, a test case per test and subtest
// (the harness's trials are subtests: TestX/db-outage/seed=7), each with
// its t.Attr values as properties (rafael.score, rafael.verdict…), its
// output when it failed, and whether it was skipped.
type junit struct {
	suites map[string]*junitSuite // by package
	order  []string
}

type junitSuites struct {
	XMLName  xml.Name      `xml:"testsuites"`
	Tests    int           `xml:"tests,attr"`
	Failures int           `xml:"failures,attr"`
	Skipped  int           `xml:"skipped,attr"`
	Time     string        `xml:"time,attr"`
	Suites   []*junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name      string       `xml:"name,attr"`
	Tests     int          `xml:"tests,attr"`
	Failures  int          `xml:"failures,attr"`
	Errors    int          `xml:"errors,attr"`
	Skipped   int          `xml:"skipped,attr"`
	Time      string       `xml:"time,attr"`
	Cases     []*junitCase `xml:"testcase"`
	SystemOut string       `xml:"system-out,omitempty"`

	elapsed float64
	cases   map[string]*junitCase
	output  []string // the package's own output (a build failure, a panic outside a test)
}

type junitCase struct {
	Name       string        `xml:"name,attr"`
	Classname  string        `xml:"classname,attr"`
	Time       string        `xml:"time,attr"`
	Properties *junitProps   `xml:"properties,omitempty"`
	Failure    *junitFailure `xml:"failure,omitempty"`
	Skipped    *junitSkipped `xml:"skipped,omitempty"`
	SystemOut  string        `xml:"system-out,omitempty"`

	output []string
	done   bool
}

type junitProps struct {
	Props []junitProp `xml:"property"`
}

type junitProp struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Body    string `xml:",chardata"`
}

type junitSkipped struct {
	Message string `xml:"message,attr"`
}

func newJUnit() *junit { return &junit{suites: map[string]*junitSuite{}} }

func (j *junit) suite(pkg string) *junitSuite {
	s := j.suites[pkg]
	if s == nil {
		s = &junitSuite{Name: pkg, cases: map[string]*junitCase{}}
		j.suites[pkg] = s
		j.order = append(j.order, pkg)
	}
	return s
}

func (s *junitSuite) test(name string) *junitCase {
	c := s.cases[name]
	if c == nil {
		c = &junitCase{Name: name, Classname: s.Name}
		s.cases[name] = c
		s.Cases = append(s.Cases, c)
	}
	return c
}

// event takes one go test -json event.
func (j *junit) event(ev testEvent) {
	if ev.Package == "" {
		return
	}
	s := j.suite(ev.Package)
	if ev.Test == "" {
		switch ev.Action {
		case "output", "build-output":
			s.output = append(s.output, strings.TrimRight(ev.Output, "\n"))
		case "pass", "fail", "skip":
			s.elapsed = ev.Elapsed
		}
		return
	}
	c := s.test(ev.Test)
	switch ev.Action {
	case "output":
		c.output = append(c.output, strings.TrimRight(ev.Output, "\n"))
	case "attr":
		if c.Properties == nil {
			c.Properties = &junitProps{}
		}
		c.Properties.Props = append(c.Properties.Props, junitProp{Name: ev.Key, Value: ev.Value})
	case "pass", "fail", "skip":
		c.done = true
		c.Time = fmt.Sprintf("%.3f", ev.Elapsed)
		body := strings.Join(c.output, "\n")
		switch ev.Action {
		case "fail":
			c.Failure = &junitFailure{Message: firstLine(c.output, "failed"), Body: body}
		case "skip":
			c.Skipped = &junitSkipped{Message: firstLine(c.output, "skipped")}
		}
		if ev.Action != "fail" {
			c.SystemOut = body
		}
	}
}

// firstLine is the first line of a test's own output (not go test's
// framing), or def.
func firstLine(lines []string, def string) string {
	for _, l := range lines {
		t := strings.TrimSpace(l)
		if t == "" || strings.HasPrefix(t, "=== ") || strings.HasPrefix(t, "--- ") {
			continue
		}
		return t
	}
	return def
}

// write writes the file at path, atomically.
func (j *junit) write(path string) error {
	all := junitSuites{}
	total := 0.0
	for _, pkg := range j.order {
		s := j.suites[pkg]
		for _, c := range s.Cases {
			if !c.done { // the binary died before the test ended
				c.Failure = &junitFailure{Message: "the test did not finish (the test binary exited or timed out)", Body: strings.Join(c.output, "\n")}
			}
			s.Tests++
			switch {
			case c.Failure != nil:
				s.Failures++
			case c.Skipped != nil:
				s.Skipped++
			}
		}
		if len(s.Cases) == 0 && len(s.output) > 0 && slices.ContainsFunc(s.output, func(l string) bool { return strings.HasPrefix(l, "FAIL") }) {
			s.Errors = 1 // a build failure or a crash before any test
		}
		if s.Errors > 0 || s.Failures > 0 {
			s.SystemOut = strings.Join(s.output, "\n")
		}
		s.Time = fmt.Sprintf("%.3f", s.elapsed)
		total += s.elapsed
		all.Tests += s.Tests
		all.Failures += s.Failures + s.Errors
		all.Skipped += s.Skipped
		all.Suites = append(all.Suites, s)
	}
	all.Time = fmt.Sprintf("%.3f", total)
	out, err := xml.MarshalIndent(all, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return atomicfile.Write(path, append([]byte(xml.Header), append(out, '\n')...))
}

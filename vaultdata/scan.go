package vaultdata

import (
	"bytes"
	"encoding/json"
	"slices"
	"strconv"
	"unicode/utf8"
)

// The decoder splits objects and arrays with this small scanner rather than
// with encoding/json: a pattern file has a dozen members and most values are
// short strings, so one pass over the bytes, without reflection, is several
// times cheaper. Issue 22 measured both side by side (BENCHMARKS.md, "The
// vault's JSON"): built on json.Decoder and json.Unmarshal, loading lazily
// and searching 1,000 patterns took 28 ms rather than 7.5, against a goal of
// under 10 ms. And encoding/json checks the syntax of all it passes over,
// where a lazy load must leave a file's body, syntax included, for first
// use. Values keep their raw bytes; scalars are converted by text and number.

// member is one member of a JSON object: its key and its raw value.
type member struct {
	key string
	val json.RawMessage
}

// fields are an object's members in the order the file writes them.
type fields []member

// get returns the value of key; when a key is written twice, the last wins,
// as encoding/json decides.
func (f fields) get(key string) (json.RawMessage, bool) {
	for i := len(f) - 1; i >= 0; i-- {
		if f[i].key == key {
			return f[i].val, true
		}
	}
	return nil, false
}

// last reports whether f[i] is the last member of its key, the one get
// returns: a key written twice is reported once.
func (f fields) last(i int) bool {
	return !slices.ContainsFunc(f[i+1:], func(g member) bool { return g.key == f[i].key })
}

// scanner walks a JSON value. It checks the structure (strings closed,
// brackets matched, members separated by commas and colons) but leaves the
// spelling of scalars to text and number: it is sound on any input, and
// complete only where json.Valid has passed.
type scanner struct {
	b []byte
	i int
}

func (s *scanner) space() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

func (s *scanner) peek() byte {
	if s.i < len(s.b) {
		return s.b[s.i]
	}
	return 0
}

// str passes the string at s.i and reports whether it is closed and holds
// an escape. It jumps from quote to quote: most of a pattern file is
// strings.
func (s *scanner) str() (escaped, ok bool) {
	start := s.i + 1
	for i := start; ; i++ {
		j := bytes.IndexByte(s.b[i:], '"')
		if j < 0 {
			return false, false
		}
		i += j
		k := i // the quote is escaped when an odd number of '\\' precede it
		for k > start && s.b[k-1] == '\\' {
			k--
		}
		if (i-k)%2 == 0 {
			s.i = i + 1
			return bytes.IndexByte(s.b[start:i], '\\') >= 0, true
		}
	}
}

// structural marks the bytes that open or close a string, object or array.
var structural = [256]bool{'"': true, '{': true, '}': true, '[': true, ']': true}

// value passes the value at s.i.
func (s *scanner) value() bool {
	switch s.peek() {
	case '"':
		_, ok := s.str()
		return ok
	case '{', '[':
		var open []byte // the closers owed, innermost last
		for s.i < len(s.b) {
			for s.i < len(s.b) && !structural[s.b[s.i]] { // most bytes: indentation, names, numbers
				s.i++
			}
			if s.i == len(s.b) {
				break
			}
			switch c := s.b[s.i]; c {
			case '"':
				if _, ok := s.str(); !ok {
					return false
				}
				continue
			case '{':
				open = append(open, '}')
			case '[':
				open = append(open, ']')
			case '}', ']':
				if open[len(open)-1] != c {
					return false
				}
				open = open[:len(open)-1]
				if len(open) == 0 {
					s.i++
					return true
				}
			}
			s.i++
		}
		return false
	case 0, ',', '}', ']', ':':
		return false
	}
	start := s.i
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ',', '}', ']', ' ', '\t', '\n', '\r':
			return s.i > start
		}
		s.i++
	}
	return s.i > start
}

// members splits the JSON object raw into its members, or reports false
// when raw is not a well-formed object.
func members(raw []byte) (fields, bool) {
	m, _, ok := membersUntil(raw, nil, nil)
	return m, ok
}

// membersUntil is members that stops at the first known top-level key not
// in head once every key of want has been seen (whole is then false; an
// unknown key there, a misspelt header field, does not stop it): a lazy load reads
// a file's header, which files write first, and leaves the genome, threats
// and proofs after it unread.
func membersUntil(raw []byte, want, head []string) (m fields, whole, ok bool) {
	seen := 0
	s := &scanner{b: raw}
	s.space()
	if s.peek() != '{' {
		return nil, false, false
	}
	s.i++
	s.space()
	out := make(fields, 0, 16)
	if s.peek() == '}' {
		s.i++
		return out, true, s.end()
	}
	for {
		if s.peek() != '"' {
			return nil, false, false
		}
		start := s.i
		escaped, ok := s.str()
		if !ok {
			return nil, false, false
		}
		key := intern(raw[start+1 : s.i-1])
		if escaped || !utf8.Valid(raw[start+1:s.i-1]) { // encoding/json's rules: unescape, and U+FFFD for bad bytes
			var k string // not key itself, which would then live on the heap
			if err := json.Unmarshal(raw[start:s.i], &k); err != nil {
				return nil, false, false
			}
			key = k
		}
		if len(want) > 0 && seen == len(want) && !slices.Contains(head, key) && slices.Contains(topFields, key) {
			return out, false, true
		}
		s.space()
		if s.peek() != ':' {
			return nil, false, false
		}
		s.i++
		s.space()
		start = s.i
		if !s.value() {
			return nil, false, false
		}
		if slices.Contains(want, key) && !slices.ContainsFunc(out, func(f member) bool { return f.key == key }) {
			seen++
		}
		out = append(out, member{key, raw[start:s.i]})
		if more, ok := s.next('}'); !more {
			return out, true, ok
		}
	}
}

// keys are the keys pattern files use, so that splitting an object need
// not allocate them.
var keys = func() map[string]string {
	m := map[string]string{}
	for _, list := range [][]string{topFields, {"dependencies", "name", "service", "capacity",
		"kind", "target", "second", "outage", "delay", "jitter", "inject", "callers", "rate",
		"successRate", "p99", "recoverWithin", "seed", "tier", "date", "report",
		"bytes", "steady", "recover", "severity", "where", "score", "genome", "test", "dir", "package", "run",
		"module", "digest", "seq", "entry"}} {
		for _, k := range list {
			m[k] = k
		}
	}
	return m
}()

// intern returns b as a string, without allocating when it is a known key.
func intern(b []byte) string {
	if k, ok := keys[string(b)]; ok {
		return k
	}
	return string(b)
}

// elements splits the JSON array raw into its elements, or reports false
// when raw is not a well-formed array.
func elements(raw []byte) ([]json.RawMessage, bool) {
	s := &scanner{b: raw}
	s.space()
	if s.peek() != '[' {
		return nil, false
	}
	s.i++
	s.space()
	out := make([]json.RawMessage, 0, 4)
	if s.peek() == ']' {
		s.i++
		return out, s.end()
	}
	for {
		start := s.i
		if !s.value() {
			return nil, false
		}
		out = append(out, raw[start:s.i])
		if more, ok := s.next(']'); !more {
			return out, ok
		}
	}
}

// next passes the comma before another member or element (more), or the
// closer that ends the value, which must end the input (ok).
func (s *scanner) next(closer byte) (more, ok bool) {
	s.space()
	switch s.peek() {
	case ',':
		s.i++
		s.space()
		return true, true
	case closer:
		s.i++
		return false, s.end()
	}
	return false, false
}

// end reports whether only white space is left.
func (s *scanner) end() bool {
	s.space()
	return s.i == len(s.b)
}

// text converts the JSON string raw, as json.Unmarshal into a string would
// (null is ""); false when raw is not a string.
func text(raw []byte) (string, bool) {
	if n := len(raw); n >= 2 && raw[0] == '"' && raw[n-1] == '"' && plain(raw[1:n-1]) {
		return string(raw[1 : n-1]), true
	}
	var s string
	err := json.Unmarshal(raw, &s)
	return s, err == nil
}

// plain reports whether b is printable ASCII without quotes or escapes: a
// string's body that means itself.
func plain(b []byte) bool {
	for _, c := range b {
		if c < 0x20 || c >= 0x80 || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// number converts the JSON number raw, as json.Unmarshal into a float64
// would; false when raw is not a number.
func number(raw []byte) (float64, bool) {
	if isNumber(raw) {
		if f, err := strconv.ParseFloat(string(raw), 64); err == nil {
			return f, true
		}
	}
	var f float64
	err := json.Unmarshal(raw, &f)
	return f, err == nil
}

// isNumber reports whether b is spelled as a JSON number:
// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func isNumber(b []byte) bool {
	i := 0
	digits := func() bool {
		start := i
		for i < len(b) && '0' <= b[i] && b[i] <= '9' {
			i++
		}
		return i > start
	}
	if i < len(b) && b[i] == '-' {
		i++
	}
	if i < len(b) && b[i] == '0' {
		i++
	} else if !digits() {
		return false
	}
	if i < len(b) && b[i] == '.' {
		i++
		if !digits() {
			return false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if !digits() {
			return false
		}
	}
	return i == len(b)
}

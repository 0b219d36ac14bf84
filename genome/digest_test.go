package genome

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// staticGenome is a valid genome whose only gene is a static fallback with
// the given value.
func staticGenome(value string) *Genome {
	return &Genome{Module: "m", Fallback: &Fallback{Kind: FallbackStatic, Value: json.RawMessage(value)}}
}

// FuzzDecode found this: encoding/json escapes & as \u0026 when it re-encodes
// MarshalJSON's output, and the digest hashed the escaped form.
func TestDigestSurvivesHTMLEscapingOfTheFallbackValue(t *testing.T) {
	g := staticGenome(`"fish & chips"`)
	enc, err := json.Marshal(g)
	require.NoError(t, err)
	back, err := Parse(enc)
	require.NoError(t, err)
	assert.Equal(t, g.Digest(), back.Digest(), "after json.Marshal:\n%s", enc)
}

// The same genome however its fallback value is spelled: every document in a
// row has the digest of the first, and the first is how MarshalJSON writes
// the value.
func TestDigestIgnoresHowTheFallbackValueIsSpelled(t *testing.T) {
	for name, spellings := range map[string][]string{
		"ampersand":          {`"a&b"`, `"a\u0026b"`, `"\u0061\u0026\u0062"`},
		"angle brackets":     {`"<p>"`, `"\u003cp\u003e"`, `"\u003Cp\u003E"`},
		"line separators":    {"\"\u2028\u2029\"", `"\u2028\u2029"`},
		"unicode escapes":    {`"A€😀"`, `"\u0041\u20ac\ud83d\ude00"`, `"\u0041\u20AC\uD83D\uDE00"`},
		"short escapes":      {`"\"\\\b\f\n\r\t/"`, `"\u0022\u005c\u0008\u000c\u000a\u000d\u0009\/"`},
		"control escapes":    {"\"\\u0000\\u001f\x7f\"", `"\u0000\u001F\u007f"`, `"\u0000\u001f\u007F"`},
		"invalid UTF-8":      {"\"\uFFFD\uFFFD\"", "\"\xff\xfe\"", "\"\uFFFD\xc3\""},
		"UTF-8 surrogate":    {"\"\uFFFD\uFFFD\uFFFD\"", "\"\xed\xa0\x80\""},
		"unpaired surrogate": {"\"\uFFFD\"", `"\ud800"`, `"\udfff"`},
		"integer forms":      {`1`, `1.0`, `1.000`, `1e0`, `1E+0`, `10e-1`, `0.1e1`},
		"hundred":            {`100`, `1e2`, `1E2`, `1e+2`, `100.0`, `0.001e5`},
		"zero":               {`0`, `-0`, `0.0`, `-0.0`, `0e10`, `-0e-10`},
		"fractions":          {`0.5`, `5e-1`, `0.50`, `50e-2`},
		"small":              {`1e-7`, `0.0000001`, `10e-8`},
		"large":              {`1e+21`, `1000000000000000000000`, `1e21`},
		"below 1e21":         {`100000000000000000000`, `1e20`},
		"micro":              {`0.000001`, `1e-6`},
		"negative":           {`-1.5e+30`, `-15e29`, `-1500000000000000000000000000000`},
		"key order":          {`{"a":1,"b":[true,false,null]}`, `{"b":[true,false,null],"a":1}`},
		"duplicate keys":     {`{"a":2}`, `{"a":1,"a":2}`, `{"a":{"x":1},"a":2}`},
		"nested":             {`[{"a":{"b":1,"c":2}}]`, ` [ { "a" : { "c" : 2.0 , "b" : 1 } } ] `},
		"whitespace":         {`{"a":[1,2]}`, "\t{\n  \"a\": [\r\n 1 ,2 ]\n}\n"},
		"UTF-16 key order":   {"{\"\U0001F600\":1,\"\uFB01\":2}", `{"\ufb01":2,"\ud83d\ude00":1}`},
	} {
		t.Run(name, func(t *testing.T) {
			want := staticGenome(spellings[0])
			require.NoError(t, want.Validate())
			data, err := want.MarshalJSON()
			require.NoError(t, err)
			assert.Contains(t, string(data), `"value":`+spellings[0]+`}`, "the first spelling is the canonical one")
			for _, s := range spellings[1:] {
				doc := `{"schemaVersion":1,"module":"m","genes":{"fallback":{"kind":"static","value":` + s + `}}}`
				g, err := Parse([]byte(doc))
				require.NoError(t, err, doc)
				assert.Equal(t, want.Digest(), g.Digest(), "value %s", s)
				assert.Equal(t, spellings[0], string(g.Fallback.Value), "decoding stores the canonical form of %s", s)
				assert.Equal(t, want.Digest(), staticGenome(s).Digest(), "a value set from Go, %s, is hashed in canonical form", s)
				assert.Empty(t, Diff(want, staticGenome(s)), "%s is no change", s)
			}
		})
	}
}

// Values that decode differently keep different digests; in particular a
// number is never rounded to a double, so a big integer keeps its digits.
func TestDigestTellsDifferentFallbackValuesApart(t *testing.T) {
	for _, pair := range [][2]string{
		{`1`, `2`},
		{`"a"`, `"A"`},
		{`[1,2]`, `[2,1]`},
		{`{"a":1}`, `{"A":1}`},
		{`null`, `{}`},
		{`9007199254740993`, `9007199254740992`},
		{`0.1`, `0.10000000000000001`},
		{`1e400`, `1e401`},
		{`"<"`, `"\\u003c"`},
	} {
		a, b := staticGenome(pair[0]), staticGenome(pair[1])
		assert.NotEqual(t, a.Digest(), b.Digest(), "%s and %s", pair[0], pair[1])
		assert.NotEmpty(t, Diff(a, b), "%s and %s", pair[0], pair[1])
	}
}

// The number layout is RFC 8785's (ECMAScript's Number-to-String) for every
// number that is the shortest spelling of a double, and keeps every digit of
// those that are not.
func TestCanonicalNumber(t *testing.T) {
	for lit, want := range map[string]string{
		"0": "0", "-0": "0", "0.000": "0", "-0e-99": "0", "00": "0",
		"1": "1", "-1": "-1", "10": "10", "1.50": "1.5", "4.50": "4.5", "2e-3": "0.002",
		"0.000001": "0.000001", "0.0000001": "1e-7", "0.00000123": "0.00000123", "0.000000123": "1.23e-7",
		"123456789012345678901":    "123456789012345678901",
		"1234567890123456789012":   "1.234567890123456789012e+21",
		"295147905179352830000":    "295147905179352830000",
		"1e21":                     "1e+21",
		"1E+30":                    "1e+30",
		"-1.5e+30":                 "-1.5e+30",
		"1e23":                     "1e+23",
		"5e-324":                   "5e-324",
		"1.7976931348623157e308":   "1.7976931348623157e+308",
		"9007199254740992":         "9007199254740992",
		"9007199254740993":         "9007199254740993",
		"333333333.33333329":       "333333333.33333329",
		"333333333.3333333":        "333333333.3333333",
		"0.1":                      "0.1",
		"12.34e1":                  "123.4",
		"1234e-2":                  "12.34",
		"100e-2":                   "1",
		"1e999999999999999999999":  "1e+999999999999999999999",
		"-12e-999999999999999999":  "-1.2e-999999999999999998",
		"0.5e00000000000000000001": "5",
	} {
		assert.Equal(t, want, canonicalNumber(lit), "canonicalNumber(%s)", lit)
	}
}

// The string escapes of RFC 8785's example, and no HTML escaping.
func TestCanonicalJSONStrings(t *testing.T) {
	got, err := canonicalJSON([]byte(`["\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/", "<&>\u2028\u2029"]`))
	require.NoError(t, err)
	assert.Equal(t, "[\"€$\\u000f\\nA'B\\\"\\\\\\\\\\\"/\",\"<&>\u2028\u2029\"]", string(got))

	_, err = canonicalJSON([]byte(`{"a":1,}`))
	assert.Error(t, err)
	_, err = canonicalJSON([]byte(`1 2`))
	assert.Error(t, err)
	_, err = canonicalJSON(nil)
	assert.Error(t, err)
}

// A genome file keeps its digest however it is written and read back: as
// MarshalJSON writes it, indented, re-encoded by encoding/json (which escapes
// HTML characters) inside another document, and decoded into a generic value
// and encoded again.
func TestDigestSurvivesFileRoundTrips(t *testing.T) {
	g := full()
	g.Fallback.Value = json.RawMessage("{\"note\": \"fish & chips <b>\u2028\", \"price\": 4.50, \"qty\": 1e2, \"tags\": [\"\\u0041\"], \"note\": \"a&b\"}")
	require.NoError(t, g.Validate())
	canonical, err := g.MarshalJSON()
	require.NoError(t, err)
	assert.Contains(t, string(canonical), `"value":{"note":"a&b","price":4.5,"qty":100,"tags":["A"]}`)

	var indented bytes.Buffer
	require.NoError(t, json.Indent(&indented, canonical, "", "  "))
	marshalIndent, err := json.MarshalIndent(g, "", "\t")
	require.NoError(t, err)
	embedded, err := json.Marshal(struct{ Genome json.RawMessage }{canonical})
	require.NoError(t, err)
	var wrapper struct{ Genome json.RawMessage }
	require.NoError(t, json.Unmarshal(embedded, &wrapper))
	assert.Contains(t, string(wrapper.Genome), `\u0026`, "encoding/json escapes & in an embedded document")
	var generic any
	require.NoError(t, json.Unmarshal(canonical, &generic))
	viaAny, err := json.Marshal(generic)
	require.NoError(t, err)

	for name, data := range map[string][]byte{
		"MarshalJSON": canonical, "json.Indent": indented.Bytes(), "json.MarshalIndent": marshalIndent,
		"embedded": wrapper.Genome, "generic": viaAny,
	} {
		back, err := Parse(data)
		require.NoError(t, err, name)
		assert.Equal(t, g.Digest(), back.Digest(), "%s:\n%s", name, data)
		again, err := back.MarshalJSON()
		require.NoError(t, err)
		assert.Equal(t, string(canonical), string(again), "%s: MarshalJSON writes the same bytes", name)
	}

	// The same through a file, as Load reads it.
	path := filepath.Join(t.TempDir(), "m.genome.json")
	require.NoError(t, os.WriteFile(path, marshalIndent, 0o644))
	loaded, err := Load(path)
	require.NoError(t, err)
	assert.Equal(t, g.Digest(), loaded.Digest())
}

// MarshalJSON escapes the genome's own strings minimally too, so a module
// name (invalid, but decodable) with HTML characters round-trips.
func TestMarshalJSONDoesNotEscapeHTML(t *testing.T) {
	g := &Genome{Module: "a<b>&c\u2028\xff"}
	data, err := g.MarshalJSON()
	require.NoError(t, err)
	assert.Contains(t, string(data), "\"module\":\"a<b>&c\u2028\uFFFD\"")
	enc, err := json.Marshal(g)
	require.NoError(t, err)
	var back Genome
	require.NoError(t, back.UnmarshalJSON(enc))
	assert.Equal(t, g.Digest(), back.Digest())
}

// A policy behaves as its digest says: the fallback value it returns is the
// canonical one even when the genome was built from Go with another spelling
// (1.0 does not decode into an int; its canonical form, 1, does).
func TestCompileUsesTheCanonicalFallbackValue(t *testing.T) {
	for _, value := range []string{`1.0`, `1e0`, "\t1 "} {
		p := mustCompile(t, staticGenome(value))
		assert.Equal(t, staticGenome(`1`).Digest(), p.Digest())
		n, err := Get(context.Background(), p, func(context.Context) (int, error) { return 0, errors.New("down") })
		require.NoError(t, err, value)
		assert.Equal(t, 1, n, value)
	}
}

// A fallback value set from Go that is not JSON fails MarshalJSON and
// Validate, naming the field.
func TestInvalidFallbackValue(t *testing.T) {
	g := staticGenome(`{"a":`)
	_, err := g.MarshalJSON()
	assert.ErrorContains(t, err, "fallback.value")
	assert.ErrorContains(t, g.Validate(), "fallback.value")
	assert.Regexp(t, `^sha256:[0-9a-f]{64}$`, g.Digest())
}

package genome

import (
	"bytes"
	"encoding/json"
	"strconv"
	"testing"
)

func FuzzDecode(f *testing.F) {
	good, _ := json.Marshal(full())
	f.Add(good)
	f.Add([]byte(`{"schemaVersion":1,"module":"m","genes":{"retry":{"baseDelay":"-5ms"}}}`))
	f.Add([]byte(`{"schemaVersion":1,"module":"m","genes":{"fallback":{"kind":"static","value":[1,{"a":null}]}}}`))
	f.Add([]byte(`{"schemaVersion":2}`))
	f.Add([]byte(`{"schemaVersion":1,"genes":{"circuitBreaker":{"mode":"rate","window":1e9}}}`))
	f.Add([]byte(`[]`))
	// The spellings a canonical digest must see through (testdata/fuzz/FuzzDecode
	// holds the inputs that once broke it).
	f.Add([]byte(`{"schemaVersion":1,"module":"m","genes":{"fallback":{"kind":"static","value":"<a href='x'>&amp;</a>` + "\u2028\u2029" + `"}}}`))
	f.Add([]byte(`{"schemaVersion":1,"module":"m","genes":{"fallback":{"kind":"static","value":{"b":[1.0,1e2,-0,0.50,1E-7,9007199254740993],"a":"\u0041\ud83d\ude00\ud800","a":"x"}}}}`))
	f.Add([]byte("{\"schemaVersion\":1,\"module\":\"m\xff<\",\"genes\":{\"fallback\":{\"kind\":\"static\",\"value\":\"\xff\xed\xa0\x80\"}}}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var g Genome
		if err := g.UnmarshalJSON(data); err != nil {
			if err.Error() == "" {
				t.Fatal("empty error message")
			}
			return
		}
		canonical, err := g.MarshalJSON()
		if err != nil {
			t.Fatalf("marshal of a decoded genome: %v", err)
		}
		if !json.Valid(canonical) {
			t.Fatalf("MarshalJSON wrote invalid JSON: %s", canonical)
		}
		if f := g.Fallback; f != nil && len(f.Value) > 0 {
			if c, err := canonicalJSON(f.Value); err != nil || !bytes.Equal(c, f.Value) {
				t.Fatalf("decoded fallback value %s is not canonical (%s, %v)", f.Value, c, err)
			}
		}
		// Whatever decodes has the digest of its canonical JSON however the
		// input or the output is re-encoded: the output itself, and each
		// through encoding/json's escaping, indentation and generic values.
		enc, err := json.Marshal(&g)
		if err != nil {
			t.Fatalf("json.Marshal of a decoded genome: %v", err)
		}
		forms := map[string][]byte{"MarshalJSON": canonical, "json.Marshal": enc}
		for _, src := range []struct {
			name string
			data []byte
		}{{"input", data}, {"output", canonical}} {
			for name, re := range reencode(t, src.data) {
				forms[src.name+" "+name] = re
			}
		}
		for name, form := range forms {
			var back Genome
			if err := back.UnmarshalJSON(form); err != nil {
				t.Fatalf("%s does not decode: %v\n%s", name, err, form)
			}
			again, err := back.MarshalJSON()
			if err != nil {
				t.Fatalf("%s: marshal: %v", name, err)
			}
			if !bytes.Equal(again, canonical) || back.Digest() != g.Digest() {
				t.Fatalf("digest changed across a round trip (%s):\n%s\nnow encodes as\n%s\nnot\n%s", name, form, again, canonical)
			}
		}
		// ...and normalizes into a genome that compiles.
		g.Normalize()
		if errs := g.validateGenes(); len(errs) > 0 {
			t.Fatalf("normalized genome invalid: %v", errs)
		}
		if _, err := Compile(&g); err != nil {
			t.Fatalf("compile after Normalize: %v", err)
		}
	})
}

// reencode returns the JSON document data as encoding/json rewrites it:
// embedded in another document (which escapes <, >, &, U+2028 and U+2029),
// indented, compacted, and decoded into a generic value and encoded again,
// with its numbers as json.Number and, when every number is exactly a
// double (and decodes as one), as float64.
func reencode(t *testing.T, data []byte) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	var err error
	if out["embedded"], err = json.Marshal(json.RawMessage(data)); err != nil {
		t.Fatalf("json.Marshal(json.RawMessage): %v", err)
	}
	if out["embedded indented"], err = json.MarshalIndent(json.RawMessage(data), " ", "\t"); err != nil {
		t.Fatalf("json.MarshalIndent(json.RawMessage): %v", err)
	}
	var b bytes.Buffer
	if err := json.Indent(&b, data, "", "  "); err != nil {
		t.Fatalf("json.Indent: %v", err)
	}
	out["indented"] = bytes.Clone(b.Bytes())
	b.Reset()
	if err := json.Compact(&b, out["indented"]); err != nil {
		t.Fatalf("json.Compact: %v", err)
	}
	out["indented, compacted"] = bytes.Clone(b.Bytes())

	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		t.Fatalf("decode into a generic value: %v", err)
	}
	if out["generic json.Number"], err = json.Marshal(v); err != nil {
		t.Fatalf("json.Marshal of a generic value: %v", err)
	}
	// A number out of a double's range fails the decoding even where a later
	// duplicate key overrides it.
	var f any
	if exactDoubles(v) && json.Unmarshal(data, &f) == nil {
		if out["generic float64"], err = json.Marshal(f); err != nil {
			t.Fatalf("json.Marshal of a generic value: %v", err)
		}
	}
	return out
}

// exactDoubles reports whether every number in v (decoded with UseNumber)
// survives decoding into a float64: a number that does not, such as
// 9007199254740993, changes value, and so digest, through a generic value.
func exactDoubles(v any) bool {
	switch v := v.(type) {
	case json.Number:
		f, err := strconv.ParseFloat(string(v), 64)
		return err == nil && canonicalNumber(string(v)) == canonicalNumber(strconv.FormatFloat(f, 'g', -1, 64))
	case []any:
		for _, e := range v {
			if !exactDoubles(e) {
				return false
			}
		}
	case map[string]any:
		for _, e := range v {
			if !exactDoubles(e) {
				return false
			}
		}
	}
	return true
}

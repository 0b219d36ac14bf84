package vaultdata

import (
	"bytes"
	"encoding/json"
	"os"
	"testing"
)

// FuzzScanner checks the scanner against encoding/json: on valid JSON,
// members, elements, text and number decode what json.Unmarshal decodes.
func FuzzScanner(f *testing.F) {
	data, err := os.ReadFile("patterns/pgx-outage-retry.json")
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{string(data), `{"a":1,"a":[2,{"b":"\u0061]"}]}`, `[1, "x", null, -0.5e3]`, `"a\"b"`, `{"\u0069d": "x"}`, `{}`, `[]`, `null`, `0x10`, `{"a":}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, mok := members(b)
		a, aok := elements(b)
		s, sok := text(b)
		n, nok := number(b)
		if !json.Valid(b) {
			if sok || nok {
				t.Errorf("%q is not JSON, but text %v, number %v", b, sok, nok)
			}
			return
		}
		var wantM map[string]json.RawMessage
		if err := json.Unmarshal(b, &wantM); (err == nil && wantM != nil) != mok {
			t.Fatalf("members(%q) ok %v; json: %v", b, mok, err)
		}
		for k, v := range wantM {
			if got, _ := m.get(k); !bytes.Equal(got, v) {
				t.Errorf("members(%q)[%q] = %q, json %q", b, k, got, v)
			}
		}
		if mok && len(wantM) != len(m) {
			distinct := map[string]bool{}
			for _, f := range m {
				distinct[f.key] = true
			}
			if len(distinct) != len(wantM) {
				t.Errorf("members(%q): %d keys, json %d", b, len(distinct), len(wantM))
			}
		}
		var wantA []json.RawMessage
		if err := json.Unmarshal(b, &wantA); (err == nil && wantA != nil) != aok || aok && len(a) != len(wantA) {
			t.Fatalf("elements(%q) = %d, %v; json %d, %v", b, len(a), aok, len(wantA), err)
		}
		for i := range wantA {
			if !bytes.Equal(a[i], wantA[i]) {
				t.Errorf("elements(%q)[%d] = %q, json %q", b, i, a[i], wantA[i])
			}
		}
		var wantS string
		if err := json.Unmarshal(b, &wantS); (err == nil) != sok || s != wantS {
			t.Errorf("text(%q) = %q, %v; json %q, %v", b, s, sok, wantS, err)
		}
		var wantN float64
		if err := json.Unmarshal(b, &wantN); (err == nil) != nok || n != wantN {
			t.Errorf("number(%q) = %v, %v; json %v, %v", b, n, nok, wantN, err)
		}
	})
}

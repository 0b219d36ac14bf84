package genome

import (
	"encoding/json"
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
	f.Fuzz(func(t *testing.T, data []byte) {
		var g Genome
		if err := g.UnmarshalJSON(data); err != nil {
			if err.Error() == "" {
				t.Fatal("empty error message")
			}
			return
		}
		// Whatever decodes re-encodes to the same digest...
		enc, err := json.Marshal(&g)
		if err != nil {
			t.Fatalf("marshal of a decoded genome: %v", err)
		}
		var back Genome
		if err := back.UnmarshalJSON(enc); err != nil {
			t.Fatalf("re-decode of %s: %v", enc, err)
		}
		if g.Digest() != back.Digest() {
			t.Fatalf("digest changed across a round trip:\n%s", enc)
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

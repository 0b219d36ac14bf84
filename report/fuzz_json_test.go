package report

import (
	"encoding/json"
	"testing"
)

// FuzzReportJSON feeds arbitrary bytes to the report decoder (what
// ReadFile, merge and diff read): no panic, and a report it accepts
// encodes to JSON that decodes again and encodes to the same bytes.
//
// The seeds are small reports, not the goldens: the fuzzer minimizes every
// new input it finds, in time quadratic in its size, and a 26 KB golden
// stalls it for the whole run.
func FuzzReportJSON(f *testing.F) {
	small, _ := json.Marshal(&Report{SchemaVersion: SchemaVersion, Module: "checkout", Seed: 7, Tier: "simulated",
		Threats: []Threat{{Name: "latency", Threat: "latency(delay=1s) [medium]", Status: Met, Trials: []Trial{{Seed: 3}}}},
		Audit:   &AuditRef{Status: "pending", Seq: 4}})
	f.Add(small)
	f.Add([]byte(`{"schemaVersion": 2, "module": "checkout", "threats": []}`))
	f.Add([]byte(`{"schemaVersion": 1}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := decode("fuzz.json", data)
		if err != nil {
			return
		}
		first, err := json.Marshal(r)
		if err != nil {
			t.Fatalf("an accepted report does not encode: %v", err)
		}
		again, err := decode("again.json", first)
		if err != nil {
			t.Fatalf("an accepted report, encoded, is refused: %v\n%s", err, first)
		}
		second, err := json.Marshal(again)
		if err != nil || string(first) != string(second) {
			t.Fatalf("a report does not survive its own encoding:\n%s\n%s", first, second)
		}
	})
}

package report

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// FuzzReportJSON feeds arbitrary bytes to the report decoder (what
// ReadFile, merge and diff read): no panic, and a report it accepts
// encodes to JSON that decodes again and encodes to the same bytes.
func FuzzReportJSON(f *testing.F) {
	goldens, _ := filepath.Glob(filepath.Join("testdata", "*.json"))
	for _, g := range goldens {
		if data, err := os.ReadFile(g); err == nil && len(data) < 64<<10 {
			f.Add(data)
		}
	}
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

package guardian

import "testing"

// BenchmarkVerify10k verifies a 10,000-entry log and its checkpoint:
// every line decoded, chained, its signature checked, the Merkle root
// recomputed.
func BenchmarkVerify10k(b *testing.B) {
	log, cp := buildLog(b, 10_000, auditKey)
	b.SetBytes(int64(len(log)))
	b.ResetTimer()
	for b.Loop() {
		if err := Verify(log, cp, trustAudit); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerify20 is the size of the tamper test's log.
func BenchmarkVerify20(b *testing.B) {
	log, cp := buildLog(b, 20, auditKey)
	for b.Loop() {
		if err := Verify(log, cp, trustAudit); err != nil {
			b.Fatal(err)
		}
	}
}

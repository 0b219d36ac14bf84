package guardian

import (
	"testing"
)

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

// BenchmarkPropose10k proposes a low-impact change to a directory whose log
// holds 10,000 entries: the lock, the verification of the whole record
// before the write (the checkpoint's signature and Merkle root over every
// line, each entry decoded into the history), three entries appended and
// fsynced, the checkpoint and the genome file rewritten. One op is one
// proposal.
func BenchmarkPropose10k(b *testing.B) {
	dir, _, _ := buildDir(b, 10_000, auditKey)
	g, err := Open(dir, append(isolated(auditKey), WithOrigin("rafael audit example.com/shop"))...)
	if err != nil {
		b.Fatal(err)
	}
	i := 0
	for b.Loop() {
		i++
		d, err := g.Propose(b.Context(), Proposal{New: lowChange(baseGenome(), 600+i%2), Actor: "bench"})
		if err != nil || d.Status != Adopted {
			b.Fatal(d.Status, err)
		}
	}
}

// BenchmarkPropose10kCold is BenchmarkPropose10k with a new guardian for
// every proposal, as each go test process opens its own: the whole log is
// decoded before the write.
func BenchmarkPropose10kCold(b *testing.B) {
	dir, _, _ := buildDir(b, 10_000, auditKey)
	i := 0
	for b.Loop() {
		i++
		g, err := Open(dir, append(isolated(auditKey), WithOrigin("rafael audit example.com/shop"))...)
		if err != nil {
			b.Fatal(err)
		}
		d, err := g.Propose(b.Context(), Proposal{New: lowChange(baseGenome(), 600+i%2), Actor: "bench"})
		if err != nil || d.Status != Adopted {
			b.Fatal(d.Status, err)
		}
	}
}

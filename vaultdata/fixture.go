package vaultdata

import "github.com/rafaelabs/rafael/genome"

// TB is the part of testing.TB that [MustGenome] uses.
type TB interface {
	Helper()
	Fatalf(format string, args ...any)
}

// MustGenome returns a copy of the genome of the shipped pattern id, as a
// test's starting genome:
//
//	Genome: vaultdata.MustGenome(t, "pgx-outage-retry"),
//
// An unknown id fails the test with the closest ids.
func MustGenome(t TB, id string) *genome.Genome {
	t.Helper()
	g, err := Default().Genome(id)
	if err != nil {
		t.Fatalf("%v", err)
		return nil
	}
	return g
}

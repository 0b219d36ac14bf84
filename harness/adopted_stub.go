package harness

// TEMPORARY until the evidence helpers land.

import (
	"github.com/rafaelabs/rafael/genome"
	"github.com/rafaelabs/rafael/report"
)

func proposalEvidence(rep *report.Report, champion *genome.Genome) ([]byte, error) {
	return []byte(champion.Digest()), nil
}

func proposalThreats(rep *report.Report) []string { return nil }

package vaultdata

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/rafaelabs/rafael/internal/atomicfile"
	"math"
	"path/filepath"

	"github.com/rafaelabs/rafael/genome"
	"github.com/rafaelabs/rafael/report"
)

// FromReport returns p completed with what the harness run rep measured:
// the champion genome (when the run did not evolve, p.Genome, which must be
// the genome the report measured),
// the SLO, the declared score (the evolved score, else the baseline score,
// rounded down), status experimental, and the provenance — the run's seed
// and tier, its end as the date, and the SHA-256 of the report's JSON file.
// p supplies the rest: id, name, category, stack, tags, example, and the
// threats and model the run used, which a report does not hold as data.
func FromReport(rep *report.Report, p Pattern) (Pattern, error) {
	if rep == nil {
		return p, errors.New("vaultdata: no report")
	}
	var g *genome.Genome
	if len(rep.ChampionGenome) > 0 {
		var err error
		if g, err = genome.Parse(rep.ChampionGenome); err != nil {
			return p, fmt.Errorf("vaultdata: the report's champion genome: %w", err)
		}
	} else {
		// A run that did not evolve names its genome only by digest: p
		// must hold the genome it measured.
		if p.Genome == nil {
			return p, fmt.Errorf("vaultdata: the report of %s did not evolve, so it holds no genome: give the one it measured in p.Genome", rep.Module)
		}
		g = p.Genome.Clone()
		g.Module = rep.Module
		if d := g.Digest(); d != rep.Genome {
			return p, fmt.Errorf("vaultdata: p.Genome (%s as module %s) is not the genome the report of %s measured (%s)", d, rep.Module, rep.Module, rep.Genome)
		}
	}
	data, err := rep.MarshalIndent()
	if err != nil {
		return p, fmt.Errorf("vaultdata: encode the report: %w", err)
	}
	sum := sha256.Sum256(append(data, '\n')) // the bytes report.WriteFile writes
	score := rep.Baseline.Score
	if rep.Evolved != nil {
		score = rep.Evolved.Score
	}
	p = p.clone()
	p.Genome = g
	p.SLO = SLO{SuccessRate: rep.SLO.SuccessRate, P99: rep.SLO.P99, RecoverWithin: rep.SLO.RecoverWithin}
	p.Score = int(math.Floor(score))
	p.Status = Experimental
	p.Provenance = Provenance{Seed: rep.Seed, Tier: rep.Tier, Date: rep.End.UTC(), Report: "sha256:" + hex.EncodeToString(sum[:])}
	return p, nil
}

// Export writes p to dir as <id>.json, where [Open] reads it, and returns
// the file's path. It first checks that the file it writes loads back as p
// would (every problem at once, as [Load] reports them), then writes
// atomically: a temporary file in dir, synced, renamed over the path. An
// existing pattern of the same id is replaced.
func Export(dir string, p Pattern) (string, error) {
	data, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return "", fmt.Errorf("vaultdata: encode %s: %w", p.ID, err)
	}
	data = append(data, '\n')
	name := p.ID + ".json"
	if _, err := decodePattern(name, data); err != nil {
		return "", err
	}
	path := filepath.Join(dir, name)
	if err := atomicfile.Write(path, data); err != nil {
		return "", fmt.Errorf("vaultdata: export %s: %w", p.ID, err)
	}
	return path, nil
}

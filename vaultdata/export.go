package vaultdata

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/rafaelabs/rafael/internal/atomicfile"

	"github.com/rafaelabs/rafael/genome"
	"github.com/rafaelabs/rafael/report"
)

// FromReport returns p completed with what the harness run rep measured:
// the champion genome (when the run did not evolve, p.Genome, which must be
// the genome the report measured), the SLO, the threats (the report's, as
// data, when p declares none), status experimental, and a [Proof] of the
// run appended to p's proofs — where it ran, the genome it proved ("simulated: TestX" or "wire:
// TestX"; set Where to name the client and server), its tier, measured
// score, seed, end, the SHA-256 of the report's JSON file, and the test
// that ran it when the report names one. Earlier proofs of another genome
// are dropped. The declared score is what the lowest proof measured,
// rounded down. p supplies the rest: id, name, category, stack, tags,
// example and the model of a model proof.
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
	if len(p.Threats) == 0 {
		for _, row := range rep.Threats {
			if row.Decl == nil {
				return p, fmt.Errorf("vaultdata: the report's threat %s has no data form (a composed threat): declare the pattern's threats in p.Threats", row.Threat)
			}
			p.Threats = append(p.Threats, *row.Decl)
		}
	}
	p.Proofs = slices.DeleteFunc(p.Proofs, func(q Proof) bool { return q.Genome != g.Digest() }) // proofs of another genome back nothing
	p.Genome = g
	p.SLO = SLO{SuccessRate: rep.SLO.SuccessRate, P99: rep.SLO.P99, RecoverWithin: rep.SLO.RecoverWithin}
	pr := Proof{Where: rep.Tier + ": " + orModule(rep), Tier: rep.Tier, Score: math.Floor(score*100) / 100, Genome: g.Digest(), Seed: rep.Seed,
		Date: rep.End.UTC().Truncate(time.Second), Report: "sha256:" + hex.EncodeToString(sum[:])}
	if rep.Test != "" && rep.Package != "" {
		pr.Test = &Test{Package: rep.Package, Run: RunPattern(rep.Test)}
	}
	p.Proofs = append(p.Proofs, pr)
	p.Score = 100
	for _, q := range p.Proofs {
		p.Score = min(p.Score, int(math.Floor(q.Score)))
	}
	p.Status = Experimental
	return p, nil
}

// orModule names the run for a proof's Where: its test, else its module.
func orModule(rep *report.Report) string {
	if rep.Test != "" {
		return rep.Test
	}
	return "module " + rep.Module
}

// RunPattern returns the -run pattern that selects exactly the test or
// subtest name, as go test names it: "TestVault/pgx" becomes
// "^TestVault$/^pgx$".
func RunPattern(name string) string {
	parts := strings.Split(name, "/")
	for i, part := range parts {
		parts[i] = "^" + regexp.QuoteMeta(part) + "$"
	}
	return strings.Join(parts, "/")
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

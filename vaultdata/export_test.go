package vaultdata_test

import (
	"crypto/sha256"
	"encoding/hex"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/rafaelabs/rafael/evolve"
	"github.com/rafaelabs/rafael/genome"
	"github.com/rafaelabs/rafael/report"
	"github.com/rafaelabs/rafael/scenarios"
	"github.com/rafaelabs/rafael/vaultdata"
)

// teamPattern is what a team knows of its own pattern before a run: all but
// the genome, the score and the provenance.
func teamPattern(id string) vaultdata.Pattern {
	return vaultdata.Pattern{
		ID: id, Name: "Orders: survive a failover", Category: vaultdata.Retry, Stack: "postgres/pgx",
		Tags:    []string{"orders"},
		Example: "err := policy.Do(ctx, insertOrder)\n",
		Threats: []scenarios.Decl{{Kind: "db-outage", Target: "postgres", Outage: time.Second}},
		Model:   vaultdata.Model{Dependencies: []vaultdata.Dependency{{Name: "postgres", Service: 2 * time.Millisecond, Capacity: 16}}},
	}
}

func TestExportAChampionAndReadItBack(t *testing.T) {
	if testing.Short() {
		t.Skip("-short runs one trial per threat, too few for this small search to find a champion meeting the SLO")
	}
	start := &genome.Genome{Retry: &genome.Retry{MaxAttempts: 2, BaseDelay: 10 * time.Millisecond, MaxDelay: 20 * time.Millisecond, Multiplier: 2}}
	meta := teamPattern("orders-failover")
	meta.Genome = start
	meta.SLO = vaultdata.SLO{SuccessRate: 0.99}

	var (
		rep  *report.Report
		file []byte // the report's JSON as the harness wrote it, before its artifact directory goes
	)
	t.Run("run", func(t *testing.T) {
		meta := meta
		meta.SLO = vaultdata.SLO{} // the baseline only records; evolution must meet the SLO below
		spec := specOf(t, meta)
		spec.SLO.SuccessRate = 0.9
		spec.Evolve = &evolve.Options{Population: 8, Generations: 6}
		rep = harnessRun(t, spec)
		var err error
		if file, err = os.ReadFile(rep.Files[0]); err != nil {
			t.Fatal(err)
		}
	})
	if rep == nil || rep.Evolved == nil {
		t.Fatal("the run did not evolve")
	}
	p, err := vaultdata.FromReport(rep, meta)
	if err != nil {
		t.Fatal(err)
	}
	if p.Genome.Digest() == start.Digest() || p.Score != int(rep.Evolved.Score) || p.Status != vaultdata.Experimental {
		t.Errorf("FromReport: genome %v, score %d (evolved %.2f), status %v", p.Genome.Genes(), p.Score, rep.Evolved.Score, p.Status)
	}
	sum := sha256.Sum256(file)
	want := vaultdata.Proof{Where: "simulated: " + rep.Test, Tier: "simulated", Score: math.Floor(rep.Evolved.Score*100) / 100, Genome: p.Genome.Digest(), Seed: rep.Seed,
		Date: rep.End.Truncate(time.Second), Report: "sha256:" + hex.EncodeToString(sum[:]),
		Test: &vaultdata.Test{Package: "./vaultdata", Run: "^TestExportAChampionAndReadItBack$/^run$"}}

	dir := t.TempDir()
	path, err := vaultdata.Export(dir, p)
	if err != nil {
		t.Fatal(err)
	}
	if path != filepath.Join(dir, "orders-failover.json") {
		t.Errorf("Export wrote %s", path)
	}
	v, err := vaultdata.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	back, err := v.Pattern("orders-failover")
	if err != nil {
		t.Fatal(err)
	}
	if len(back.Proofs) != 1 || !reflect.DeepEqual(back.Proofs[0], want) {
		t.Errorf("proofs read back\n got %+v\nwant %+v", back.Proofs, want)
	}
	if r := back.Reliability(); r.Proofs != 1 || r.Score != want.Score || r.Where[0] != want.Where {
		t.Errorf("reliability %+v", r)
	}
	if back.Genome.Digest() != p.Genome.Digest() || back.SLO.SuccessRate != 0.9 || back.Example != meta.Example {
		t.Errorf("read back %+v", back)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("%d files in the vault directory; want only the pattern", len(entries))
	}
}

func TestFromReportWithoutEvolutionNeedsTheMeasuredGenome(t *testing.T) {
	meta := teamPattern("orders-baseline")
	meta.Genome = &genome.Genome{Timeout: &genome.Timeout{Overall: time.Second}}
	var rep *report.Report
	t.Run("run", func(t *testing.T) { rep = harnessRun(t, specOf(t, meta)) })
	meta.Category = vaultdata.Timeout
	p, err := vaultdata.FromReport(rep, meta)
	if err != nil {
		t.Fatal(err)
	}
	if p.Score != int(rep.Baseline.Score) {
		t.Errorf("score %d, baseline %.2f", p.Score, rep.Baseline.Score)
	}
	other := meta
	other.Genome = &genome.Genome{Timeout: &genome.Timeout{Overall: 2 * time.Second}}
	if _, err := vaultdata.FromReport(rep, other); err == nil || !strings.Contains(err.Error(), "is not the genome the report") {
		t.Errorf("FromReport with another genome: %v", err)
	}
}

func TestExportRefusesAnInvalidPattern(t *testing.T) {
	dir := t.TempDir()
	p := teamPattern("bad")
	p.Stack = "cobol"
	p.Genome = &genome.Genome{Module: "bad"} // no retry gene for a retry pattern
	_, err := vaultdata.Export(dir, p)
	for _, want := range []string{"bad.json: stack: unknown \"cobol\"", "bad.json: category: retry, but the genome has no retry gene", "bad.json: status: "} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Export: %v\nwant %q", err, want)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("Export left %d files behind", len(entries))
	}
}

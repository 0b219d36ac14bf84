// Package vaulttest proves vault patterns in tests: on their model (the
// in-process dependencies a pattern describes) and on the wire, with the
// client a pattern names against a real server. A proof runs the pattern's
// genome under the pattern's own threats ([vaultdata.Pattern.Scenarios])
// with harness.Run and holds it to the pattern's SLO and declared score.
//
//	func TestVaultProofs(t *testing.T) {
//		t.Run("pgx-outage-retry", func(t *testing.T) {
//			p := vaulttest.Pattern(t, "pgx-outage-retry")
//			db := toxiproxy.Start(t, "postgres", "127.0.0.1:5432")
//			pool := ... // pgx through db.Addr()
//			vaulttest.Prove(t, p, vaulttest.Wire{
//				Where:    "wire: pgx v5 on PostgreSQL 15",
//				Targets:  []faults.Target{db},
//				Workload: func(ctx context.Context, pol *genome.Policy) error { ... },
//			})
//		})
//	}
//
// # Environment
//
//   - RAFAEL_VAULT_DIR: prove the patterns of this directory (a team's
//     vault) instead of the shipped ones. `rafael vault verify DIR` sets it.
//   - RAFAEL_VAULT_UPDATE: a vault directory to write each proven pattern
//     back to, with the proof's measured score, seed, date and report digest,
//     and its declared score derived from its proofs: what the lowest
//     measured, less a margin. Nothing is written without it.
package vaulttest

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/rafaelabs/rafael/faults"
	"github.com/rafaelabs/rafael/genome"
	"github.com/rafaelabs/rafael/harness"
	"github.com/rafaelabs/rafael/internal/sim"
	"github.com/rafaelabs/rafael/report"
	"github.com/rafaelabs/rafael/scenarios"
	"github.com/rafaelabs/rafael/slo"
	"github.com/rafaelabs/rafael/vaultdata"
)

// The environment variables of the package.
const (
	DirEnv    = vaultdata.DirEnv
	UpdateEnv = vaultdata.UpdateEnv
)

// ModelTrials is how many trials per threat a model proof runs; WireTrials
// how many a wire proof runs (each lasts the threat's phases in real time).
const (
	ModelTrials = 2
	WireTrials  = 1
)

// Margins: how far below the lowest measured score a declared score is set
// on update, so that a small change in the harness or a busy machine does
// not fail the proof. A flood is not replayed request for request (its
// callers race): its patterns take floodMargin on the model. On the wire,
// trials run in real time on a shared machine: wireMargin.
const (
	modelMargin = 1
	floodMargin = 3
	wireMargin  = 4
)

// Vault returns the vault the proofs run on: the directory RAFAEL_VAULT_DIR
// names, else the shipped patterns.
func Vault(t testing.TB) *vaultdata.Vault {
	t.Helper()
	dir := os.Getenv(DirEnv)
	if dir == "" {
		return vaultdata.Default()
	}
	v, err := vaultdata.Open(dir)
	if err != nil {
		t.Fatalf("vaulttest: %s=%s: %v", DirEnv, dir, err)
	}
	return v
}

// Pattern returns the pattern id of [Vault]; an unknown id fails the test
// with the closest ids.
func Pattern(t testing.TB, id string) vaultdata.Pattern {
	t.Helper()
	p, err := Vault(t).Pattern(id)
	if err != nil {
		t.Fatalf("vaulttest: %v", err)
	}
	return p
}

// Wire is what a wire proof runs against: the named client's workload and
// the targets in front of the real server, named as the pattern's
// dependencies (a proxy for outages and latency; a hook of the same name
// around the client's calls for an error rate).
type Wire struct {
	// Where names the client and the server, plainly: "wire: pgx v5.12.0 on
	// PostgreSQL 15.19". It is the proof's identity in the pattern file.
	Where    string
	Targets  []faults.Target
	Workload harness.Workload
	// Requests per trial; 0 means the harness's default.
	Requests int
}

// Prove runs p on the wire: its genome under its threats against w's
// targets, with w's workload, and holds every trial to p's SLO and the
// measured score to p's declared score. A threat none of the targets can
// carry fails the proof with what it needs.
func Prove(t *testing.T, p vaultdata.Pattern, w Wire) *report.Report {
	t.Helper()
	if w.Where == "" || w.Workload == nil || len(w.Targets) == 0 {
		t.Fatalf("vaulttest: %s: a wire proof needs Where, Workload and Targets", p.ID)
	}
	spec := spec(t, p, w.Where, w.Targets, w.Workload)
	spec.Tier, spec.Trials, spec.Requests = harness.Wire, WireTrials, w.Requests
	return prove(t, p, spec, vaultdata.Proof{Where: w.Where, Tier: "wire"})
}

// ProveModel runs p on its model, on the simulated tier: each dependency
// of the model an in-process one serving a call in its Service time, at
// most Capacity at once, behind a hook of its name.
func ProveModel(t *testing.T, p vaultdata.Pattern) *report.Report {
	t.Helper()
	return prove(t, p, ModelSpec(t, p), vaultdata.Proof{Where: vaultdata.ModelProof, Tier: "simulated"})
}

// ModelSpec is the harness spec of p's model proof.
func ModelSpec(t testing.TB, p vaultdata.Pattern) harness.Spec {
	t.Helper()
	if len(p.Model.Dependencies) == 0 {
		t.Fatalf("vaulttest: %s has no model to prove it on", p.ID)
	}
	var deps []*sim.Dependency
	var targets []faults.Target
	for _, d := range p.Model.Dependencies {
		dep := &sim.Dependency{Hook: faults.NewHook(d.Name, 1), Slots: int64(d.Capacity), Serve: d.Service}
		deps = append(deps, dep)
		targets = append(targets, dep.Hook)
	}
	s := spec(t, p, vaultdata.ModelProof, targets, func(ctx context.Context, pol *genome.Policy) error {
		return pol.Do(ctx, func(ctx context.Context) error {
			for _, d := range deps {
				if err := d.Call(ctx); err != nil {
					return err
				}
			}
			return nil
		})
	})
	s.Tier, s.Trials = harness.Simulated, ModelTrials
	return s
}

// spec is the spec of a proof of p where: p's genome, threats, SLO, and
// the seed of p's proof of the same place (else of its first proof).
func spec(t testing.TB, p vaultdata.Pattern, where string, targets []faults.Target, w harness.Workload) harness.Spec {
	t.Helper()
	threats, skipped, err := p.Scenarios(targets...)
	if err != nil {
		t.Fatalf("vaulttest: %v", err)
	}
	for _, un := range skipped {
		t.Errorf("vaulttest: %s: %v", p.ID, un)
	}
	if len(skipped) > 0 {
		t.FailNow()
	}
	module := p.ID
	if p.Genome != nil && p.Genome.Module != "" {
		module = p.Genome.Module // the module the genome was proven for: its digest names it
	}
	return harness.Spec{
		Module:   module,
		Genome:   p.Genome,
		Threats:  threats,
		Workload: w,
		SLO:      harness.SLO{SuccessRate: p.SLO.SuccessRate, P99: p.SLO.P99, RecoverWithin: p.SLO.RecoverWithin},
		Seed:     seedOf(p, where),
	}
}

// seedOf is the seed of p's proof at where, else of its first proof, else 1.
func seedOf(p vaultdata.Pattern, where string) uint64 {
	if i := slices.IndexFunc(p.Proofs, func(pr vaultdata.Proof) bool { return pr.Where == where }); i >= 0 {
		return p.Proofs[i].Seed
	}
	if len(p.Proofs) > 0 {
		return p.Proofs[0].Seed
	}
	return 1
}

// prove runs spec and holds p to its SLO and declared score; with
// RAFAEL_VAULT_UPDATE it writes the proof back.
func prove(t *testing.T, p vaultdata.Pattern, spec harness.Spec, proof vaultdata.Proof) *report.Report {
	t.Helper()
	rep := harness.Run(t, spec)
	if rep == nil || t.Failed() {
		return rep // the harness said which trial broke the SLO and how to replay it
	}
	for _, row := range rep.Threats {
		if row.Status != report.Met && row.Status != report.Unstable {
			t.Errorf("vaulttest: %s (%s): %s: %s", p.ID, proof.Where, row.Threat, row.Status)
		}
	}
	measured, notes := heldScore(rep)
	for _, n := range notes {
		t.Logf("vault: %s: %s", p.ID, n)
	}
	t.Logf("vault: %s measured %.2f on the %s (declared %d) over %d trials, seed %d", p.ID, measured, proof.Where, p.Score, rep.Baseline.Trials, rep.Seed)
	if dir := os.Getenv(UpdateEnv); dir != "" {
		update(t, dir, p, rep, proof)
		return rep
	}
	if rep.Seed != spec.Seed || !fullTrials(rep, spec.Trials) {
		t.Logf("vault: %s ran with another seed or trial count (-rafael.seed, -rafael.trials or -short): only the SLO was checked", p.ID)
		return rep
	}
	if measured < float64(p.Score) {
		t.Errorf("vault: %s declares a reliability score of %d, but the %s measured %.2f: lower the declared score or fix the pattern", p.ID, p.Score, proof.Where, measured)
	}
	return rep
}

// heldScore is the score a proof holds a pattern to: the report's, but
// for a trial whose first measurement the host starved (its driver woke
// up slo.Starved late or more) and that met the SLO when measured again
// (unstable), which counts by the measurement that held — a busy machine
// is not the pattern's reliability. A trial that broke on a host that was
// not starved counts as it broke. notes say which trials were re-judged.
func heldScore(rep *report.Report) (float64, []string) {
	var notes []string
	c := *rep
	c.Evolved = nil
	c.Threats = make([]report.Threat, len(rep.Threats))
	for i, th := range rep.Threats {
		th.Trials = append([]report.Trial(nil), th.Trials...)
		for j, tr := range th.Trials {
			if tr.Status != report.Unstable || tr.Metrics.Lag < slo.Starved || len(tr.Reruns) == 0 {
				continue
			}
			held := tr.Reruns[len(tr.Reruns)-1]
			if len(held.Violations) > 0 {
				continue
			}
			notes = append(notes, fmt.Sprintf("%s (seed %d) broke while the host was starved (its driver woke up %v late) and met the SLO when measured again: the proof counts the measurement that held", th.Threat, tr.Seed, tr.Metrics.Lag.Round(time.Millisecond)))
			tr.Metrics, tr.Violations, tr.Reruns = held.Metrics, nil, nil
			th.Trials[j] = tr
		}
		c.Threats[i] = th
	}
	if len(notes) == 0 {
		return rep.Baseline.Score, nil
	}
	c.Derive()
	return c.Baseline.Score, notes
}

func fullTrials(rep *report.Report, n int) bool {
	for _, row := range rep.Threats {
		if len(row.Trials) != n {
			return false
		}
	}
	return true
}

// update writes p back to dir with this proof replacing the one of the same
// place, and its declared score set to what the lowest proof measured, less
// its margin: derived from the proofs, never written by hand.
func update(t *testing.T, dir string, p vaultdata.Pattern, rep *report.Report, proof vaultdata.Proof) {
	t.Helper()
	others := slices.DeleteFunc(slices.Clone(p.Proofs), func(pr vaultdata.Proof) bool { return pr.Where == proof.Where })
	q := p
	q.Proofs = others
	q.Threats = nil // keep p's threats as declared, not as the report scaled them
	status := p.Status
	q, err := vaultdata.FromReport(rep, q)
	if err != nil {
		t.Fatal(err)
	}
	q.Threats, q.Status = p.Threats, status
	last := &q.Proofs[len(q.Proofs)-1]
	last.Where, last.Tier = proof.Where, proof.Tier
	if last.Test == nil {
		t.Fatalf("vaulttest: the report of %s names no test to re-run the proof", p.ID)
	}
	last.Test.Dir = moduleDir()
	q.Score = 100
	for _, pr := range q.Proofs {
		q.Score = min(q.Score, int(math.Floor(pr.Score))-margin(q, pr))
	}
	q.Score = max(q.Score, 0)
	path, err := vaultdata.Export(dir, q)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("vault: wrote %s (score %d)", path, q.Score)
}

// margin is how far below what pr measured p's score is declared.
func margin(p vaultdata.Pattern, pr vaultdata.Proof) int {
	switch {
	case pr.Tier == "wire":
		return wireMargin
	case slices.ContainsFunc(p.Threats, func(d scenarios.Decl) bool { return d.Kind == "flood" }):
		return floodMargin
	}
	return modelMargin
}

// moduleDir is the directory of the module of the test's package, relative
// to the repository's root (the nearest directory above with .git), or "".
func moduleDir() string {
	wd, err := os.Getwd()
	if err != nil {
		return ""
	}
	mod := up(wd, "go.mod")
	repo := up(mod, ".git")
	if mod == "" || repo == "" {
		return ""
	}
	rel, err := filepath.Rel(repo, mod)
	if err != nil || rel == "." {
		return ""
	}
	return filepath.ToSlash(rel)
}

// up is the nearest directory at or above dir that holds name, or "".
func up(dir, name string) string {
	for dir != "" {
		if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
	return ""
}

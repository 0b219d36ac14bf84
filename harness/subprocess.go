package harness

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rafaelabs/rafael/evolve"
	"github.com/rafaelabs/rafael/genome"
	"github.com/rafaelabs/rafael/slo"
)

// With Subprocess isolation every candidate's trials run in a fresh copy
// of the test binary: the parent writes what to run to a file and starts
// the binary on the same test with $RAFAEL_EVALUATE naming that file; in the
// child, Run finds the variable, runs those trials, writes their outcomes
// next to it and skips the rest of the test. A child that crashes (os.Exit,
// a panic on a goroutine of the workload's) writes nothing: its candidate
// fails every trial and the search goes on.

const envEvaluate = "RAFAEL_EVALUATE"

// evalJob is what a child process runs.
type evalJob struct {
	Test   string          `json:"test"`   // the test whose Run evaluates
	Seed   uint64          `json:"seed"`   // the run's seed
	Genome json.RawMessage `json:"genome"` // the candidate
	Trials []evalTrial     `json:"trials"`
	Result string          `json:"result"` // where to write the outcomes
}

// evalTrial is one trial: a declared threat, its parameter values (a
// smaller variant found by the probe, or the declared values), a seed.
type evalTrial struct {
	Threat int       `json:"threat"`
	Values []float64 `json:"values"`
	Seed   uint64    `json:"seed"`
}

// spawn runs each candidate's trials in a child process (Subprocess
// isolation).
func (r *runner) spawn(t *testing.T) evolve.Judge {
	var dir string
	n := 0
	return func(ctx context.Context, g *genome.Genome, cases []evolve.Case) ([]evolve.Outcome, error) {
		if dir == "" {
			dir = t.TempDir()
		}
		n++
		data, err := g.MarshalJSON()
		if err != nil {
			return nil, err
		}
		job := evalJob{Test: t.Name(), Seed: r.seed, Genome: data, Result: filepath.Join(dir, fmt.Sprintf("result-%d.json", n))}
		for _, c := range cases {
			var vals []float64
			for _, p := range c.Threat.Params() {
				vals = append(vals, p.Value)
			}
			job.Trials = append(job.Trials, evalTrial{Threat: c.Threat.Origin, Values: vals, Seed: c.Seed})
		}
		path := filepath.Join(dir, fmt.Sprintf("job-%d.json", n))
		body, _ := json.Marshal(job)
		if err := os.WriteFile(path, body, 0o600); err != nil {
			return nil, err
		}
		cmd := exec.CommandContext(ctx, os.Args[0], "-test.run="+anchored(t.Name()), "-test.count=1", "-test.timeout=10m")
		cmd.Env = append(os.Environ(), envEvaluate+"="+path)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		runErr := cmd.Run()
		outcomes, err := readOutcomes(job.Result, len(cases))
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			t.Logf("rafael: candidate %s crashed its process (%v), so it fails its trials; its last output:\n%s", g.Digest()[:19], runErr, indent(lastLines(out.String(), 12), "    "))
			crashed := slo.Shortfall([]slo.Violation{{Kind: slo.Aborted, Detail: "its process crashed"}})
			failed := make([]evolve.Outcome, len(cases))
			for i := range failed {
				failed[i] = evolve.Outcome{Shortfall: crashed}
			}
			return failed, nil
		}
		return outcomes, nil
	}
}

func readOutcomes(path string, n int) ([]evolve.Outcome, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []evolve.Outcome
	if err := json.Unmarshal(data, &out); err != nil {
		return nil, err
	}
	if len(out) != n {
		return nil, fmt.Errorf("%d outcomes for %d trials", len(out), n)
	}
	return out, nil
}

// evaluateInChild runs the job named by $RAFAEL_EVALUATE when this process
// is a child started for t, and reports whether it did (Run then skips the
// rest of the test).
func evaluateInChild(t *testing.T, spec Spec, set settings) bool {
	path := os.Getenv(envEvaluate)
	if path == "" {
		return false
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("rafael: evaluate: %v", err)
	}
	var job evalJob
	if err := json.Unmarshal(data, &job); err != nil {
		t.Fatalf("rafael: evaluate %s: %v", path, err)
	}
	if job.Test != t.Name() {
		t.Skipf("rafael: this process evaluates a candidate of %s", job.Test)
	}
	g, err := genome.Parse(job.Genome)
	if err != nil {
		t.Fatalf("rafael: evaluate: %v", err)
	}
	set.seed = job.Seed
	r := plan(t, spec, set)
	cases := make([]evolve.Case, len(job.Trials))
	for i, tr := range job.Trials {
		if tr.Threat < 0 || tr.Threat >= len(r.threats) {
			t.Fatalf("rafael: evaluate: no threat %d", tr.Threat)
		}
		th := scaled(r.spec.Threats[tr.Threat].AtMost().WithValues(tr.Values), r.scale)
		cases[i] = evolve.Case{Threat: evolve.Facing{Threat: th, Origin: tr.Threat}, Seed: tr.Seed}
	}
	judge, _ := r.judge(t, 1)
	out, err := judge(context.Background(), g, cases)
	if err != nil {
		t.Fatalf("rafael: evaluate: %v", err)
	}
	body, _ := json.Marshal(out)
	if err := os.WriteFile(job.Result, body, 0o600); err != nil {
		t.Fatalf("rafael: evaluate: %v", err)
	}
	return true
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

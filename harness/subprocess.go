package harness

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rafaelabs/rafael/evolve"
	"github.com/rafaelabs/rafael/genome"
	"github.com/rafaelabs/rafael/internal/atomicfile"
	"github.com/rafaelabs/rafael/internal/sandbox"
	"github.com/rafaelabs/rafael/internal/trial"
	"github.com/rafaelabs/rafael/scenarios"
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
	// Measure asks for each trial's whole result (the report's own trials
	// of a sandboxed run), not its outcome against the SLO.
	Measure bool `json:"measure,omitempty"`
	// Property, when set, asks for the property check of the one trial's
	// threat (its values the check's upper bounds), by this name (rapid's
	// fail files are kept by it).
	Property string `json:"property,omitempty"`
}

// evalTrial is one trial: a declared threat, its parameter values (a
// smaller variant found by the probe, or the declared values), a seed.
type evalTrial struct {
	Threat int       `json:"threat"`
	Values []float64 `json:"values"`
	Seed   uint64    `json:"seed"`
}

// spawn runs each candidate's trials in a child process (Subprocess
// isolation), or in a child process in a sandbox (Sandbox isolation, or
// Spec.Sandbox).
func (r *runner) spawn(t *testing.T) evolve.Judge {
	var (
		local      evolve.Judge // for trials a child cannot rebuild
		closeLocal func()
	)
	t.Cleanup(func() {
		if closeLocal != nil {
			closeLocal()
		}
	})
	return func(ctx context.Context, g *genome.Genome, cases []evolve.Case) ([]evolve.Outcome, error) {
		// A threat a child cannot rebuild from the spec's (the adversary's
		// re-timed or combined ones) is judged in this process.
		var here, there []int
		for i, c := range cases {
			if origin, _, ok := r.origin(c.Threat.Threat); ok && origin == c.Threat.Origin {
				there = append(there, i)
			} else {
				here = append(here, i)
			}
		}
		if len(here) > 0 {
			if local == nil {
				local, closeLocal = r.judge(t, 1)
			}
			r.notRebuilt(t, cases[here[0]].Threat.Threat)
			sub := make([]evolve.Case, len(here))
			for k, i := range here {
				sub[k] = cases[i]
			}
			got, err := local(ctx, g, sub)
			if err != nil {
				return nil, err
			}
			if len(there) == 0 {
				return got, nil
			}
			rest := make([]evolve.Case, len(there))
			for k, i := range there {
				rest[k] = cases[i]
			}
			far, err := r.spawn1(ctx, t, g, rest)
			if err != nil {
				return nil, err
			}
			out := make([]evolve.Outcome, len(cases))
			for k, i := range here {
				out[i] = got[k]
			}
			for k, i := range there {
				out[i] = far[k]
			}
			return out, nil
		}
		return r.spawn1(ctx, t, g, cases)
	}
}

// spawn1 runs cases of g in one child process.
func (r *runner) spawn1(ctx context.Context, t *testing.T, g *genome.Genome, cases []evolve.Case) ([]evolve.Outcome, error) {
	job := evalJob{}
	for _, c := range cases {
		var vals []float64
		for _, p := range c.Threat.Params() {
			vals = append(vals, p.Value)
		}
		job.Trials = append(job.Trials, evalTrial{Threat: c.Threat.Origin, Values: vals, Seed: c.Seed})
	}
	body, cause, out, err := r.inChild(ctx, g, job)
	if err != nil {
		return nil, err
	}
	var outcomes []evolve.Outcome
	if cause == "" {
		if err := json.Unmarshal(body, &outcomes); err != nil || len(outcomes) != len(cases) {
			cause = fmt.Sprintf("wrote no outcomes it could read (%d for %d trials, %v)", len(outcomes), len(cases), err)
		}
	}
	if cause == "" {
		return outcomes, nil
	}
	if r.box != nil {
		t.Logf("rafael: candidate %s failed in its sandbox: %s; it fails its trials%s", g.Digest()[:19], cause, lastOutput(out))
	} else {
		t.Logf("rafael: candidate %s crashed its process (%s), so it fails its trials%s", g.Digest()[:19], cause, lastOutput(out))
	}
	crashed := slo.Shortfall([]slo.Violation{{Kind: slo.Aborted, Detail: "its process " + cause}})
	failed := make([]evolve.Outcome, len(cases))
	for i := range failed {
		failed[i] = evolve.Outcome{Shortfall: crashed}
	}
	return failed, nil
}

// inChild runs job for g in a fresh copy of the test binary — in a sandbox
// when the run is sandboxed — and returns what the child wrote. When it
// wrote nothing, cause says why ("exit status 3", "killed: out of memory
// (limit 256 MiB)") and out is its output. err is ctx's, or a sandbox
// that could not be made.
func (r *runner) inChild(ctx context.Context, g *genome.Genome, job evalJob) (body []byte, cause, out string, err error) {
	dir, err := os.MkdirTemp("", "rafael-eval-")
	if err != nil {
		return nil, "", "", err
	}
	defer os.RemoveAll(dir)
	data, err := g.MarshalJSON()
	if err != nil {
		return nil, "", "", err
	}
	job.Test, job.Seed, job.Genome, job.Result = r.test, r.seed, data, filepath.Join(dir, "result.json")
	path := filepath.Join(dir, "job.json")
	jobBody, _ := json.Marshal(job)
	if err := os.WriteFile(path, jobBody, 0o600); err != nil {
		return nil, "", "", err
	}
	timeout := 10 * time.Minute
	var limits sandbox.Limits
	if r.box != nil {
		limits = r.box.limits(r, job)
		timeout = max(timeout, limits.Timeout+time.Minute) // the sandbox's bound comes first, and says "hung"
	}
	args := append([]string{"-test.run=" + anchored(r.test), "-test.count=1", "-test.timeout=" + timeout.String()}, rapidFlags()...)
	cmd := exec.CommandContext(ctx, os.Args[0], args...)
	if r.box != nil {
		cmd = exec.Command(os.Args[0], args...) // the sandbox kills it when ctx ends
	}
	cmd.Env = append(os.Environ(), envEvaluate+"="+path, childRace())
	buf := &tail{max: 64 << 10}
	cmd.Stdout, cmd.Stderr = buf, buf
	var runErr error
	if r.box != nil {
		ex, err := sandbox.Run(ctx, cmd, limits)
		if err != nil {
			return nil, "", buf.String(), err
		}
		if ex.Cause != "" {
			cause = ex.Cause
		}
		runErr = ex.Err
	} else {
		runErr = cmd.Run()
	}
	body, err = os.ReadFile(job.Result)
	switch {
	case err == nil: // what it did after writing its result (a leak check, a race report) does not undo it
		return body, "", buf.String(), nil
	case ctx.Err() != nil:
		return nil, "", buf.String(), ctx.Err()
	case cause != "":
	case runErr != nil:
		cause = runErr.Error()
	default:
		cause = "wrote no result"
	}
	return nil, cause, buf.String(), nil
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
	if r.box != nil && r.tier == Wire && sandbox.Inside() {
		r.cfg.Hold = squeeze // memory pressure the kernel enforces
	}
	r.box = nil // this is the sandboxed process: its trials run here
	cases := make([]evolve.Case, len(job.Trials))
	for i, tr := range job.Trials {
		if tr.Threat < 0 || tr.Threat >= len(r.threats) {
			t.Fatalf("rafael: evaluate: no threat %d", tr.Threat)
		}
		th := scaled(r.spec.Threats[tr.Threat].AtMost().WithValues(tr.Values), r.scale)
		cases[i] = evolve.Case{Threat: evolve.Facing{Threat: th, Origin: tr.Threat}, Seed: tr.Seed}
	}
	var body []byte
	if job.Property != "" {
		if len(cases) != 1 {
			t.Fatalf("rafael: evaluate: a property check of %d threats", len(cases))
		}
		cx, log := r.check(t, job.Property, cases[0].Threat.Threat, g, func(t *testing.T, v scenarios.Threat, s uint64) trial.Result { return r.measure(t, v, g, s) })
		found := checkFound{Log: log}
		if cx != nil {
			found.Found, found.Seed, found.RapidSeed, found.Message = true, cx.Seed, cx.RapidSeed, cx.Message
			for _, p := range cx.Threat.Params() {
				found.Values = append(found.Values, p.Value)
			}
		}
		body, err = json.Marshal(found)
	} else if job.Measure {
		out := make([]trial.Result, len(cases))
		for i, c := range cases {
			out[i] = r.measure(t, c.Threat.Threat, g, c.Seed)
		}
		body, err = json.Marshal(out)
	} else {
		judge, _ := r.judge(t, 1)
		out, jerr := judge(context.Background(), g, cases)
		if jerr != nil {
			t.Fatalf("rafael: evaluate: %v", jerr)
		}
		body, err = json.Marshal(out)
	}
	if err != nil {
		t.Fatalf("rafael: evaluate: %v", err)
	}
	if err := atomicfile.WriteMode(job.Result, body, 0o600); err != nil { // a child killed while writing leaves no half a result
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

// rapidFlags are this process's -rapid.* flags, for a child's property
// checks.
func rapidFlags() []string {
	var out []string
	for _, a := range os.Args[1:] {
		if strings.HasPrefix(a, "-rapid.") || strings.HasPrefix(a, "--rapid.") {
			out = append(out, a)
		}
	}
	return out
}

// tail keeps the last max bytes written to it: a child's output, for the
// log, without holding all of a child that logs in a loop.
type tail struct {
	mu   sync.Mutex
	max  int
	buf  []byte
	lost bool
}

func (w *tail) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	if over := len(w.buf) - w.max; over > 0 {
		w.buf = append(w.buf[:0], w.buf[over:]...)
		w.lost = true
	}
	return len(p), nil
}

func (w *tail) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.lost {
		return "…\n" + string(w.buf)
	}
	return string(w.buf)
}

// childRace is $GORACE for a child: a race-enabled binary sleeps a second
// as it exits (atexit_sleep_ms, for late reports of other threads), which
// a child that wrote its result does not need — a second a candidate.
func childRace() string {
	opts := os.Getenv("GORACE")
	if strings.Contains(opts, "atexit_sleep_ms") {
		return "GORACE=" + opts
	}
	return strings.TrimSpace("GORACE=atexit_sleep_ms=0 " + opts)
}

// lastOutput is a child's last lines of output, for the log, or "" when
// it printed nothing.
func lastOutput(out string) string {
	if strings.TrimSpace(out) == "" {
		return ""
	}
	return "; its last output:\n" + indent(lastLines(out, 12), "    ")
}

// InChild reports whether this process is a copy of the test binary that
// Run started to run trials in (Subprocess or Sandbox isolation, or
// Spec.Sandbox). Such a copy runs the test function again, up to the call
// of Run that started it, which runs the trials it was given and ends the
// (sub)test; the trials' genome comes from the parent. Work before that
// call that only the parent needs — evolving the genome the parent then
// hands to Run, say — can be skipped when InChild is true. Each Run of a
// test that calls it more than once belongs in a subtest of its own, so
// that the copy finds the right one.
func InChild() bool { return os.Getenv(envEvaluate) != "" }

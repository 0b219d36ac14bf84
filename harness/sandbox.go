package harness

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/rafaelabs/rafael/evolve"
	"github.com/rafaelabs/rafael/genome"
	"github.com/rafaelabs/rafael/internal/sandbox"
	"github.com/rafaelabs/rafael/internal/trial"
	"github.com/rafaelabs/rafael/scenarios"
)

// Sandbox bounds the process that each trial of a sandboxed run runs in.
// A run is sandboxed when Spec.Sandbox is set or Evolve.Isolation is
// evolve.Sandbox: every trial — each candidate's, and the report's own
// (but for a threat the adversary re-timed or combined, which a copy
// cannot rebuild from the spec's and which runs in the test's process,
// saying so) — then runs in a fresh copy of the test binary that has its own network
// namespace with only loopback up (it reaches no other host, and of this
// one only the addresses in Hand), a memory limit the kernel enforces, a
// limit on its tasks and a wall-clock bound. A candidate whose process the
// kernel kills for memory fails its trials with "killed: out of memory
// (limit …)", and the search goes on.
//
// In a sandbox, on the wire tier, a MemoryPressure threat is enforced by
// the kernel: it lowers the sandbox's memory limit by its size for its
// inject phase, so the workload meets the limit (reclaim, and the OOM
// killer past it) rather than a ballast in its heap; the report's
// injections say which form ran.
//
// The test function runs again in each sandbox up to its call of Run, so
// whatever it starts there (servers, proxies) is inside; a server it only
// connects to, such as a database on this host, must be in Hand.
type Sandbox struct {
	Memory    int64         // bytes; 0 means 1 GiB
	Processes int           // tasks (threads count); 0 means 512
	Timeout   time.Duration // one process's wall-clock bound; 0 means 30s plus three times its trials' length (a simulated trial: its watchdog)

	// Hand lists loopback addresses ("127.0.0.1:5432") reachable inside the
	// sandbox, forwarded to the same address outside it. Needs root.
	Hand []string
}

// sandboxed reports whether the run's trials run in sandboxes.
func (s Spec) sandboxed() bool {
	return s.Sandbox != nil || s.Evolve != nil && s.Evolve.Isolation == evolve.Sandbox
}

// limits are the sandbox's limits for a process running trials.
func (b *Sandbox) limits(r *runner, job evalJob) sandbox.Limits {
	l := sandbox.Limits{Memory: b.Memory, Processes: b.Processes, Timeout: b.Timeout, Hand: b.Hand}
	if l.Timeout > 0 {
		return l
	}
	runs := time.Duration(1) // how many times each trial may run
	if job.Property != "" {
		runs = 100 // rapid's checks, and its shrinking
	}
	l.Timeout = 30 * time.Second
	for _, tr := range job.Trials {
		if r.tier == Simulated {
			l.Timeout += runs * max(r.cfg.Watchdog, 20*time.Second)
			continue
		}
		th := r.threats[min(max(tr.Threat, 0), len(r.threats)-1)]
		drain := max(r.cfg.Drain, th.Recover, time.Second)
		l.Timeout += runs * 3 * (th.Duration() + drain)
	}
	return l
}

// measureBoxed runs one trial in a sandbox and returns its result; ok is
// false for a threat that cannot be rebuilt there from the spec's (the
// adversary's re-timed or combined threats), which then runs here.
func (r *runner) measureBoxed(t *testing.T, th scenarios.Threat, g *genome.Genome, s uint64) (res trial.Result, ok bool) {
	origin, vals, ok := r.origin(th)
	if !ok {
		r.notRebuilt(t, th)
		return trial.Result{}, false
	}
	job := evalJob{Measure: true, Trials: []evalTrial{{Threat: origin, Values: vals, Seed: s}}}
	body, cause, out, err := r.inChild(context.Background(), g, job)
	if err != nil {
		t.Fatalf("rafael: %v", err)
	}
	var got []trial.Result
	if cause == "" {
		if err := json.Unmarshal(body, &got); err != nil || len(got) != 1 {
			cause = fmt.Sprintf("wrote no result it could read (%v)", err)
		}
	}
	if cause != "" {
		t.Logf("rafael: the trial's sandboxed process: %s%s", cause, lastOutput(out))
		return trial.Result{Panicked: "its sandboxed process " + cause}, true
	}
	return got[0], true
}

// notRebuilt says, once a run, that a threat a child process cannot
// rebuild runs in this process.
func (r *runner) notRebuilt(t *testing.T, th scenarios.Threat) {
	if !r.unboxed.Swap(true) {
		t.Logf("rafael: %s, and any other threat the adversary re-timed or combined, runs in this process: a child process can rebuild only the spec's threats with other values", th)
	}
}

// origin finds the spec's threat that th is a variant of, and th's values.
func (r *runner) origin(th scenarios.Threat) (int, []float64, bool) {
	var vals []float64
	for _, p := range th.Params() {
		vals = append(vals, p.Value)
	}
	for i, d := range r.spec.Threats {
		if d.Name != th.Name {
			continue
		}
		re := scaled(d.AtMost().WithValues(vals), r.scale)
		if re.String() == th.String() && re.Steady == th.Steady && re.Inject == th.Inject && re.Recover == th.Recover && len(re.Steps) == len(th.Steps) {
			return i, vals, true
		}
	}
	return 0, nil, false
}

// squeeze is a sandboxed process's memory pressure on the wire tier: its
// cgroup memory limit lowered by n for the inject phase.
func squeeze(n int64, onErr func(error)) (release func(), detail string) {
	undo, detail, err := sandbox.Squeeze(n)
	if err != nil {
		onErr(fmt.Errorf("memory pressure: %w", err))
		return func() {}, "not applied: the sandbox's memory limit could not be lowered"
	}
	return func() {
		if err := undo(); err != nil {
			onErr(fmt.Errorf("memory pressure: restoring the limit: %w", err))
		}
	}, detail
}

// checkFound is what a sandboxed property check found.
type checkFound struct {
	Found     bool      `json:"found"`
	Values    []float64 `json:"values,omitempty"` // the counterexample's threat's values
	Seed      uint64    `json:"seed,omitempty"`
	RapidSeed uint64    `json:"rapidSeed,omitempty"`
	Message   string    `json:"message,omitempty"`
	Log       string    `json:"log"`
}

// checkBoxed runs the property check of g under th in one sandbox: its
// trials one after another in that process, rather than a process each.
// A check whose threat the sandbox cannot rebuild, runs here.
func (r *runner) checkBoxed(t *testing.T, th scenarios.Threat, g *genome.Genome) (*evolve.Counterexample, string) {
	origin, vals, ok := r.origin(th)
	local := func() (*evolve.Counterexample, string) {
		return r.check(t, t.Name(), th, g, func(t *testing.T, v scenarios.Threat, s uint64) trial.Result { return r.measure(t, v, g, s) })
	}
	if !ok {
		return local()
	}
	job := evalJob{Property: t.Name(), Trials: []evalTrial{{Threat: origin, Values: vals}}}
	body, cause, out, err := r.inChild(context.Background(), g, job)
	if err != nil {
		t.Fatalf("rafael: %v", err)
	}
	var found checkFound
	if cause == "" {
		if err := json.Unmarshal(body, &found); err != nil {
			cause = fmt.Sprintf("wrote no result it could read (%v)", err)
		}
	}
	if cause != "" {
		msg := fmt.Sprintf("the property check's sandboxed process %s%s", cause, lastOutput(out))
		return &evolve.Counterexample{Threat: th, Message: msg}, msg
	}
	if !found.Found {
		return nil, found.Log
	}
	v := scaled(r.spec.Threats[origin].AtMost().WithValues(found.Values), r.scale)
	return &evolve.Counterexample{Threat: v, Seed: found.Seed, RapidSeed: found.RapidSeed, Message: found.Message}, found.Log
}

package harness

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/metrics"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rafaelabs/rafael/evolve"
	"github.com/rafaelabs/rafael/faults"
	"github.com/rafaelabs/rafael/genome"
	"github.com/rafaelabs/rafael/internal/sandbox"
	"github.com/rafaelabs/rafael/report"
	"github.com/rafaelabs/rafael/scenarios"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// needSandbox skips a test where the kernel cannot sandbox a process, in
// one line that says why.
func needSandbox(t *testing.T) {
	t.Helper()
	if err := sandbox.Available(); err != nil {
		t.Skipf("no sandbox here: %v", err)
	}
}

// nothingLeft checks, at the end of t, that no sandbox's cgroup and no
// child process of this one is left.
func nothingLeft(t *testing.T) {
	t.Cleanup(func() {
		assert.Empty(t, sandbox.Leftovers(os.Getpid()), "a sandbox's cgroups were left")
		assert.Empty(t, childrenOf(os.Getpid()), "a child process was left")
	})
}

// childrenOf lists the live processes whose parent is pid.
func childrenOf(pid int) []int {
	entries, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range entries {
		n, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		_, rest, _ := strings.Cut(string(stat), ") ")
		f := strings.Fields(rest) // state, ppid, …
		if len(f) > 1 && f[1] == strconv.Itoa(pid) && f[0] != "Z" {
			out = append(out, n)
		}
	}
	return out
}

// hog allocates without bound, each page touched: what a workload that
// buffers everything it cannot send does while its dependency is down.
func hog() {
	var held [][]byte
	for len(held) >= 0 {
		b := make([]byte, 1<<20)
		for i := 0; i < len(b); i += 4096 {
			b[i] = 1
		}
		held = append(held, b)
	}
}

func liveHeap() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// TestACandidateKilledForMemoryFailsAndTheSearchGoesOn: the starting
// genome's workload allocates without bound (only ever inside a sandbox);
// the kernel kills its process at the sandbox's limit, that candidate and
// the baseline fail with the cause named, and the search ends with another
// champion. This process never holds the memory.
func TestACandidateKilledForMemoryFailsAndTheSearchGoesOn(t *testing.T) {
	needSandbox(t)
	nothingLeft(t)
	db := faults.NewHook("db", 1)
	start := Spec{Module: "hoarder", Genome: &genome.Genome{}}.startGenome().Digest()
	call := store(db)
	rep := Run(t, Spec{
		Module:  "hoarder",
		Genome:  &genome.Genome{},
		Threats: []scenarios.Threat{scenarios.DBOutage(db, time.Second)},
		Workload: func(ctx context.Context, p *genome.Policy) error {
			if sandbox.Inside() && p.Digest() == start {
				hog()
			}
			return p.Do(ctx, call)
		},
		SLO:     SLO{SuccessRate: 0.95},
		Trials:  1,
		Sandbox: &Sandbox{Memory: 256 << 20},
		Evolve:  &evolve.Options{Population: 6, Generations: 6, SkipAblation: true},
		Seed:    1,
	})
	row := rep.Threats[0]
	require.NotEmpty(t, row.Trials)
	require.NotEmpty(t, row.Trials[0].Violations)
	assert.Contains(t, row.Trials[0].Violations[0].String(), "killed: out of memory (limit 256 MiB)", "the baseline's process was killed for memory, and the report says so")
	assert.NotEqual(t, start, rep.Champion, "the search went on to another champion")
	assert.NotEqual(t, report.Broken, row.EvolvedStatus, row.Verdict)
	assert.Less(t, liveHeap(), uint64(256<<20), "this process never held the hoard")
}

// listenFor serves a line on a loopback port until the test ends, and
// names its address in the environment variable env — which the test's
// sandboxed copies inherit, so they dial this process's port, not one of
// their own.
func listenFor(t *testing.T, env, line string) string {
	if a := os.Getenv(env); a != "" { // a sandboxed copy of this test
		return a
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	done := make(chan struct{})
	t.Cleanup(func() { ln.Close(); <-done })
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Write([]byte(line + "\n"))
			c.Close()
		}
	}()
	t.Setenv(env, ln.Addr().String())
	return ln.Addr().String()
}

// TestASandboxedWorkloadReachesOnlyWhatItWasHanded: inside its sandbox a
// workload reaches a port of this host it was handed, and fails to
// connect to one it was not and to any other host.
func TestASandboxedWorkloadReachesOnlyWhatItWasHanded(t *testing.T) {
	needSandbox(t)
	nothingLeft(t)
	handed := listenFor(t, "RAFAEL_TEST_HANDED", "handed")
	kept := listenFor(t, "RAFAEL_TEST_KEPT", "kept")
	hook := faults.NewHook("upstream", 1)
	hook.Remote() // real I/O behind it
	for _, c := range []struct{ name, addr, want string }{
		{"handed", handed, ""},
		{"not-handed", kept, "connection refused"},
		{"other-host", "192.0.2.1:80", "network is unreachable"},
	} {
		t.Run(c.name, func(t *testing.T) {
			rep := Run(t, Spec{
				Module:    "dialer",
				Threats:   []scenarios.Threat{scenarios.Latency(hook, 5*time.Millisecond)},
				Tier:      Wire,
				TimeScale: 0.1,
				Requests:  10,
				Sandbox:   &Sandbox{Hand: []string{handed}},
				Workload: func(ctx context.Context, p *genome.Policy) error {
					return p.Do(ctx, faults.FuncErr(hook, func(ctx context.Context) error {
						var d net.Dialer
						conn, err := d.DialContext(ctx, "tcp", c.addr)
						if err != nil {
							return err
						}
						defer conn.Close()
						line, err := bufio.NewReader(conn).ReadString('\n')
						if err == nil && line != "handed\n" {
							return fmt.Errorf("read %q", line)
						}
						return err
					}))
				},
			})
			m := rep.Threats[0].Trials[0].Metrics
			if c.want == "" {
				assert.Equal(t, 1.0, m.SuccessRate, "a handed port answers: %v", m.Errors)
				return
			}
			assert.Zero(t, m.SuccessRate, "nothing got through")
			require.NotEmpty(t, m.Errors)
			assert.Contains(t, m.Errors[0], c.want)
		})
	}
	if sandbox.Inside() {
		return // a sandboxed copy of this test runs on after its subtest's Run
	}
	// Here, outside, the port that was not handed is there all along.
	conn, err := net.Dial("tcp", kept)
	require.NoError(t, err)
	conn.Close()
}

// TestHelperSandboxedSearchToKill is a sandboxed search whose candidates
// hang in their sandboxes, for TestAKilledSearchLeavesNothingBehind to
// kill in the middle.
func TestHelperSandboxedSearchToKill(t *testing.T) {
	helper(t, "sandbox-kill")
	hook := faults.NewHook("upstream", 1)
	start := Spec{Module: "stuck"}.startGenome().Digest()
	Run(t, Spec{
		Module:    "stuck",
		Threats:   []scenarios.Threat{scenarios.Latency(hook, 5*time.Millisecond)},
		Tier:      Wire,
		TimeScale: 0.1,
		Workload: func(ctx context.Context, p *genome.Policy) error {
			if sandbox.Inside() && p.Digest() != start { // the search's candidates hang, not the baseline
				time.Sleep(time.Hour)
			}
			return p.Do(ctx, faults.FuncErr(hook, func(context.Context) error { return nil }))
		},
		Sandbox: &Sandbox{},
		Evolve:  &evolve.Options{Population: 4, Generations: 2},
	})
}

// TestAKilledSearchLeavesNothingBehind kills a sandboxed search's process
// while a sandbox runs: the kernel kills the sandboxed process with it
// (its parent-death signal), its network namespace goes with its last
// process, and the next run's sweep removes the cgroups it left.
func TestAKilledSearchLeavesNothingBehind(t *testing.T) {
	needSandbox(t)
	nothingLeft(t)
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperSandboxedSearchToKill$", "-test.v", "-test.timeout=2m")
	cmd.Env = append(os.Environ(), helperEnv+"=sandbox-kill")
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	// The baseline's trial ran (in a sandbox of its own, gone now): the
	// search has begun.
	lines := bufio.NewScanner(out)
	for lines.Scan() && !strings.Contains(lines.Text(), "100 of 100 requests succeeded") {
	}
	go io.Copy(io.Discard, out)
	var inside int
	for k := 0; k < 4000 && inside == 0; k++ {
		for _, g := range sandbox.Leftovers(cmd.Process.Pid) {
			if kids := procsIn(g); len(kids) > 0 {
				inside = kids[0]
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	require.NotZero(t, inside, "no sandbox of the search's came up")
	netns, err := os.Readlink(filepath.Join("/proc", strconv.Itoa(inside), "ns/net"))
	require.NoError(t, err)
	own, _ := os.Readlink("/proc/self/ns/net")
	assert.NotEqual(t, own, netns, "the sandboxed process has a network namespace of its own")

	require.NoError(t, cmd.Process.Kill())
	_ = cmd.Wait()
	gone := func() bool { _, err := os.Stat(filepath.Join("/proc", strconv.Itoa(inside))); return err != nil }
	for k := 0; k < 2000 && !gone(); k++ {
		time.Sleep(5 * time.Millisecond)
	}
	assert.True(t, gone(), "the sandboxed process died with the search")
	assert.NotEmpty(t, sandbox.Leftovers(cmd.Process.Pid), "the killed search left its cgroups, for the sweep")
	_, err = sandbox.Sweep()
	require.NoError(t, err)
	assert.Empty(t, sandbox.Leftovers(cmd.Process.Pid), "the sweep removed them")
}

// procsIn lists the processes in a cgroup directory.
func procsIn(dir string) []int {
	b, _ := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
	var out []int
	for _, f := range strings.Fields(string(b)) {
		if n, err := strconv.Atoi(f); err == nil {
			out = append(out, n)
		}
	}
	return out
}

// TestASandboxedSearchEvolvesTheSameAsOneHere: a candidate's trials
// measure the same in a sandbox as in this process (the same seeds, the
// same simulated time), so the search — adversarial rounds included, whose
// re-timed threats a sandbox cannot rebuild and which run here — ends with
// the same champion and the same attacks.
func TestASandboxedSearchEvolvesTheSameAsOneHere(t *testing.T) {
	needSandbox(t)
	nothingLeft(t)
	t.Chdir(t.TempDir())
	spec := func(sandboxed bool) Spec {
		s := quotesSpec(3)
		s.Trials = 1
		s.Evolve.Generations, s.Evolve.Population = 6, 6
		if sandboxed {
			s.Sandbox = &Sandbox{}
		}
		return s
	}
	var here, there *report.Report
	t.Run("here", func(t *testing.T) { here = Run(t, spec(false)) })
	t.Run("sandboxed", func(t *testing.T) { there = Run(t, spec(true)) })
	if sandbox.Inside() {
		return // a sandbox's copy of this test runs on after its subtest's Run
	}
	require.NotNil(t, here)
	require.NotNil(t, there)
	assert.Equal(t, here.Champion, there.Champion)
	require.Equal(t, len(here.Attacks), len(there.Attacks))
	for i := range here.Attacks {
		assert.Equal(t, here.Attacks[i].Threat, there.Attacks[i].Threat)
	}
	assert.Equal(t, len(here.History), len(there.History))
}

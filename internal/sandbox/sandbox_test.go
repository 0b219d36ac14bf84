//go:build linux

package sandbox

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

// The test binary is also every child: $SANDBOX_TEST_CHILD says what it
// does instead of running the tests.
const envChild = "SANDBOX_TEST_CHILD"

func TestMain(m *testing.M) {
	if what := os.Getenv(envChild); what != "" {
		os.Exit(child(what))
	}
	goleak.VerifyTestMain(m)
}

func child(what string) int {
	switch what {
	case "exit":
		return 0
	case "allocate": // without bound, each page touched
		var held [][]byte
		for len(held) >= 0 {
			b := make([]byte, 1<<20)
			for i := 0; i < len(b); i += 4096 {
				b[i] = 1
			}
			held = append(held, b)
		}
		return 1
	case "sleep":
		time.Sleep(time.Hour)
	case "threads": // each goroutine holds a thread of its own
		for {
			go func() { runtime.LockOSThread(); time.Sleep(time.Hour) }()
			time.Sleep(time.Millisecond)
		}
	case "dial": // each address of $SANDBOX_TEST_DIAL: "ok" or the error
		for _, a := range strings.Fields(os.Getenv("SANDBOX_TEST_DIAL")) {
			c, err := net.DialTimeout("tcp", a, 2*time.Second)
			if err != nil {
				fmt.Printf("%s %v\n", a, err)
				continue
			}
			line, err := bufio.NewReader(c).ReadString('\n')
			c.Close()
			fmt.Printf("%s ok %q %v\n", a, line, err)
		}
		return 0
	case "listen": // its own loopback works
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			fmt.Println("listen:", err)
			return 1
		}
		defer ln.Close()
		go func() {
			if c, err := ln.Accept(); err == nil {
				c.Write([]byte("hello\n"))
				c.Close()
			}
		}()
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			fmt.Println("dial:", err)
			return 1
		}
		line, _ := bufio.NewReader(c).ReadString('\n')
		c.Close()
		fmt.Printf("uid %d %s", os.Getuid(), line)
		return 0
	case "available": // whether this user can have a sandbox, and why not
		fmt.Println(Available())
		return 0
	case "parent": // a sandbox's parent, to be killed: prints its child's pid
		cmd := exec.Command(os.Args[0])
		cmd.Env = append(os.Environ(), envChild+"=sleep")
		cmd.Stdout = os.Stdout
		_, err := Run(context.Background(), cmd, Limits{Memory: 64 << 20})
		fmt.Println("parent:", err)
		return 1
	}
	return 2
}

// sandboxed runs the test binary as a child doing what, in a sandbox.
func sandboxed(t *testing.T, what string, l Limits, env ...string) (Exit, string) {
	t.Helper()
	needSandbox(t)
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(append(os.Environ(), envChild+"="+what), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	ex, err := Run(context.Background(), cmd, l)
	require.NoError(t, err)
	assert.Empty(t, Leftovers(os.Getpid()), "the sandbox's cgroups are gone")
	return ex, out.String()
}

func TestAChildThatExitsWellHasNoCause(t *testing.T) {
	ex, out := sandboxed(t, "exit", Limits{})
	assert.Equal(t, "", ex.Cause, out)
	assert.NoError(t, ex.Err)
	assert.Positive(t, ex.Peak, "the cgroup's peak is read")
}

func TestAChildThatAllocatesWithoutBoundIsKilledForMemory(t *testing.T) {
	ex, out := sandboxed(t, "allocate", Limits{Memory: 64 << 20})
	assert.True(t, ex.OOM, out)
	assert.Equal(t, "killed: out of memory (limit 64 MiB)", ex.Cause)
	assert.LessOrEqual(t, ex.Peak, int64(65<<20), "the kernel held it to its limit (a charge may pass it by a page or so before the kill)")
}

func TestAHungChildIsKilledAtItsTimeout(t *testing.T) {
	ex, _ := sandboxed(t, "sleep", Limits{Timeout: 200 * time.Millisecond})
	assert.True(t, ex.Hung)
	assert.Equal(t, "hung: still running after 200ms, killed", ex.Cause)
}

func TestAChildIsHeldToItsTaskLimit(t *testing.T) {
	ex, out := sandboxed(t, "threads", Limits{Processes: 24, Timeout: time.Minute})
	require.False(t, ex.Hung, "the runtime fails to make a thread past the limit, and the process ends")
	assert.Contains(t, ex.Cause, "after it reached its limit of 24 tasks")
	assert.Regexp(t, "failed to create new OS thread|pthread_create failed", firstLine(out), "the runtime says why")
}

// needSandbox skips a test where this user cannot have a sandbox, saying
// why in one line.
func needSandbox(t *testing.T) {
	t.Helper()
	if err := Available(); err != nil {
		t.Skipf("no sandbox here: %v", err)
	}
}

func TestACancelledContextKillsTheChild(t *testing.T) {
	needSandbox(t)
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), envChild+"=sleep")
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err := Run(ctx, cmd, Limits{})
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Empty(t, Leftovers(os.Getpid()))
}

// serve answers every connection on a loopback port with a line, until the
// test ends.
func serve(t *testing.T, line string) string {
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
	return ln.Addr().String()
}

func TestAChildReachesOnlyWhatItWasHanded(t *testing.T) {
	handed, kept := serve(t, "handed"), serve(t, "kept")
	ex, out := sandboxed(t, "dial", Limits{Hand: []string{handed}},
		"SANDBOX_TEST_DIAL="+strings.Join([]string{handed, kept, "192.0.2.1:80", "[2001:db8::1]:80"}, " "))
	require.Equal(t, "", ex.Cause, out)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, 4, out)
	assert.Equal(t, handed+` ok "handed\n" <nil>`, lines[0], "a handed port is forwarded to the same address outside")
	assert.Contains(t, lines[1], "connection refused", "a port on this host's loopback that was not handed is not there")
	assert.Contains(t, lines[2], "network is unreachable", "no other host is")
	assert.Contains(t, lines[3], "network is unreachable")
	// Outside, the port that was not handed is there all along.
	c, err := net.Dial("tcp", kept)
	require.NoError(t, err)
	c.Close()
}

func TestHandingRefusesAnAddressOffLoopback(t *testing.T) {
	for _, a := range []string{"10.0.0.1:5432", "localhost", "127.0.0.1:0", "example.com:80"} {
		_, err := Run(context.Background(), exec.Command("true"), Limits{Hand: []string{a}})
		assert.ErrorContains(t, err, "hand", a)
	}
}

func TestTheRootlessPathHasItsOwnLoopback(t *testing.T) {
	if n, err := readInt("/proc/sys/user/max_user_namespaces"); err != nil || n == 0 {
		t.Skip("user namespaces are disabled here")
	}
	ex, out := sandboxed(t, "listen", Limits{userns: true})
	require.Equal(t, "", ex.Cause, out)
	assert.Equal(t, "uid 0 hello\n", out, "root in its own user namespace, with its loopback up")
	_, err := Run(context.Background(), exec.Command("true"), Limits{userns: true, Hand: []string{"127.0.0.1:5432"}})
	assert.ErrorContains(t, err, "needs root")
}

// TestAKilledParentLeavesNothingBehind kills a sandbox's parent in the
// middle: the kernel kills its child (the parent-death signal), and the
// next Sweep removes the cgroups it left.
func TestAKilledParentLeavesNothingBehind(t *testing.T) {
	needSandbox(t)
	parent := exec.Command(os.Args[0])
	parent.Env = append(os.Environ(), envChild+"=parent")
	stdout, err := parent.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, parent.Start())
	// The child is up once it is in its cgroup.
	var groups []string
	var kid int
	for k := 0; k < 2000 && kid == 0; k++ {
		groups = Leftovers(parent.Process.Pid)
		for _, g := range groups {
			if ps := procs(g); len(ps) > 0 {
				kid = ps[0]
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	require.NotZero(t, kid, "the parent's child never reached its cgroup")
	require.NoError(t, parent.Process.Kill())
	_ = parent.Wait()
	io.Copy(io.Discard, stdout)
	for k := 0; k < 2000 && alive(kid) && !zombie(kid); k++ {
		time.Sleep(5 * time.Millisecond)
	}
	assert.False(t, alive(kid) && !zombie(kid), "the child died with its parent")
	assert.NotEmpty(t, Leftovers(parent.Process.Pid), "the killed parent left its cgroups")
	n, err := Sweep()
	require.NoError(t, err)
	assert.Equal(t, len(groups), n)
	assert.Empty(t, Leftovers(parent.Process.Pid), "Sweep removed them")
}

func firstLine(s string) string { l, _, _ := strings.Cut(s, "\n"); return l }

// zombie reports whether pid has exited but not been waited for (its
// parent, init, will).
func zombie(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return errors.Is(err, os.ErrNotExist)
	}
	_, rest, _ := strings.Cut(string(b), ") ")
	return strings.HasPrefix(rest, "Z") || strings.HasPrefix(rest, "X")
}

func TestOnlyASandboxsCgroupNamesAnOwner(t *testing.T) {
	for name, want := range map[string]int{"rafael-sandbox-42-17": 42, "rafael-sandbox-x-1": 0, "rafael-sandbox-42": 0, "other-42-1": 0, "rafael-sandbox--1": 0} {
		got, ok := ownerOf(name)
		assert.Equal(t, want, got, name)
		assert.Equal(t, want != 0, ok, name)
	}
}

// TestWithoutRootItSaysWhyOrWorks runs the availability check as another
// user (nobody): where that user has no cgroup of its own to write, the
// sandbox is unavailable and the error says what is missing.
func TestWithoutRootItSaysWhyOrWorks(t *testing.T) {
	setpriv, err := exec.LookPath("setpriv")
	if os.Geteuid() != 0 || err != nil {
		t.Skip("needs root and setpriv to run as another user")
	}
	// The test binary lives in a directory only root may enter: copy it.
	bin := filepath.Join(t.TempDir(), "sandbox.test")
	data, err := os.ReadFile(os.Args[0])
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(bin, data, 0o755))
	require.NoError(t, os.Chmod(filepath.Dir(bin), 0o755))
	cmd := exec.Command(setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", bin)
	cmd.Env = append(os.Environ(), envChild+"=available")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	said := strings.TrimSpace(string(out))
	if said == "<nil>" {
		return // rootless works here: user namespaces and a delegated cgroup
	}
	assert.Contains(t, said, "sandbox: ")
	assert.Regexp(t, "cgroup|namespace", said, "it names what is missing")
	t.Logf("as nobody: %s", said)
}

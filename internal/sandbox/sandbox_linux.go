package sandbox

import (
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
	"sync"
	"syscall"
	"time"

	"unsafe"
)

// envGate names, in a child's environment, the descriptor it waits on
// before anything else runs (see Run).
const envGate = "RAFAEL_SANDBOX_GATE"

// prefix begins the name of every cgroup a sandbox makes:
// rafael-sandbox-<pid of the parent>-<n>.
const prefix = "rafael-sandbox-"

// Available returns nil when [Run] can sandbox a child here, or an error
// that says what is missing.
func Available() error {
	_, err := plan(Limits{})
	return err
}

// mode is how a child is sandboxed here.
type mode struct {
	h      hierarchy
	userns bool // rootless: a user namespace owns the network namespace
}

func plan(l Limits) (mode, error) {
	userns := os.Geteuid() != 0 || l.userns
	if userns {
		if n, err := readInt("/proc/sys/user/max_user_namespaces"); err == nil && n == 0 {
			return mode{}, errors.New("sandbox: a network namespace needs root, or user namespaces, which are disabled here (user.max_user_namespaces = 0)")
		}
		if n, err := readInt("/proc/sys/kernel/unprivileged_userns_clone"); err == nil && n == 0 && os.Geteuid() != 0 {
			return mode{}, errors.New("sandbox: a network namespace needs root, or unprivileged user namespaces, which are disabled here (kernel.unprivileged_userns_clone = 0)")
		}
	}
	h, err := ownHierarchy()
	if err != nil {
		return mode{}, fmt.Errorf("sandbox: memory and process limits need a cgroup: %w", err)
	}
	return mode{h: h, userns: userns}, nil
}

func readInt(path string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(strings.TrimSpace(string(b)))
}

// Run runs cmd in a sandbox within limits and waits for it to end; cmd
// must not have been started, and its ExtraFiles and SysProcAttr are the
// sandbox's. The child waits until it is in its cgroups and its loopback
// is up, in this package's init: a program that imports this package runs
// none of its own code before (only the runtime's and other packages'
// init, whose memory is charged to the parent's cgroup).
//
// Run returns an error only when the sandbox could not be made (nothing
// then ran); how the child ended — well, crashed, killed by the kernel for
// memory, or past its time — is in the Exit. When ctx is done the child
// is killed and Run returns ctx's error.
func Run(ctx context.Context, cmd *exec.Cmd, l Limits) (Exit, error) {
	l = l.withDefaults()
	for _, a := range l.Hand {
		if err := checkLoopback(a); err != nil {
			return Exit{}, err
		}
	}
	m, err := plan(l)
	if err != nil {
		return Exit{}, err
	}
	if len(l.Hand) > 0 && m.userns {
		return Exit{}, fmt.Errorf("sandbox: handing %s to a sandbox needs root (a rootless sandbox reaches only its own loopback)", strings.Join(l.Hand, ", "))
	}
	_, _ = Sweep() // what it cannot remove now (busy, another user's) it tries again next time; it never stops this run
	g, err := makeGroup(m.h, l.Memory, l.Processes)
	if err != nil {
		return Exit{}, fmt.Errorf("sandbox: %w", err)
	}
	defer g.remove()

	gateR, gateW, err := os.Pipe()
	if err != nil {
		return Exit{}, fmt.Errorf("sandbox: %w", err)
	}
	defer gateW.Close()
	cmd.ExtraFiles = []*os.File{gateR} // descriptor 3
	version := "v1"
	if m.h.v2 {
		version = "v2"
	}
	cmd.Env = append(cmd.Environ(), envGate+"=3", envMemory+"="+version+":"+g.memDir())
	attr := &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNET, Pdeathsig: syscall.SIGKILL, Setpgid: true}
	if m.userns {
		attr.Cloneflags |= syscall.CLONE_NEWUSER
		attr.UidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Geteuid(), Size: 1}} // root in its namespace, to bring loopback up
		attr.GidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getegid(), Size: 1}}
	}
	cmd.SysProcAttr = attr
	if cmd.WaitDelay == 0 {
		// A process the child started may hold its output open after it
		// exits: stop waiting for that output soon after (it is killed
		// with the cgroup anyway).
		cmd.WaitDelay = 2 * time.Second
	}

	// The parent-death signal goes when the thread that started the child
	// ends, not the process: the thread stays locked to this goroutine,
	// which keeps it until the child is gone. The child is not reaped
	// before its gate opens (or the sandbox is abandoned): until then its
	// pid stays its own, even if it died, and no other process can be put
	// in its cgroups or have its network namespace entered.
	started, done := make(chan error, 1), make(chan error, 1)
	gated := make(chan struct{})
	openGate := sync.OnceFunc(func() { close(gated) })
	defer openGate()
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		<-gated
		done <- cmd.Wait()
	}()
	if err := <-started; err != nil {
		gateR.Close()
		return Exit{}, fmt.Errorf("sandbox: start %s: %w", filepath.Base(cmd.Path), err)
	}
	gateR.Close()
	pid := cmd.Process.Pid
	abort := func(err error) (Exit, error) {
		g.kill()
		_ = cmd.Process.Kill()
		openGate()
		<-done
		return Exit{}, fmt.Errorf("sandbox: %w", err)
	}
	if err := g.join(pid); err != nil {
		return abort(err)
	}
	var fw *forwarder
	if !m.userns {
		fw, err = handIn(pid, l.Hand)
		if err != nil {
			return abort(err)
		}
		defer fw.close()
	}
	if _, err := gateW.Write([]byte{1}); err != nil {
		return abort(fmt.Errorf("the child did not wait at its gate: %w", err))
	}
	openGate()

	var timeout <-chan time.Time
	if l.Timeout > 0 {
		tm := time.NewTimer(l.Timeout)
		defer tm.Stop()
		timeout = tm.C
	}
	var ex Exit
	select {
	case ex.Err = <-done:
	case <-timeout:
		ex.Hung = true
		ex.Err = killUntil(g, done)
	case <-ctx.Done():
		killUntil(g, done)
		return Exit{}, ctx.Err()
	}
	if errors.Is(ex.Err, exec.ErrWaitDelay) {
		ex.Err = nil // it exited well; something it started held its output
	}
	g.kill() // whatever the child started
	ex.Peak = g.peak()
	ex.OOM = g.oomKills() > 0
	ex.Cause = cause(ex, g, l)
	return ex, nil
}

// killUntil kills every process in g until the child's Wait returns (a
// process forked between reading the cgroup and the kill is caught by the
// next round), and returns what Wait returned.
func killUntil(g *group, done <-chan error) error {
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		g.kill()
		select {
		case err := <-done:
			return err
		case <-tick.C:
		}
	}
}

// cause names how the child ended ("" for a clean exit).
func cause(ex Exit, g *group, l Limits) string {
	var sig syscall.Signal
	var ee *exec.ExitError
	if errors.As(ex.Err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			sig = ws.Signal()
		}
	}
	switch {
	case ex.Hung:
		return fmt.Sprintf("hung: still running after %v, killed", l.Timeout)
	case ex.OOM:
		return fmt.Sprintf("killed: out of memory (limit %s)", bytesText(g.limitNow()))
	case ex.Err == nil:
		return ""
	case g.taskLimitHit() > 0:
		return fmt.Sprintf("crashed: %v, after it reached its limit of %d tasks (threads count)", ex.Err, l.Processes)
	case sig != 0:
		return fmt.Sprintf("killed: %v", sig)
	}
	return fmt.Sprintf("crashed: %v", ex.Err)
}

// bytesText writes n as MiB or GiB.
func bytesText(n int64) string {
	if n >= 1<<30 && n%(1<<30) == 0 {
		return fmt.Sprintf("%d GiB", n>>30)
	}
	return fmt.Sprintf("%d MiB", n>>20)
}

// Sweep removes the cgroups that sandboxes of processes no longer running
// left behind (a parent killed before it could remove them), after killing
// what is still in them, and returns how many it removed. Run sweeps before
// it makes a sandbox.
func Sweep() (int, error) {
	h, err := ownHierarchy()
	if err != nil {
		return 0, nil // no cgroups here, so none left behind
	}
	removed := 0
	var errs []error
	for _, parent := range []string{h.memory, h.pids} {
		entries, err := os.ReadDir(parent)
		if err != nil {
			continue
		}
		for _, e := range entries {
			owner, ok := ownerOf(e.Name())
			if !ok || !e.IsDir() || alive(owner) {
				continue
			}
			if err := removeCgroup(filepath.Join(parent, e.Name())); err != nil {
				errs = append(errs, err)
				continue
			}
			removed++
		}
		if h.v2 {
			break
		}
	}
	return removed, errors.Join(errs...)
}

// ownerOf is the pid in the name of a sandbox's cgroup.
func ownerOf(name string) (int, bool) {
	rest, ok := strings.CutPrefix(name, prefix)
	if !ok {
		return 0, false
	}
	pid, _, ok := strings.Cut(rest, "-")
	n, err := strconv.Atoi(pid)
	if !ok || err != nil || n <= 0 {
		return 0, false
	}
	return n, true
}

func alive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// Leftovers lists the cgroups of sandboxes here whose parent is pid:
// none once its sandboxes have ended, or once Sweep ran after it died.
func Leftovers(pid int) []string {
	h, err := ownHierarchy()
	if err != nil {
		return nil
	}
	var out []string
	for _, parent := range []string{h.memory, h.pids} {
		entries, _ := os.ReadDir(parent)
		for _, e := range entries {
			if owner, ok := ownerOf(e.Name()); ok && owner == pid {
				out = append(out, filepath.Join(parent, e.Name()))
			}
		}
		if h.v2 {
			break
		}
	}
	return out
}

// CheckHand returns an error, naming addr, unless addr is a loopback
// address with a port that Limits.Hand can carry.
func CheckHand(addr string) error { return checkLoopback(addr) }

func checkLoopback(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("sandbox: hand %q: want host:port (%v)", addr, err)
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("sandbox: hand %q: only a loopback address (127.0.0.1:port, [::1]:port) can be handed to a sandbox", addr)
	}
	if n, err := strconv.Atoi(port); err != nil || n <= 0 || n > 65535 {
		return fmt.Errorf("sandbox: hand %q: the port must be 1–65535", addr)
	}
	return nil
}

// loUp brings the loopback interface up in the calling thread's network
// namespace.
func loUp() error {
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_DGRAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("loopback: %w", err)
	}
	defer syscall.Close(fd)
	// struct ifreq: the interface's name, then (a union of) its flags.
	var ifr struct {
		name  [syscall.IFNAMSIZ]byte
		flags uint16
		_     [22]byte
	}
	copy(ifr.name[:], "lo")
	ioctl := func(req uintptr) error {
		if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, uintptr(fd), req, uintptr(unsafe.Pointer(&ifr))); e != 0 {
			return e
		}
		return nil
	}
	if err := ioctl(syscall.SIOCGIFFLAGS); err != nil {
		return fmt.Errorf("loopback: %w", err)
	}
	ifr.flags |= syscall.IFF_UP | syscall.IFF_RUNNING
	if err := ioctl(syscall.SIOCSIFFLAGS); err != nil {
		return fmt.Errorf("loopback up: %w", err)
	}
	return nil
}

// forwarder listens, inside a child's network namespace, on the addresses
// handed to it, and forwards each connection to the same address outside.
type forwarder struct {
	lns   []net.Listener
	wg    sync.WaitGroup
	mu    sync.Mutex
	conns map[net.Conn]struct{}
	done  bool
}

// handIn brings up loopback in the network namespace of pid and listens
// there on each address of hand. The listening sockets are made by a
// thread that enters the namespace and is never used again: its goroutine
// ends locked, and the runtime ends the thread with it.
func handIn(pid int, hand []string) (*forwarder, error) {
	fw := &forwarder{conns: map[net.Conn]struct{}{}}
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // not unlocked: the thread is left in the child's namespace
		ns, err := os.Open(fmt.Sprintf("/proc/%d/ns/net", pid))
		if err != nil {
			errc <- err
			return
		}
		defer ns.Close()
		if err := setns(int(ns.Fd()), syscall.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("enter the child's network namespace: %w", err)
			return
		}
		if err := loUp(); err != nil {
			errc <- err
			return
		}
		for _, a := range hand {
			ln, err := net.Listen("tcp", a)
			if err != nil {
				errc <- fmt.Errorf("hand %s: %w", a, err)
				return
			}
			fw.lns = append(fw.lns, ln)
		}
		errc <- nil
	}()
	if err := <-errc; err != nil {
		fw.close()
		return nil, err
	}
	for i, ln := range fw.lns {
		fw.wg.Add(1)
		go fw.serve(ln, hand[i])
	}
	return fw, nil
}

func (fw *forwarder) serve(ln net.Listener, to string) {
	defer fw.wg.Done()
	for {
		in, err := ln.Accept()
		if err != nil {
			return
		}
		if !fw.track(in) {
			in.Close()
			return
		}
		fw.wg.Add(1)
		go fw.connect(in, to)
	}
}

// connect forwards in to a new connection to to: one that to refuses is
// closed at once (inside, the workload sees the connection reset or
// closed, not refused: the sandbox accepted it first).
func (fw *forwarder) connect(in net.Conn, to string) {
	defer fw.wg.Done()
	defer fw.untrack(in)
	out, err := net.DialTimeout("tcp", to, 5*time.Second)
	if err != nil {
		return
	}
	if !fw.track(out) {
		out.Close()
		return
	}
	defer fw.untrack(out)
	copied := make(chan struct{})
	go func() { fw.pipe(out, in); close(copied) }()
	fw.pipe(in, out)
	<-copied
}

// untrack closes c and forgets it.
func (fw *forwarder) untrack(c net.Conn) {
	c.Close()
	fw.mu.Lock()
	delete(fw.conns, c)
	fw.mu.Unlock()
}

func (fw *forwarder) track(cs ...net.Conn) bool {
	fw.mu.Lock()
	defer fw.mu.Unlock()
	if fw.done {
		return false
	}
	for _, c := range cs {
		fw.conns[c] = struct{}{}
	}
	return true
}

func (fw *forwarder) pipe(dst, src net.Conn) {
	_, _ = io.Copy(dst, src)
	if tc, ok := dst.(*net.TCPConn); ok {
		_ = tc.CloseWrite()
	}
}

// close stops listening, closes every forwarded connection and waits for
// its goroutines.
func (fw *forwarder) close() {
	if fw == nil {
		return
	}
	fw.mu.Lock()
	fw.done = true
	for c := range fw.conns {
		c.Close()
	}
	fw.mu.Unlock()
	for _, ln := range fw.lns {
		ln.Close()
	}
	fw.wg.Wait()
}

// enter is the child's side: it waits at the gate until its parent has
// put it in its cgroups, then brings its loopback up. The gate's variable
// is removed, so that the child's own children do not wait.
func enter() error {
	v := os.Getenv(envGate)
	if v == "" {
		return nil
	}
	os.Unsetenv(envGate)
	fd, err := strconv.Atoi(v)
	if err != nil {
		return fmt.Errorf("%s=%q", envGate, v)
	}
	gate := os.NewFile(uintptr(fd), "sandbox-gate")
	var b [1]byte
	_, err = io.ReadFull(gate, b[:])
	gate.Close()
	if err != nil {
		return fmt.Errorf("the parent never opened the gate: %w", err)
	}
	return loUp()
}

func init() {
	if err := enter(); err != nil {
		fmt.Fprintf(os.Stderr, "rafael: sandbox: %v\n", err)
		os.Exit(97)
	}
}

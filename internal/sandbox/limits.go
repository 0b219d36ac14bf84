package sandbox

import "time"

// The limits a zero [Limits] means.
const (
	DefaultMemory    = 1 << 30 // 1 GiB
	DefaultProcesses = 512     // tasks: a Go test binary runs a dozen or two threads
)

// Limits bound a sandboxed child.
type Limits struct {
	Memory    int64         // bytes the child's cgroup may hold before the kernel kills it; 0 means DefaultMemory
	Processes int           // tasks (processes and threads) the cgroup may hold; 0 means DefaultProcesses
	Timeout   time.Duration // the child is killed after this long; 0 means no bound but the context's

	// Hand lists loopback addresses ("127.0.0.1:5432") that are reachable
	// inside the sandbox: a connection to one is forwarded to the same
	// address outside it. Nothing else outside is (root only).
	Hand []string

	userns bool // make a user namespace even as root (tests of the rootless path)
}

func (l Limits) withDefaults() Limits {
	if l.Memory <= 0 {
		l.Memory = DefaultMemory
	}
	if l.Processes <= 0 {
		l.Processes = DefaultProcesses
	}
	return l
}

// Exit is how a sandboxed child ended.
type Exit struct {
	// Cause is "" when the child exited with status 0; else, for a
	// person: "killed: out of memory (limit 256 MiB)", "hung: still running
	// after 2m0s, killed", "killed: killed", "crashed: exit status 2".
	Cause string
	OOM   bool  // the kernel killed it for going over its memory limit
	Hung  bool  // it was killed at Limits.Timeout
	Peak  int64 // the most memory its cgroup held, in bytes (0: unknown)
	Err   error // what waiting for it returned
}

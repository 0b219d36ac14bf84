// Package sandbox runs a child process in a sandbox the kernel enforces,
// without a container runtime: its own network namespace, in which only
// loopback is up (it reaches no other host, and of this host only the ports
// handed to it), a cgroup memory limit (the kernel kills it when it goes
// over: an OOM kill, named as such), a cgroup limit on its tasks (threads
// count), and a wall-clock bound.
//
// It works as root (cgroup v1 or v2), and rootless where user namespaces are
// enabled and the user may make cgroups beside its own (cgroup v2 with
// memory and pids delegated, as under systemd-run --user --scope: the
// sandbox's cgroup is made beside the test's, since a v2 cgroup that holds
// processes cannot limit cgroups below it); [Available] says why not.
// Linux only. Tested here as root on cgroup v1 and as another user (which
// this machine does not delegate a cgroup to); the v2 paths are not run
// here.
//
// Nothing outlives its owner: a child is started with a parent-death
// signal (SIGKILL) from a thread that stays locked until it exits, so a
// killed parent takes its children with it; a network namespace ends with
// its last process; the cgroups a run made are removed when its child ends,
// and [Sweep] (run by [Run] before it makes any) removes those a killed
// parent left, killing what is still inside them.
//
// The sandbox protects the machine from a workload's accidents — memory
// without bound, a thread or fork storm, a stray connection, a hang — not
// from code that means harm: the child runs as the same user in the same
// file system.
package sandbox

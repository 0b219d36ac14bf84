package sandbox

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// hierarchy is where this process's cgroups are: the v1 memory and pids
// controllers' directories, or one v2 directory with both.
type hierarchy struct {
	v2     bool
	memory string // v1: the memory controller's directory of this process; v2: the directory
	pids   string // v1: the pids controller's; v2: the same as memory
}

// ownHierarchy finds the cgroup directories of this process from
// /proc/self/cgroup and /proc/self/mountinfo, and checks it may make
// cgroups below them.
func ownHierarchy() (hierarchy, error) {
	mounts, err := cgroupMounts()
	if err != nil {
		return hierarchy{}, err
	}
	paths, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return hierarchy{}, fmt.Errorf("cannot read this process's cgroups: %w", err)
	}
	own := map[string]string{} // controller ("" for v2) → path
	for _, line := range strings.Split(strings.TrimSpace(string(paths)), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		if parts[1] == "" {
			own[""] = parts[2]
			continue
		}
		for _, c := range strings.Split(parts[1], ",") {
			own[c] = parts[2]
		}
	}
	if mem, pids := mounts["memory"], mounts["pids"]; mem.point != "" && pids.point != "" && own["memory"] != "" && own["pids"] != "" {
		h := hierarchy{memory: mem.dir(own["memory"]), pids: pids.dir(own["pids"])}
		for _, d := range []string{h.memory, h.pids} {
			if err := syscall.Access(d, 2 /* W_OK */); err != nil {
				return hierarchy{}, fmt.Errorf("cgroup v1: cannot make cgroups in %s (%v): run as root, or where this user may write its cgroup", d, err)
			}
		}
		return h, nil
	}
	if v2 := mounts[""]; v2.point != "" && own[""] != "" {
		// A v2 cgroup that holds processes cannot enable controllers for
		// cgroups below it (but the root can): a sandbox's cgroup is made
		// beside this process's, where its parent enables memory and pids
		// (this cgroup's cgroup.controllers lists what the parent enables).
		d := v2.dir(own[""])
		where, file := filepath.Dir(d), "cgroup.controllers"
		if filepath.Clean(d) == filepath.Clean(v2.point) { // the root: below it
			where, file = d, "cgroup.subtree_control"
		}
		ctl, err := os.ReadFile(filepath.Join(d, file))
		if err != nil {
			return hierarchy{}, fmt.Errorf("cgroup v2: %w", err)
		}
		have := strings.Fields(string(ctl))
		for _, c := range []string{"memory", "pids"} {
			if !contains(have, c) {
				return hierarchy{}, fmt.Errorf("cgroup v2: the %s controller is not enabled for %s (%s says %q): run the tests in a cgroup delegated with memory and pids, e.g. under systemd-run --user --scope", c, where, filepath.Join(d, file), strings.TrimSpace(string(ctl)))
			}
		}
		if err := syscall.Access(where, 2 /* W_OK */); err != nil {
			return hierarchy{}, fmt.Errorf("cgroup v2: cannot make cgroups in %s (%v): run as root, or in a cgroup delegated to this user, e.g. under systemd-run --user --scope", where, err)
		}
		return hierarchy{v2: true, memory: where, pids: where}, nil
	}
	return hierarchy{}, errors.New("no cgroup memory and pids controllers are mounted (neither cgroup v1 nor v2)")
}

// mount is where a cgroup hierarchy is mounted: point, showing the
// hierarchy from root down (a container's mount shows its own cgroup).
type mount struct{ point, root string }

// dir is the directory of the cgroup at path (as /proc/self/cgroup names
// it) under the mount.
func (m mount) dir(path string) string {
	if m.root != "/" {
		path = strings.TrimPrefix(path, m.root)
	}
	return filepath.Join(m.point, path)
}

// cgroupMounts returns the mounts of the v1 controllers, by controller,
// and of the v2 hierarchy under "".
func cgroupMounts() (map[string]mount, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, fmt.Errorf("cannot read the mounts: %w", err)
	}
	defer f.Close()
	out := map[string]mount{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// 36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue
		pre, post, ok := strings.Cut(sc.Text(), " - ")
		if !ok {
			continue
		}
		fields, tail := strings.Fields(pre), strings.Fields(post)
		if len(fields) < 5 || len(tail) < 3 {
			continue
		}
		m := mount{point: fields[4], root: fields[3]}
		switch tail[0] {
		case "cgroup2":
			if out[""].point == "" {
				out[""] = m
			}
		case "cgroup":
			for _, o := range strings.Split(tail[2], ",") {
				if o == "memory" || o == "pids" {
					out[o] = m
				}
			}
		}
	}
	return out, sc.Err()
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// group is one child's cgroups.
type group struct {
	h     hierarchy
	name  string
	limit int64
}

func (g *group) dirs() []string {
	if g.h.v2 {
		return []string{filepath.Join(g.h.memory, g.name)}
	}
	return []string{filepath.Join(g.h.memory, g.name), filepath.Join(g.h.pids, g.name)}
}

func (g *group) memDir() string  { return filepath.Join(g.h.memory, g.name) }
func (g *group) pidsDir() string { return filepath.Join(g.h.pids, g.name) }

// makeGroup makes the cgroups of one child, named for this process, with
// the limits set.
func makeGroup(h hierarchy, memory int64, tasks int) (*group, error) {
	g := &group{h: h, limit: memory}
	for k := 0; ; k++ {
		g.name = fmt.Sprintf("%s%d-%d", prefix, os.Getpid(), time.Now().UnixNano()+int64(k))
		err := os.Mkdir(g.dirs()[0], 0o755)
		if err == nil {
			break
		}
		if !errors.Is(err, os.ErrExist) || k > 100 {
			return nil, fmt.Errorf("cannot make a cgroup: %w", err)
		}
	}
	if !h.v2 {
		if err := os.Mkdir(g.pidsDir(), 0o755); err != nil {
			g.remove()
			return nil, fmt.Errorf("cannot make a cgroup: %w", err)
		}
	}
	set := func(dir, file, value string) error {
		if err := os.WriteFile(filepath.Join(dir, file), []byte(value), 0); err != nil {
			return fmt.Errorf("cannot set %s of %s to %s: %w", file, dir, value, err)
		}
		return nil
	}
	var err error
	if h.v2 {
		err = errors.Join(set(g.memDir(), "memory.max", strconv.FormatInt(memory, 10)),
			set(g.memDir(), "memory.swap.max", "0"), set(g.pidsDir(), "pids.max", strconv.Itoa(tasks)))
		if errors.Is(err, os.ErrNotExist) { // no swap accounting: nothing to limit
			err = errors.Join(set(g.memDir(), "memory.max", strconv.FormatInt(memory, 10)), set(g.pidsDir(), "pids.max", strconv.Itoa(tasks)))
		}
	} else {
		err = errors.Join(set(g.memDir(), "memory.limit_in_bytes", strconv.FormatInt(memory, 10)), set(g.pidsDir(), "pids.max", strconv.Itoa(tasks)))
		if err == nil { // no swap either, where swap is accounted
			_ = set(g.memDir(), "memory.memsw.limit_in_bytes", strconv.FormatInt(memory, 10))
		}
	}
	if err != nil {
		g.remove()
		return nil, err
	}
	return g, nil
}

// join puts process pid in the cgroups.
func (g *group) join(pid int) error {
	for _, d := range g.dirs() {
		if err := os.WriteFile(filepath.Join(d, "cgroup.procs"), []byte(strconv.Itoa(pid)), 0); err != nil {
			return fmt.Errorf("cannot put the child in cgroup %s: %w", d, err)
		}
	}
	return nil
}

// oomKills is how many of the group's processes the kernel killed for
// memory.
func (g *group) oomKills() int {
	file, key := "memory.oom_control", "oom_kill"
	if g.h.v2 {
		file = "memory.events"
	}
	return counter(filepath.Join(g.memDir(), file), key)
}

// taskLimitHit is how many times a fork or thread creation was refused.
func (g *group) taskLimitHit() int { return counter(filepath.Join(g.pidsDir(), "pids.events"), "max") }

// limitNow is the group's memory limit now: the one set, or a lower one a
// Squeeze left in force when the kernel killed the process.
func (g *group) limitNow() int64 {
	file := "memory.limit_in_bytes"
	if g.h.v2 {
		file = "memory.max"
	}
	b, err := os.ReadFile(filepath.Join(g.memDir(), file))
	if err != nil {
		return g.limit
	}
	n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil || n <= 0 {
		return g.limit
	}
	return n
}

// peak is the most memory the group held, in bytes (0: unknown).
func (g *group) peak() int64 {
	file := "memory.max_usage_in_bytes"
	if g.h.v2 {
		file = "memory.peak"
	}
	b, err := os.ReadFile(filepath.Join(g.memDir(), file))
	if err != nil {
		return 0
	}
	n, _ := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	return n
}

// counter reads "key N" from a flat-keyed cgroup file (0 when absent).
func counter(path, key string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, " "); ok && k == key {
			n, _ := strconv.Atoi(strings.TrimSpace(v))
			return n
		}
	}
	return 0
}

// kill sends SIGKILL to every process still in the group.
func (g *group) kill() {
	for _, d := range g.dirs() {
		for _, pid := range procs(d) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

// procs are the processes in cgroup directory d.
func procs(d string) []int {
	b, err := os.ReadFile(filepath.Join(d, "cgroup.procs"))
	if err != nil {
		return nil
	}
	var out []int
	for _, f := range bytes.Fields(b) {
		if n, err := strconv.Atoi(string(f)); err == nil {
			out = append(out, n)
		}
	}
	return out
}

// remove kills what is left in the group and removes its cgroups; a cgroup
// is removable only once its last process is gone, which takes the kernel
// a moment after the kill.
func (g *group) remove() error {
	var errs []error
	for _, d := range g.dirs() {
		errs = append(errs, removeCgroup(d))
	}
	return errors.Join(errs...)
}

func removeCgroup(d string) error {
	var err error
	for k := 0; k < 200; k++ {
		for _, pid := range procs(d) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		if err = os.Remove(d); err == nil || errors.Is(err, os.ErrNotExist) {
			return nil
		}
		time.Sleep(5 * time.Millisecond)
	}
	return fmt.Errorf("cannot remove cgroup %s: %w", d, err)
}

package faults

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// MemoryLimit returns the memory limit of the cgroup this process runs in
// and what that cgroup holds now, in bytes (its page cache included, as
// the kernel counts it against the limit); ok is false when there is no
// limit to read (none is set, or this is not Linux).
//
// Code that sheds load by the memory it has left reads it: in a container,
// or in a RAFAEL sandbox (evolve.Sandbox), where a MemoryPressure threat on
// the wire tier lowers the limit for its inject phase and the kernel kills
// a process that goes past it.
func MemoryLimit() (limit, usage int64, ok bool) {
	dir, v2 := memoryCgroup()
	if dir == "" {
		return 0, 0, false
	}
	limitFile, usageFile := "memory.limit_in_bytes", "memory.usage_in_bytes"
	if v2 {
		limitFile, usageFile = "memory.max", "memory.current"
	}
	read := func(f string) (int64, bool) {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			return 0, false
		}
		n, err := strconv.ParseInt(string(bytes.TrimSpace(b)), 10, 64)
		return n, err == nil && n > 0
	}
	limit, ok = read(limitFile) // "max" (v2) does not parse: no limit
	if !ok || limit >= 1<<62 {  // v1 writes "no limit" as a huge number
		return 0, 0, false
	}
	usage, ok = read(usageFile)
	return limit, usage, ok
}

// memoryCgroup finds the directory of this process's memory cgroup (v1's
// memory controller, else v2's) from /proc/self/cgroup and the mounts.
func memoryCgroup() (dir string, v2 bool) {
	own, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return "", false
	}
	var v1Path, v2Path string
	for _, line := range strings.Split(string(own), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		if parts[1] == "" {
			v2Path = parts[2]
		}
		for _, c := range strings.Split(parts[1], ",") {
			if c == "memory" {
				v1Path = parts[2]
			}
		}
	}
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return "", false
	}
	defer f.Close()
	var v1Dir, v2Dir string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		pre, post, ok := strings.Cut(sc.Text(), " - ")
		fields, tail := strings.Fields(pre), strings.Fields(post)
		if !ok || len(fields) < 5 || len(tail) < 3 {
			continue
		}
		root, point := fields[3], fields[4]
		within := func(p string) string {
			return filepath.Join(point, strings.TrimPrefix(p, strings.TrimSuffix(root, "/")))
		}
		switch {
		case tail[0] == "cgroup" && v1Path != "" && strings.Contains(","+tail[2]+",", ",memory,"):
			v1Dir = within(v1Path)
		case tail[0] == "cgroup2" && v2Path != "" && v2Dir == "":
			v2Dir = within(v2Path)
		}
	}
	if v1Dir != "" {
		return v1Dir, false
	}
	return v2Dir, v2Dir != ""
}

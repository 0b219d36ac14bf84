package sandbox

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
)

// envMemory names, in a sandboxed child, its memory cgroup: "v1:<dir>" or
// "v2:<dir>".
const envMemory = "RAFAEL_SANDBOX_MEMORY"

// Inside reports whether this process runs in a sandbox of [Run]'s, with a
// memory limit of its own that [Squeeze] may lower.
func Inside() bool { return os.Getenv(envMemory) != "" }

// Squeeze is memory pressure the kernel enforces: it lowers this sandboxed
// process's memory limit by n bytes until release restores it. Past the
// lowered limit the kernel reclaims what it can and then kills the
// process (an OOM kill), as it would in a container near its limit. The
// limit is not lowered below what the process holds now plus 4 MiB
// (after returning its free heap to the kernel): a cgroup v1 refuses a
// limit below its usage, and a v2 would kill at once; detail then says so.
func Squeeze(n int64) (release func() error, detail string, err error) {
	v := os.Getenv(envMemory)
	version, dir, ok := strings.Cut(v, ":")
	if !ok || !filepath.IsAbs(dir) {
		return nil, "", errors.New("sandbox: this process is not in a sandbox (no memory limit of its own to lower)")
	}
	limitFile, usageFile := "memory.limit_in_bytes", "memory.usage_in_bytes"
	if version == "v2" {
		limitFile, usageFile = "memory.max", "memory.current"
	}
	read := func(f string) (int64, error) {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			return 0, err
		}
		return strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	}
	old, err := read(limitFile)
	if err != nil {
		return nil, "", fmt.Errorf("sandbox: the memory limit: %w", err)
	}
	if n <= 0 || n >= old {
		return nil, "", fmt.Errorf("sandbox: cannot lower a memory limit of %s by %s", bytesText(old), bytesText(n))
	}
	target := old - n
	usage, err := read(usageFile)
	if err == nil && usage+4<<20 > target {
		debug.FreeOSMemory()
		usage, err = read(usageFile)
	}
	if err != nil {
		return nil, "", fmt.Errorf("sandbox: the memory in use: %w", err)
	}
	note := ""
	if floor := usage + 4<<20; floor > target {
		note = fmt.Sprintf(" (asked %s; the process held %s)", bytesText(target), bytesText(usage))
		target = min(floor, old)
	}
	write := func(v int64) error {
		return os.WriteFile(filepath.Join(dir, limitFile), []byte(strconv.FormatInt(v, 10)), 0)
	}
	if err := write(target); err != nil {
		return nil, "", fmt.Errorf("sandbox: lowering the memory limit: %w", err)
	}
	detail = fmt.Sprintf("enforced by the kernel: the sandbox's cgroup memory limit lowered from %s to %s%s", bytesText(old), bytesText(target), note)
	return func() error { return write(old) }, detail, nil
}

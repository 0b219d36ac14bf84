package faults

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"strconv"
	"sync"
)

// MaxBallast is the absolute cap on a [Ballast]'s limit, whatever the
// machine: 4 GiB.
const MaxBallast int64 = 4 << 30

// A ballast's limit is also capped to 1/ballastMemDivisor (25%) of the
// machine's memory: MemTotal in /proc/meminfo, or the cgroup memory limit
// when that is lower. When neither can be read, only MaxBallast applies.
const ballastMemDivisor = 4

const (
	ballastChunk = 1 << 20 // Grow allocates in slices of at most 1 MiB
	ballastPage  = 4 << 10 // and writes one byte per 4 KiB page
)

// ErrBallastCap is matched (with errors.Is) by the error for a ballast that
// would exceed its limit, [MaxBallast] or its share of the machine's memory.
var ErrBallastCap = errors.New("faults: ballast cap exceeded")

// Ballast is memory pressure: heap memory that is allocated, touched page by
// page so that it is really resident, and held until [Ballast.Release].
//
// Its size never exceeds its limit, and the limit never exceeds
// [MaxBallast] or 25% of the machine's memory. It is safe for concurrent use.
type Ballast struct {
	limit int64

	mu     sync.Mutex
	size   int64
	chunks [][]byte
}

// NewBallast returns an empty ballast that may grow up to limit bytes.
// limit must be positive (an error matching [ErrInvalid] otherwise) and
// within both caps (an error matching [ErrBallastCap] that names the cap).
func NewBallast(limit int64) (*Ballast, error) {
	mem, source, ok := ballastMachineMemory()
	if err := ballastCheckLimit(limit, mem, source, ok); err != nil {
		return nil, err
	}
	return &Ballast{limit: limit}, nil
}

// Hold allocates a ballast of n bytes for the duration of a test: it is
// [NewBallast] (n) and [Ballast.Grow] (n), with [Ballast.Release] registered
// with tb.Cleanup. tb is usually a *testing.T.
func Hold(tb interface {
	Cleanup(func())
	Helper()
}, n int64) (*Ballast, error) {
	tb.Helper()
	b, err := NewBallast(n)
	if err != nil {
		return nil, err
	}
	tb.Cleanup(b.Release)
	if err := b.Grow(n); err != nil {
		return nil, err
	}
	return b, nil
}

// Grow allocates n more bytes, in slices of at most 1 MiB, and writes one
// byte in every 4 KiB page so the memory is resident. A Grow that would take
// the size past the limit allocates nothing and returns an error matching
// [ErrBallastCap]; a negative n is an error matching [ErrInvalid].
func (b *Ballast) Grow(n int64) error {
	if n < 0 {
		return fmt.Errorf("%w: ballast.Grow n = %d is negative", ErrInvalid, n)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if n > b.limit-b.size {
		return fmt.Errorf("%w: growing %s by %s would exceed the ballast's limit of %s",
			ErrBallastCap, ballastBytes(b.size), ballastBytes(n), ballastBytes(b.limit))
	}
	for n > 0 {
		c := make([]byte, min(n, ballastChunk))
		for i := 0; i < len(c); i += ballastPage {
			c[i] = 1
		}
		b.chunks = append(b.chunks, c)
		b.size += int64(len(c))
		n -= int64(len(c))
	}
	return nil
}

// Size returns the number of bytes the ballast holds.
func (b *Ballast) Size() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.size
}

// Limit returns the most bytes the ballast may hold.
func (b *Ballast) Limit() int64 { return b.limit }

// Release drops the memory and returns it to the operating system
// (runtime/debug.FreeOSMemory). It is idempotent, and the ballast may grow
// again afterwards.
func (b *Ballast) Release() {
	b.mu.Lock()
	held := b.size > 0
	b.chunks, b.size = nil, 0
	b.mu.Unlock()
	if held {
		debug.FreeOSMemory()
	}
}

// ballastCheckLimit checks a limit against MaxBallast and, when known, the
// machine's share mem/ballastMemDivisor (mem read from source).
func ballastCheckLimit(limit, mem int64, source string, memKnown bool) error {
	if limit <= 0 {
		return fmt.Errorf("%w: ballast limit = %d must be > 0", ErrInvalid, limit)
	}
	if limit > MaxBallast {
		return fmt.Errorf("%w: limit %s is above the absolute cap MaxBallast = %s",
			ErrBallastCap, ballastBytes(limit), ballastBytes(MaxBallast))
	}
	if share := mem / ballastMemDivisor; memKnown && limit > share {
		return fmt.Errorf("%w: limit %s is above the machine cap of 25%% of memory = %s (%s = %s)",
			ErrBallastCap, ballastBytes(limit), ballastBytes(share), source, ballastBytes(mem))
	}
	return nil
}

// ballastMachineMemory returns the machine's memory: MemTotal from
// /proc/meminfo, lowered to this process's cgroup memory limit and the root
// cgroup's (v2 or v1), where one is set.
func ballastMachineMemory() (mem int64, source string, ok bool) {
	if data, err := os.ReadFile("/proc/meminfo"); err == nil {
		mem, ok = ballastParseMemTotal(data)
		source = "MemTotal"
	}
	if limit, _, has := MemoryLimit(); has && (!ok || limit < mem) { // this process's own cgroup (a container's, a sandbox's)
		mem, source, ok = limit, "this process's cgroup memory limit", true
	}
	for _, f := range []string{"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"} {
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		n, err := strconv.ParseInt(string(bytes.TrimSpace(data)), 10, 64)
		if err == nil && n > 0 && (!ok || n < mem) {
			mem, source, ok = n, "cgroup limit "+f, true
		}
	}
	return mem, source, ok
}

// ballastParseMemTotal reads the "MemTotal: N kB" line of /proc/meminfo.
func ballastParseMemTotal(meminfo []byte) (int64, bool) {
	sc := bufio.NewScanner(bytes.NewReader(meminfo))
	for sc.Scan() {
		f := bytes.Fields(sc.Bytes())
		if len(f) != 3 || string(f[0]) != "MemTotal:" || string(f[2]) != "kB" {
			continue
		}
		kb, err := strconv.ParseInt(string(f[1]), 10, 64)
		if err != nil || kb <= 0 || kb > 1<<50 {
			return 0, false
		}
		return kb << 10, true
	}
	return 0, false
}

// ballastBytes formats n as "512 B", "64 MiB" or "1.5 GiB".
func ballastBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	v, i := float64(n)/unit, 0
	for ; v >= unit && i < 4; i++ {
		v /= unit
	}
	s := strconv.FormatFloat(v, 'f', 1, 64)
	if v == float64(int64(v)) {
		s = strconv.FormatInt(int64(v), 10)
	}
	return s + " " + []string{"KiB", "MiB", "GiB", "TiB", "PiB"}[i]
}

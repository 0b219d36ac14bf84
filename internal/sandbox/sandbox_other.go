//go:build !linux

package sandbox

import (
	"context"
	"errors"
	"os/exec"
	"runtime"
)

var errNotLinux = errors.New("sandbox: network namespaces and cgroups are Linux's; this is " + runtime.GOOS)

// Available reports that there is no sandbox on this system.
func Available() error { return errNotLinux }

// Run reports that there is no sandbox on this system.
func Run(ctx context.Context, cmd *exec.Cmd, l Limits) (Exit, error) { return Exit{}, errNotLinux }

// Sweep has nothing to sweep on this system.
func Sweep() (int, error) { return 0, nil }

// Leftovers has nothing to list on this system.
func Leftovers(pid int) []string { return nil }

// Inside is false on this system.
func Inside() bool { return false }

// Squeeze reports that there is no sandbox on this system.
func Squeeze(n int64) (release func() error, detail string, err error) { return nil, "", errNotLinux }

// CheckHand reports that there is no sandbox on this system.
func CheckHand(addr string) error { return errNotLinux }

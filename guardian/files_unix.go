//go:build unix

package guardian

import (
	"errors"
	"os"
	"syscall"
)

// flock takes an exclusive lock on f without waiting: errLocked when
// another open file holds it.
func flock(f *os.File) error {
	err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	if errors.Is(err, syscall.EWOULDBLOCK) {
		return errLocked
	}
	return err
}

func unflock(f *os.File) { _ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN) }

// noFollow opens without following a symbolic link, and without waiting
// on a named pipe.
const noFollow = syscall.O_NOFOLLOW | syscall.O_NONBLOCK | syscall.O_CLOEXEC

func isLoop(err error) bool { return errors.Is(err, syscall.ELOOP) }

func setBlocking(f *os.File) error { return syscall.SetNonblock(int(f.Fd()), false) }

// linkCount is how many names the file has (hard links).
func linkCount(fi os.FileInfo) uint64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Nlink)
	}
	return 1
}

package sandbox

import "syscall"

// setns moves the calling thread into the namespace fd names (setns(2),
// which the syscall package does not wrap).
func setns(fd int, kind int) error {
	nr := sysSetns
	if nr < 0 {
		return syscall.ENOSYS
	}
	if _, _, e := syscall.RawSyscall(uintptr(nr), uintptr(fd), uintptr(kind), 0); e != 0 {
		return e
	}
	return nil
}

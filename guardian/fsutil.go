package guardian

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/rafaelabs/rafael/internal/atomicfile"
)

// appendSync appends data to path (creating it) and fsyncs it before it
// returns, so an entry it wrote is durable. It refuses a symbolic link,
// anything but a regular file, and a file with other names (hard links), and when the write or the fsync fails (a
// full disk) it truncates the file back to where it was, so that a failed
// append leaves no torn line.
func appendSync(path string, data []byte) error {
	f, err := openRegular(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE)
	if err != nil {
		return err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return err
	}
	if n := linkCount(st); n > 1 {
		f.Close()
		return fmt.Errorf("guardian: %s has %d names (hard links): appending to it would write to another file too; replace it with a copy of itself", path, n)
	}
	before := st.Size()
	if err := writeSync(f, data); err != nil {
		if terr := f.Truncate(before); terr != nil {
			f.Close()
			return fmt.Errorf("%w; truncating back to %d bytes failed too (%v): the log may end in a torn line, which rafael audit repair removes", err, before, terr)
		}
		_ = f.Sync()
		f.Close()
		return fmt.Errorf("%w; the log was truncated back to %d bytes", err, before)
	}
	if err := f.Close(); err != nil {
		return err
	}
	return atomicfile.SyncDir(filepath.Dir(path))
}

// writeSync writes data and fsyncs it.
func writeSync(f *os.File, data []byte) error {
	if _, err := f.Write(data); err != nil {
		return err
	}
	return f.Sync()
}

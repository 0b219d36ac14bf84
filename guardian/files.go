package guardian

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// readRegular reads a regular file of at most limit bytes. It never follows
// a symbolic link and never waits on a named pipe: whoever can write the
// guardian's directory may plant either. A missing file is an error that
// matches os.ErrNotExist.
func readRegular(path string, limit int64) ([]byte, error) {
	f, err := openRegular(path, os.O_RDONLY)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("guardian: %w", err)
	}
	if st.Size() > limit {
		return nil, fmt.Errorf("guardian: %s is %s, over the %s limit: it is not a file the guardian wrote; restore it from version control", path, size(st.Size()), size(limit))
	}
	data := make([]byte, st.Size())
	if _, err := io.ReadFull(f, data); err != nil {
		return nil, fmt.Errorf("guardian: reading %s: %w", path, err)
	}
	if n, _ := f.Read(make([]byte, 1)); n > 0 {
		return nil, fmt.Errorf("guardian: %s grew past the %s limit while it was read", path, size(limit))
	}
	return data, nil
}

// readOptionalRegular is readRegular, with a missing file read as empty
// (nil, nil).
func readOptionalRegular(path string, limit int64) ([]byte, error) {
	data, err := readRegular(path, limit)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	return data, err
}

// openRegular opens path with flag, refusing a symbolic link (O_NOFOLLOW)
// and anything that is not a regular file; O_NONBLOCK makes opening a
// named pipe return at once instead of waiting for a writer.
func openRegular(path string, flag int) (*os.File, error) {
	f, err := os.OpenFile(path, flag|noFollow, 0o644)
	if isLoop(err) {
		return nil, fmt.Errorf("guardian: %s is a symbolic link: the guardian reads and writes regular files only; replace it with the file itself", path)
	}
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, err
		}
		return nil, fmt.Errorf("guardian: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("guardian: %w", err)
	}
	if !st.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("guardian: %s is %s, not a regular file: the guardian reads and writes regular files only; remove it", path, describeMode(st.Mode()))
	}
	// Blocking mode again, for ordinary reads and writes of a regular file.
	if err := setBlocking(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("guardian: %w", err)
	}
	return f, nil
}

func describeMode(m fs.FileMode) string {
	switch {
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe (FIFO)"
	case m&fs.ModeSymlink != 0:
		return "a symbolic link"
	case m.IsDir():
		return "a directory"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeDevice != 0:
		return "a device"
	}
	return "not a regular file (" + m.String() + ")"
}

func size(n int64) string {
	if n >= 1<<20 {
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%d KiB", n>>10)
}

// listRegular returns the regular files in dir whose names match pattern,
// sorted, and a note for each match that is not a regular file (skipped).
// A missing dir has none; a dir that is a symbolic link or not a directory
// is an error.
func listRegular(dir, pattern string) (files, skipped []string, err error) {
	st, err := os.Lstat(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return nil, nil, nil
	case err != nil:
		return nil, nil, fmt.Errorf("guardian: %w", err)
	case st.Mode()&fs.ModeSymlink != 0:
		return nil, nil, fmt.Errorf("guardian: %s is a symbolic link: the guardian reads and writes inside its own directory only; replace it with a directory", dir)
	case !st.IsDir():
		return nil, nil, fmt.Errorf("guardian: %s is %s, not a directory; remove it", dir, describeMode(st.Mode()))
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("guardian: %w", err)
	}
	for _, e := range entries {
		if ok, _ := filepath.Match(pattern, e.Name()); !ok {
			continue
		}
		name := filepath.Join(dir, e.Name())
		if !e.Type().IsRegular() {
			skipped = append(skipped, fmt.Sprintf("%s/%s: is %s; ignored", filepath.Base(dir), e.Name(), describeMode(e.Type())))
			continue
		}
		files = append(files, name)
	}
	slices.Sort(files)
	return files, skipped, nil
}

// lockDir takes the exclusive lock on dir, one writer at a time across
// processes (and goroutines: every call opens the directory anew, and
// flock locks belong to the open file). The lock is on the directory
// itself, not on a file in it, which a writer of the directory could
// delete while it is held and so let a second writer in. It waits for a
// holder to release it, polling, until ctx is done. held reports an error
// when the path no longer names the directory locked (it was replaced).
func lockDir(ctx context.Context, dir string) (unlock func(), held func() error, err error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("guardian: locking %s: %w", dir, err)
	}
	for wait := time.Millisecond; ; wait = min(2*wait, 50*time.Millisecond) {
		err := flock(f)
		if err == nil {
			break
		}
		if !errors.Is(err, errLocked) {
			f.Close()
			return nil, nil, fmt.Errorf("guardian: locking %s: %w", dir, err)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			f.Close()
			return nil, nil, fmt.Errorf("guardian: waiting for the lock on %s (another process is writing): %w", dir, ctx.Err())
		case <-t.C:
		}
	}
	held = func() error {
		locked, err1 := f.Stat()
		now, err2 := os.Stat(dir)
		if err1 != nil || err2 != nil || !os.SameFile(locked, now) {
			return fmt.Errorf("guardian: %s was replaced while this process held its lock: another writer may be writing; nothing more is written", dir)
		}
		return nil
	}
	if err := held(); err != nil {
		unflock(f)
		f.Close()
		return nil, nil, err
	}
	return func() { unflock(f); f.Close() }, held, nil
}

var errLocked = errors.New("locked by another writer")

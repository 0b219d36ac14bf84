// Package atomicfile replaces files so that a reader, or the next run after
// a crash, sees either the old file or the new one, never a part. Every
// package of RAFAEL that writes a file a person or a later run reads (the
// reports, the guardian's genome files and checkpoint, approvals, exported
// vault patterns, the CLI's merged reports) writes it through Write.
package atomicfile

import (
	"fmt"
	"os"
	"path/filepath"
)

// Write replaces path with data: a temporary file in the same directory is
// written, fsynced and made readable (0644), renamed over path, and the
// directory is fsynced so the rename survives a crash. On an error the
// temporary file is removed and path is untouched.
func Write(path string, data []byte) error { return WriteMode(path, data, 0o644) }

// WriteMode is Write with the file's permissions perm, which the temporary
// file has from its creation (os.CreateTemp makes it 0600), so a private
// key is never readable by others, not even for a moment.
func WriteMode(path string, data []byte, perm os.FileMode) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, tempPrefix(path)+"*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if _, err = f.Write(data); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Chmod(perm); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Rename(f.Name(), path); err != nil {
		return err
	}
	return SyncDir(dir)
}

// SyncDir fsyncs a directory, so that a file created or renamed in it
// survives a crash.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("fsync %s: %w", dir, err)
	}
	return nil
}

// RemoveStale deletes the temporary files that a Write of path interrupted
// by a crash left behind; they were never renamed, so nothing depends on
// them.
func RemoveStale(path string) {
	matches, _ := filepath.Glob(filepath.Join(filepath.Dir(path), tempPrefix(path)+"*"))
	for _, m := range matches {
		os.Remove(m)
	}
}

func tempPrefix(path string) string { return "." + filepath.Base(path) + ".tmp-" }

package guardian

import (
	"os"
	"path/filepath"

	"github.com/rafaelabs/rafael/internal/atomicfile"
)

// appendSync appends data to path (creating it) and fsyncs it before it
// returns, so an entry it wrote is durable.
func appendSync(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return atomicfile.SyncDir(filepath.Dir(path))
}

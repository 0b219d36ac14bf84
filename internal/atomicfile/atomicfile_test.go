package atomicfile

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestWriteReplacesAndLeavesNothingBehind(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "genome.json")
	require.NoError(t, Write(path, []byte("old")))
	require.NoError(t, Write(path, []byte("new")))
	got, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, "new", string(got))
	st, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o644), st.Mode().Perm())
	entries, _ := os.ReadDir(dir)
	assert.Len(t, entries, 1, "no temporary file is left")
}

func TestWriteFailureKeepsTheOldFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "report.json")
	require.NoError(t, Write(path, []byte("old")))
	// A write into a directory that does not exist fails, and touches
	// nothing that does.
	err := Write(filepath.Join(dir, "missing", "x.json"), []byte("new"))
	assert.Error(t, err)
	got, _ := os.ReadFile(path)
	assert.Equal(t, "old", string(got))
	entries, _ := os.ReadDir(dir)
	assert.Len(t, entries, 1)
}

func TestRemoveStale(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "audit.checkpoint")
	require.NoError(t, os.WriteFile(filepath.Join(dir, ".audit.checkpoint.tmp-123"), []byte("half"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "keep.json"), nil, 0o644))
	RemoveStale(path)
	entries, _ := os.ReadDir(dir)
	require.Len(t, entries, 1)
	assert.Equal(t, "keep.json", entries[0].Name())
}

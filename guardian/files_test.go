package guardian

import (
	"context"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestReadRegularRefusesWhatAWriterCanPlant(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "audit.jsonl")
	require.NoError(t, os.WriteFile(file, []byte("x\n"), 0o644))
	link := filepath.Join(dir, "link")
	require.NoError(t, os.Symlink(file, link))
	fifo := filepath.Join(dir, "fifo")
	require.NoError(t, syscall.Mkfifo(fifo, 0o644))

	got, err := readRegular(file, 16)
	require.NoError(t, err)
	assert.Equal(t, "x\n", string(got))
	_, err = readRegular(link, 16)
	assert.ErrorContains(t, err, "is a symbolic link: the guardian reads and writes regular files only")
	runWithin(t, 5*time.Second, func() string {
		_, err = readRegular(fifo, 16)
		return ""
	})
	assert.ErrorContains(t, err, "is a named pipe (FIFO), not a regular file")
	_, err = readRegular(file, 1)
	assert.ErrorContains(t, err, "over the 0 KiB limit")
	_, err = readRegular(filepath.Join(dir, "missing"), 16)
	assert.ErrorIs(t, err, os.ErrNotExist)
	got, err = readOptionalRegular(filepath.Join(dir, "missing"), 16)
	assert.NoError(t, err)
	assert.Nil(t, got)

	assert.ErrorContains(t, appendSync(link, []byte("y\n")), "is a symbolic link")
	assert.Equal(t, "x\n", string(readFile(t, file)), "nothing was written through the link")
}

func TestListRegularSkipsLinksAndPipes(t *testing.T) {
	dir := t.TempDir()
	approvals := filepath.Join(dir, "approvals")
	require.NoError(t, os.Mkdir(approvals, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(approvals, "b.json"), nil, 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(approvals, "a.json"), nil, 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(approvals, "notes.txt"), nil, 0o644))
	require.NoError(t, os.Symlink(filepath.Join(approvals, "a.json"), filepath.Join(approvals, "c.json")))
	require.NoError(t, syscall.Mkfifo(filepath.Join(approvals, "d.json"), 0o644))

	files, skipped, err := listRegular(approvals, "*.json")
	require.NoError(t, err)
	assert.Equal(t, []string{filepath.Join(approvals, "a.json"), filepath.Join(approvals, "b.json")}, files)
	assert.Equal(t, []string{"approvals/c.json: is a symbolic link; ignored", "approvals/d.json: is a named pipe (FIFO); ignored"}, skipped)

	files, _, err = listRegular(filepath.Join(dir, "none"), "*.json")
	assert.NoError(t, err)
	assert.Empty(t, files)
	linked := filepath.Join(dir, "linked")
	require.NoError(t, os.Symlink(approvals, linked))
	_, _, err = listRegular(linked, "*.json")
	assert.ErrorContains(t, err, "is a symbolic link: the guardian reads and writes inside its own directory only")
}

func TestLockDirOrdersWritersAndHonoursTheContext(t *testing.T) {
	dir := t.TempDir()
	unlock, held, err := lockDir(t.Context(), dir)
	require.NoError(t, err)
	require.NoError(t, held())

	// A second writer, in this process, waits; its context ends the wait.
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		_, _, err := lockDir(ctx, dir)
		done <- err
	}()
	cancel()
	err = <-done
	assert.ErrorIs(t, err, context.Canceled)
	assert.ErrorContains(t, err, "waiting for the lock on "+dir+" (another process is writing)")

	// Released, the lock is had.
	got := make(chan func(), 1)
	go func() {
		u, _, err := lockDir(t.Context(), dir)
		assert.NoError(t, err)
		got <- u
	}()
	unlock()
	(<-got)()
}

// TestLockSurvivesAWriterOfTheDirectory: the lock is the directory's own,
// so deleting files cannot let a second writer in; replacing the
// directory is noticed before the next write.
func TestLockSurvivesAWriterOfTheDirectory(t *testing.T) {
	parent := t.TempDir()
	dir := filepath.Join(parent, "rafael")
	require.NoError(t, os.Mkdir(dir, 0o755))
	unlock, held, err := lockDir(t.Context(), dir)
	require.NoError(t, err)
	defer unlock()
	entries, _ := os.ReadDir(dir)
	assert.Empty(t, entries, "no lock file to delete")

	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	_, _, err = lockDir(ctx, dir)
	assert.ErrorIs(t, err, context.DeadlineExceeded, "a second writer waits")

	require.NoError(t, os.Rename(dir, dir+".old"))
	require.NoError(t, os.Mkdir(dir, 0o755))
	assert.ErrorContains(t, held(), "was replaced while this process held its lock")
}

// The full-disk test re-executes the test binary under a file size limit
// (RLIMIT_FSIZE), which fails a write past it as a full disk does.
const fullDiskEnv = "RAFAEL_GUARDIAN_FULL_DISK"

func fullDiskChild(path string) {
	signal.Ignore(syscall.SIGXFSZ)
	st, err := os.Stat(path)
	if err == nil {
		err = syscall.Setrlimit(syscall.RLIMIT_FSIZE, &syscall.Rlimit{Cur: uint64(st.Size()) + 100, Max: ^uint64(0)})
	}
	if err == nil {
		err = appendSync(path, make([]byte, 4096))
	}
	if err != nil {
		os.Stderr.WriteString(err.Error())
	}
	os.Exit(3)
}

func TestAppendOnAFullDiskLeavesNoTornLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	before := []byte(`{"seq":1}` + "\n")
	require.NoError(t, os.WriteFile(path, before, 0o644))
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), fullDiskEnv+"="+path)
	out, _ := cmd.CombinedOutput()
	assert.Contains(t, string(out), "file too large")
	assert.Contains(t, string(out), "the log was truncated back to 10 bytes")
	assert.Equal(t, before, readFile(t, path), "the partial append was undone")
}

// TestAppendRefusesAHardLinkedLog: a writer of the directory can make
// audit.jsonl another name of a file elsewhere; the guardian never appends
// through it.
func TestAppendRefusesAHardLinkedLog(t *testing.T) {
	elsewhere := filepath.Join(t.TempDir(), "victim")
	require.NoError(t, os.WriteFile(elsewhere, []byte("keep\n"), 0o644))
	log := filepath.Join(t.TempDir(), "audit.jsonl")
	if err := os.Link(elsewhere, log); err != nil {
		t.Skipf("no hard links across these directories: %v", err)
	}
	assert.ErrorContains(t, appendSync(log, []byte("entry\n")), "has 2 names (hard links)")
	assert.Equal(t, "keep\n", string(readFile(t, elsewhere)))
}

package guardian

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The concurrency test re-executes the test binary as writers: each
// proposes proposalsEach changes of its own module in the same directory.
const (
	writerDirEnv  = "RAFAEL_GUARDIAN_WRITER_DIR"
	writerIDEnv   = "RAFAEL_GUARDIAN_WRITER_ID"
	writerCount   = 3
	proposalsEach = 100
)

// writerModule is writer id's module, starting from the base genome.
func writerModule(id int) string { return fmt.Sprintf("checkout%d", id) }

func writerChild(dir, id string) {
	n, _ := strconv.Atoi(id)
	g, err := Open(dir, WithSigningKey(auditKey), WithTrustedKeys(), WithPinFile(""), WithPolicy(""))
	for i := 0; err == nil && i < proposalsEach; i++ {
		next := lowChange(baseGenome(), i)
		next.Module = writerModule(n)
		var d Decision
		p := Proposal{New: next, Actor: "writer " + id}
		if i == 0 {
			p.Old = baseGenome() // the hand-written generation 0, vouched for by this code
			p.Old.Module = next.Module
		}
		d, err = g.Propose(context.Background(), p)
		if err == nil && d.Status != Adopted {
			err = fmt.Errorf("proposal %d is %s: %v", i, d.Status, d.Impact.Reasons)
		}
	}
	if err != nil {
		os.Stderr.WriteString("writer " + id + ": " + err.Error() + "\n")
		os.Exit(1)
	}
	os.Exit(0)
}

// TestConcurrentWritersKeepOneChain: three processes, a hundred proposals
// each, one directory. The lock serializes them: the chain verifies and
// holds every proposal.
func TestConcurrentWritersKeepOneChain(t *testing.T) {
	if testing.Short() {
		t.Skip("300 proposals from 3 processes: skipped with -short")
	}
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, configFile), []byte(testConfig("")), 0o644))
	for id := range writerCount {
		start := baseGenome()
		start.Module = writerModule(id)
		data, _ := start.MarshalJSON()
		require.NoError(t, os.WriteFile(filepath.Join(dir, start.Module+".genome.json"), data, 0o644))
	}
	cmds := make([]*exec.Cmd, writerCount)
	outs := make([]*bytes.Buffer, writerCount)
	for id := range writerCount {
		cmds[id] = exec.Command(os.Args[0], "-test.run=^$")
		cmds[id].Env = append(os.Environ(), writerDirEnv+"="+dir, writerIDEnv+"="+strconv.Itoa(id))
		outs[id] = &bytes.Buffer{}
		cmds[id].Stdout, cmds[id].Stderr = outs[id], outs[id]
		require.NoError(t, cmds[id].Start())
	}
	for id, cmd := range cmds {
		require.NoError(t, cmd.Wait(), "writer %d: %s", id, outs[id])
	}
	g := open(t, dir)
	require.NoError(t, g.Verify(t.Context()))
	proposed := 0
	for _, e := range events(t, dir) {
		if e == eventProposed {
			proposed++
		}
	}
	assert.Equal(t, writerCount*proposalsEach, proposed, "no proposal was lost")
	temps, _ := filepath.Glob(filepath.Join(dir, ".*.tmp-*"))
	assert.Empty(t, temps, "no temporary file is left")
}

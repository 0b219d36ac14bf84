package guardian

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rafaelabs/rafael/genome"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The crash test re-executes the test binary with these variables set; the
// child proposes a change and exits with crashCode at the named stage.
const (
	crashDirEnv   = "RAFAEL_GUARDIAN_CRASH_DIR"
	crashStageEnv = "RAFAEL_GUARDIAN_CRASH_STAGE"
	crashCode     = 75
)

func crashChild(dir, stage string) {
	g, err := Open(dir, append(isolated(auditKey),
		withHook(func(s string) {
			if s == stage {
				os.Exit(crashCode)
			}
		}))...)
	if err == nil {
		_, err = g.Propose(context.Background(), Proposal{New: lowChange(baseGenome(), 0), Actor: "evolve"})
	}
	os.Stderr.WriteString("crash child did not crash: " + errors.Join(err).Error() + "\n")
	os.Exit(1)
}

func TestCrashBetweenAuditAndGenomeWriteIsFinished(t *testing.T) {
	for _, stage := range []string{"appended", "durable"} {
		t.Run(stage, func(t *testing.T) {
			dir, _ := setup(t, "")
			genomePath := filepath.Join(dir, "checkout.genome.json")
			before := readFile(t, genomePath)

			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), crashDirEnv+"="+dir, crashStageEnv+"="+stage)
			out, err := cmd.CombinedOutput()
			var exit *exec.ExitError
			require.ErrorAs(t, err, &exit, "%s", out)
			require.Equal(t, crashCode, exit.ExitCode(), "%s", out)

			// The crash left the old genome whole and the adoption recorded.
			assert.Equal(t, before, readFile(t, genomePath))
			_, err = genome.Load(genomePath)
			require.NoError(t, err)
			assert.Equal(t, []string{"proposed", "evaluated", "adopted"}, events(t, dir))
			g := open(t, dir)
			if stage == "appended" {
				err := g.Verify(t.Context())
				assert.ErrorContains(t, err, "entries 5–7 are genuine but not sealed", "the seal did not happen")
				assert.ErrorIs(t, err, ErrInterrupted)
				assert.NotErrorIs(t, err, ErrTampered, "a crash is not tampering")
			} else {
				assert.ErrorContains(t, g.Verify(t.Context()), "still holds the genome the adopted entry at audit seq 7 replaced: the write was interrupted")
			}

			// The next run finishes the write and seals the log.
			next := lowChange(baseGenome(), 0)
			d, err := g.Propose(t.Context(), Proposal{New: next, Actor: "evolve"})
			require.NoError(t, err)
			assert.Equal(t, Adopted, d.Status)
			assert.Contains(t, strings.Join(d.Notes, "\n"), "checkout: finished writing the genome adopted at audit seq 7")
			if stage == "appended" {
				assert.Contains(t, strings.Join(d.Notes, "\n"), "sealed entries 5–7, which an interrupted append had left unsealed")
			}
			want, _ := next.MarshalJSON()
			assert.Equal(t, append(want, '\n'), readFile(t, genomePath))
			assert.Len(t, events(t, dir), 3, "nothing is recorded twice")
			require.NoError(t, g.Verify(t.Context()))
			temps, _ := filepath.Glob(filepath.Join(dir, ".*.tmp-*"))
			assert.Empty(t, temps)
		})
	}
}

func TestGenomeEditedOutsideTheGuardianIsReported(t *testing.T) {
	dir, g := setup(t, "")
	_, err := g.Propose(t.Context(), Proposal{New: lowChange(baseGenome(), 0), Actor: "evolve"})
	require.NoError(t, err)
	edited := mediumChange(baseGenome())
	data, _ := edited.MarshalJSON()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "checkout.genome.json"), data, 0o644))
	_, err = g.Propose(t.Context(), Proposal{New: lowChange(baseGenome(), 1), Actor: "evolve"})
	assert.ErrorContains(t, err, "changed outside the guardian")
	assert.Equal(t, data, readFile(t, filepath.Join(dir, "checkout.genome.json")), "never overwritten")
}

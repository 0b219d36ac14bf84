package scenarios

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rafaelabs/rafael/faults"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"
)

// A fail file made of RapidBits makes rapid draw exactly the threat and the
// trial seed, first, as evolve.Property draws them.
func TestRapidBitsReplayTheThreatInRapid(t *testing.T) {
	db := faults.NewHook("db", 1)
	want := Latency(db, 2*time.Second, InjectFor(300*time.Millisecond)).Timed().AtMost().
		WithValues([]float64{float64(139490996 * time.Nanosecond), float64(2457564), float64(82083524)})
	const seed = 7651964525998777594
	data, err := want.RapidBits(seed)
	require.NoError(t, err)

	t.Chdir(t.TempDir())
	name := t.Name() + "/adversary-1/property"
	dir := filepath.Join("testdata", "rapid", strings.ReplaceAll(name, "/", "_"))
	require.NoError(t, os.MkdirAll(dir, 0o755))
	lines := []string{"# made by RapidBits", "v0.4.8#0"}
	for _, w := range data {
		lines = append(lines, fmt.Sprintf("0x%x", w))
	}
	require.NoError(t, os.WriteFile(filepath.Join(dir, strings.ReplaceAll(name, "/", "_")+"-1-1.fail"), []byte(strings.Join(lines, "\n")), 0o644))

	t.Run("adversary-1", func(t *testing.T) {
		t.Run("property", func(t *testing.T) {
			first := true
			rapid.Check(t, func(rt *rapid.T) {
				th := want.AtMost().Generator().Draw(rt, "threat")
				s := rapid.Uint64().Draw(rt, "trial seed")
				if first {
					first = false
					assert.Equal(t, want.String(), th.String(), "the fail file's threat, drawn first")
					assert.Equal(t, uint64(seed), s)
				}
			})
		})
	})
}

func TestRapidBitsRefusesWhatRapidCannotDraw(t *testing.T) {
	db := faults.NewHook("db", 1)
	_, err := Latency(db, time.Second).RapidBits(1 << 63)
	assert.ErrorContains(t, err, "2⁶³")
	_, err = Flood(8, 100).RapidBits(1)
	assert.ErrorContains(t, err, "float")
	_, err = Compose("c", High, time.Second).RapidBits(1)
	assert.Error(t, err)
}

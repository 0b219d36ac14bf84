package trial

import (
	"errors"
	"testing"
	"time"

	"github.com/rafaelabs/rafael/faults"
	"github.com/rafaelabs/rafael/genome"
	"github.com/rafaelabs/rafael/scenarios"
	"github.com/rafaelabs/rafael/slo"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// blip is a 2s slowdown of a server running at 75 % of its capacity: 4
// workers of 30ms against 100 calls a second, each slowed by 30ms for 2s.
func blip() (*faults.Server, scenarios.Threat, Config) {
	srv := faults.NewServer("db", 4, 200, 30*time.Millisecond)
	th := scenarios.Latency(srv, 30*time.Millisecond, scenarios.Steady(2*time.Second), scenarios.InjectFor(2*time.Second), scenarios.RecoverFor(8*time.Second))
	return srv, th, Config{Workload: through(srv.Call), Requests: 1200}
}

func TestANaiveRetryTurnsABlipIntoAMetastableFailure(t *testing.T) {
	_, th, cfg := blip()
	naive := &genome.Genome{Module: "m",
		Timeout: &genome.Timeout{PerAttempt: 300 * time.Millisecond},
		Retry:   &genome.Retry{MaxAttempts: 3, BaseDelay: 10 * time.Millisecond, MaxDelay: 10 * time.Millisecond, Multiplier: 1, Jitter: 0.1}}
	res := InBubble(t, cfg, th, naive, 1)
	m := res.Metrics
	require.True(t, m.Metastable, "%v", m)
	assert.InDelta(t, 3, m.LoadAfter, 0.3, "every request makes its three attempts, all timing out in the queue")
	vs := slo.Check(slo.SLO{SuccessRate: 0.9, RecoverWithin: 2 * time.Second}, m)
	require.NotEmpty(t, vs)
	assert.Equal(t, slo.Metastable, vs[len(vs)-1].Kind, "metastable in place of never recovered: %s", slo.Join(vs))
	assert.Contains(t, vs[len(vs)-1].String(), "3.0× the steady load")
	assert.Zero(t, recoveryScore(th, m))

	tl := res.Timeline(12)
	last := tl.Points[len(tl.Points)-1]
	assert.Zero(t, last.Succeeded, "still down 8s after a 2s trigger")
	assert.Greater(t, last.Attempts, 2*tl.Points[0].Attempts, "at several times the steady load")

	// The same timeout without the retry drains the backlog: it recovers.
	plain := &genome.Genome{Module: "m", Timeout: &genome.Timeout{PerAttempt: 300 * time.Millisecond}}
	m = InBubble(t, cfg, th, plain, 1).Metrics
	assert.False(t, m.Metastable, "%v", m)
	assert.True(t, m.Recovered, "%v", m)
	assert.InDelta(t, 1, m.LoadAfter, 0.05)
}

func TestMetastableNeedsBothTheStuckStateAndTheLoad(t *testing.T) {
	th := scenarios.Compose("t", scenarios.High, 2*time.Second)
	th.Steady, th.Recover = 2*time.Second, 4*time.Second // healed at 4s; the tail from 6s to 8s
	fail := errors.New("timeout")
	var ss []sample
	var at []time.Duration
	for k := range 80 {
		s := sample{start: time.Duration(k) * 100 * time.Millisecond, done: true}
		s.end = s.start + 10*time.Millisecond
		if s.start >= 2*time.Second {
			s.err = fail
		}
		ss = append(ss, s)
		at = append(at, s.start)
	}
	stuck, load := metastable(th, ss, at, 0)
	assert.False(t, stuck, "down after the fault, but at the steady load: a dependency that never came back")
	assert.InDelta(t, 1, load, 0.01)

	for _, s := range ss[60:] { // three attempts a request in the tail
		at = append(at, s.start, s.start+time.Millisecond)
	}
	stuck, load = metastable(th, ss, at, 0)
	assert.True(t, stuck)
	assert.InDelta(t, 3, load, 0.01)

	stuck, load = metastable(th, ss[:3], at, 0)
	assert.False(t, stuck, "too few requests to judge")
	assert.Zero(t, load)

	for i := range ss[60:] {
		ss[60+i].err = nil
	}
	stuck, _ = metastable(th, ss, at, 0)
	assert.False(t, stuck, "back to the steady success rate, whatever the load")
}

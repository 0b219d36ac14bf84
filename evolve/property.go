package evolve

import (
	"fmt"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"

	"github.com/rafaelabs/rafael/scenarios"
	"pgregory.net/rapid"
)

// Counterexample is a threat that breaks a genome, shrunk by rapid to the
// smallest one it found.
type Counterexample struct {
	Threat    scenarios.Threat // the shrunk threat
	Seed      uint64           // the trial's seed
	RapidSeed uint64           // rapid's seed: -rapid.seed replays the check (0: replayed from a fail file)
	Message   string           // what the trial measured and how it broke the SLO
}

// Property checks with rapid that check returns nil for every threat up to
// th: rapid draws the threat's parameters (between their declared minimum
// and th's values) and a trial seed, and shrinks a failure to the smallest
// threat that still fails. name is the test the check belongs to: a
// shrunk failure is kept as a fail file under testdata/rapid/<name>/ and
// replayed first on every later run. It returns the last, smallest
// counterexample, or nil, and rapid's log.
//
// rapid runs with a recording TB of its own, so the caller's test fails
// only if the caller says so, and nothing global is touched: rapid's seed is
// its own (-rapid.seed replays it).
func Property(name string, th scenarios.Threat, check func(v scenarios.Threat, seed uint64) error) (*Counterexample, string) {
	capped := th.AtMost()
	var cx *Counterexample
	rec := &recorder{name: name}
	done := make(chan struct{})
	go func() {
		defer close(done)
		rapid.Check(rec, func(rt *rapid.T) {
			v := capped.Generator().Draw(rt, "threat")
			s := rapid.Uint64().Draw(rt, "trial seed")
			if err := check(v, s); err != nil {
				cx = &Counterexample{Threat: v, Seed: s, Message: err.Error()}
				rt.Fatalf("%v", err)
			}
		})
	}()
	<-done
	log := rec.String()
	if cx != nil {
		if m := rapidSeed.FindStringSubmatch(log); m != nil {
			cx.RapidSeed, _ = strconv.ParseUint(m[1], 10, 64)
		}
	}
	if !rec.Failed() {
		cx = nil
	}
	return cx, log
}

var rapidSeed = regexp.MustCompile(`-rapid\.seed=(\d+)`)

// recorder is a rapid.TB that records what rapid says instead of failing a
// test. FailNow ends the goroutine rapid runs on, as testing's does.
type recorder struct {
	name   string
	mu     sync.Mutex
	log    strings.Builder
	failed bool
}

func (r *recorder) Helper()      {}
func (r *recorder) Name() string { return r.name }
func (r *recorder) Logf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	fmt.Fprintf(&r.log, format+"\n", args...)
}
func (r *recorder) Log(args ...any)                   { r.Logf("%s", fmt.Sprint(args...)) }
func (r *recorder) Skipf(format string, args ...any)  { r.Logf(format, args...); r.SkipNow() }
func (r *recorder) Skip(args ...any)                  { r.Log(args...); r.SkipNow() }
func (r *recorder) SkipNow()                          { runtime.Goexit() }
func (r *recorder) Errorf(format string, args ...any) { r.Logf(format, args...); r.Fail() }
func (r *recorder) Error(args ...any)                 { r.Log(args...); r.Fail() }
func (r *recorder) Fatalf(format string, args ...any) { r.Errorf(format, args...); r.FailNow() }
func (r *recorder) Fatal(args ...any)                 { r.Error(args...); r.FailNow() }
func (r *recorder) FailNow()                          { r.Fail(); runtime.Goexit() }
func (r *recorder) Fail()                             { r.mu.Lock(); r.failed = true; r.mu.Unlock() }
func (r *recorder) Failed() bool                      { r.mu.Lock(); defer r.mu.Unlock(); return r.failed }
func (r *recorder) String() string                    { r.mu.Lock(); defer r.mu.Unlock(); return r.log.String() }

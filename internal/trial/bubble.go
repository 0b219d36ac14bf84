package trial

import (
	"cmp"
	"fmt"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/rafaelabs/rafael/genome"
	"github.com/rafaelabs/rafael/scenarios"
)

// InBubble runs one trial of g under th with seed s inside a
// testing/synctest bubble of t (the simulated tier): [Sim.Run] on a Sim of
// its own.
func InBubble(t *testing.T, cfg Config, th scenarios.Threat, g *genome.Genome, s uint64) Result {
	before := runtime.NumGoroutine()
	sim := NewSim()
	res := sim.Run(t, cfg, th, g, s)
	sim.Close()
	settle(before)
	return res
}

// Sim runs simulated trials one after another, each in a synctest bubble of
// its own, from one long-lived goroutine (so that starting and ending a
// trial's goroutine does not change the goroutine count the next trial
// measures). Close ends it.
type Sim struct {
	jobs      chan simJob
	close     sync.Once
	alongside bool // other Sims run at the same time: do not settle
}

// Alongside marks s as one of several Sims that run trials at the same
// time (a search's workers): after a trial it does not wait for the
// process's goroutine count to come back, which the others keep changing.
// The goroutine peak its trials measure then counts the others' too; the
// search does not judge by it. It returns s.
func (s *Sim) Alongside() *Sim {
	s.alongside = true
	return s
}

type simJob struct {
	t    *testing.T
	d    *driver
	done chan simEnd
	ids  chan string
}

type simEnd struct {
	raw      raw
	finished bool
	panicked any
}

// NewSim starts a Sim.
func NewSim() *Sim {
	s := &Sim{}
	s.start()
	return s
}

func (s *Sim) start() {
	s.jobs = make(chan simJob)
	go func(jobs chan simJob) {
		for j := range jobs {
			j.done <- s.bubble(j)
		}
	}(s.jobs)
}

// bubble runs one job's trial in a bubble, recovering synctest's panics.
func (s *Sim) bubble(j simJob) (e simEnd) {
	defer func() { e.panicked = recover() }()
	synctest.Test(j.t, func(*testing.T) {
		j.ids <- bubbleID()
		e.raw = j.d.run()
		e.finished = true
	})
	return e
}

// Close ends the Sim's goroutine. A Sim whose last bubble hung leaves that
// bubble's goroutines behind: they are abandoned.
// Close is idempotent.
func (s *Sim) Close() { s.close.Do(func() { close(s.jobs) }) }

// Run runs one trial of g under th with seed s inside a testing/synctest
// bubble of t, and waits at most cfg.Watchdog of real time for it. A bubble
// still running then is declared hung: its goroutines are dumped and
// abandoned (the Sim goes on with a fresh goroutine), and the test goes on.
// A bubble whose goroutines are left durably blocked after the driver
// returns (a workload ignoring its context) makes synctest panic; the panic
// is recovered and reported with the same dump.
//
// synctest.Test returns once its goroutines have exited, but the runtime
// may count an exited goroutine a moment longer, and on a busy machine that
// moment is long: so Run waits, a bounded time, for the process's
// goroutine count to come back to what it was, lest the next trial count
// this one's workers as its own.
//
// The wait is pointless, and is not made, while another Sim of the process
// runs a trial (parallel tests, a search's workers): the count is the
// process's, and theirs keep changing it.
func (s *Sim) Run(t *testing.T, cfg Config, th scenarios.Threat, g *genome.Genome, seed uint64) Result {
	before := runtime.NumGoroutine()
	running.Add(1)
	res := s.once(t, cfg, th, g, seed)
	running.Add(-1)
	if !s.alongside {
		settle(before)
	}
	return res
}

// running counts the trials the process's Sims are running. It is the one
// piece of process-wide state here, as the goroutine count it qualifies is
// the process's: it decides only whether settle waits, never a result.
var running atomic.Int64

// settle waits, at most 100ms, for the process's goroutine count to come
// back to before, unless another Sim runs a trial. It yields at first (an
// exiting goroutine is usually gone in microseconds), then sleeps between
// looks, so that a count that does not come back does not burn a core.
func settle(before int) {
	deadline := time.Now().Add(100 * time.Millisecond)
	for i := 0; runtime.NumGoroutine() > before && running.Load() == 0 && time.Now().Before(deadline); i++ {
		if i < 100 {
			runtime.Gosched()
		} else {
			time.Sleep(200 * time.Microsecond)
		}
	}
}

func (s *Sim) once(t *testing.T, cfg Config, th scenarios.Threat, g *genome.Genome, seed uint64) Result {
	j := simJob{t: t, d: newDriver(cfg, th, g, seed, true), done: make(chan simEnd, 1), ids: make(chan string, 1)}
	s.jobs <- j
	limit := cmp.Or(cfg.Watchdog, 20*time.Second)
	watchdog := time.NewTimer(limit)
	defer watchdog.Stop()
	id := func() string {
		select {
		case id := <-j.ids:
			return id
		default:
			return ""
		}
	}
	select {
	case e := <-j.done:
		res := finish(cfg, th, e.raw, e.finished)
		if e.panicked != nil {
			res.Panicked = fmt.Sprint(e.panicked)
			res.Dump = dumpBubble(id())
		}
		return res
	case <-watchdog.C:
		dump := dumpBubble(id())
		s.start() // the old goroutine is stuck in the hung bubble
		return Result{Hung: true, Watchdog: limit, Dump: dump}
	}
}

var bubbleHeader = regexp.MustCompile(`synctest bubble (\d+)\]`)

// bubbleID returns the id the runtime prints for the calling goroutine's
// bubble ("synctest bubble 7"), or "" if it prints none.
func bubbleID() string {
	buf := make([]byte, 512)
	n := runtime.Stack(buf, false)
	header, _, _ := strings.Cut(string(buf[:n]), "\n")
	if m := bubbleHeader.FindStringSubmatch(header); m != nil {
		return m[1]
	}
	return ""
}

// dumpBubble returns the stacks of the goroutines of bubble id (of every
// goroutine when id is ""), goroutines with the same stack shown once with
// their count, at most 32 KiB.
func dumpBubble(id string) string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	type group struct {
		example string
		n       int
	}
	var order []string
	groups := map[string]*group{}
	for _, g := range strings.Split(string(buf), "\n\n") {
		header, _, _ := strings.Cut(g, "\n")
		if m := bubbleHeader.FindStringSubmatch(header); id != "" && (m == nil || m[1] != id) {
			continue
		}
		key := stackShape(g)
		if groups[key] == nil {
			groups[key] = &group{example: g}
			order = append(order, key)
		}
		groups[key].n++
	}
	// Goroutines blocked in a way synctest cannot see through are the
	// likeliest culprits of a hang: show them first.
	sort.SliceStable(order, func(i, j int) bool {
		return !durable(groups[order[i]].example) && durable(groups[order[j]].example)
	})
	var b strings.Builder
	for _, k := range order {
		g := groups[k]
		if g.n > 1 {
			fmt.Fprintf(&b, "%d goroutines like this one:\n", g.n)
		}
		b.WriteString(strings.TrimRight(g.example, "\n"))
		b.WriteString("\n\n")
	}
	out := strings.TrimRight(b.String(), "\n")
	if len(out) > 32<<10 {
		out = out[:32<<10] + "\n… (cut at 32 KiB)"
	}
	return out
}

var (
	goroutineID = regexp.MustCompile(`^goroutine \d+ `)
	frameArgs   = regexp.MustCompile(`\(0x[^)]*\)|\+0x[0-9a-f]+| in goroutine \d+`)
)

// durable reports whether a goroutine's header says it is durably blocked.
func durable(g string) bool {
	header, _, _ := strings.Cut(g, "\n")
	return strings.Contains(header, "(durable)")
}

// stackShape is a goroutine's stack without what differs between goroutines
// running the same code: its id, its arguments and offsets.
func stackShape(g string) string {
	return frameArgs.ReplaceAllString(goroutineID.ReplaceAllString(g, ""), "")
}

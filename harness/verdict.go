package harness

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rafaelabs/rafael/report"
	"github.com/rafaelabs/rafael/scenarios"
)

// How a trial is judged and how its failure reads.

// judge lists how a trial broke the SLO or could not run.
func (r *runner) judge(res bubbleResult, m report.Metrics) []string {
	return r.judgeSLO(res, m, r.spec.SLO)
}

// judgeSLO is judge against slo.
func (r *runner) judgeSLO(res bubbleResult, m report.Metrics, slo SLO) []string {
	var v []string
	switch {
	case res.hung:
		v = append(v, fmt.Sprintf("the trial hung: it was still running after %v of real time (a workload blocked on something outside the bubble, such as real I/O, a mutex or a busy loop)", r.watchdog))
	case !res.finished:
		v = append(v, "the trial did not finish: "+res.panicked)
	}
	if !res.finished {
		return v
	}
	if res.panicked != "" {
		v = append(v, "synctest: "+res.panicked)
	}
	if err := res.raw.setupErr; err != nil {
		v = append(v, "the threat could not be injected as declared: "+err.Error())
	}
	if m.Hung > 0 {
		v = append(v, fmt.Sprintf("%d request(s) never returned, even after their context was cancelled: the workload must return when ctx is done", m.Hung))
	}
	if slo.SuccessRate > 0 && m.SuccessRate < slo.SuccessRate {
		v = append(v, fmt.Sprintf("success rate %.3f (%d of %d) is below the required %.3f", m.SuccessRate, m.Succeeded, m.Requests, slo.SuccessRate))
	}
	if slo.P99 > 0 && m.P99 > slo.P99 {
		v = append(v, fmt.Sprintf("p99 latency %v is above the required %v", m.P99, slo.P99))
	}
	if slo.RecoverWithin > 0 {
		switch {
		case !m.Recovered:
			v = append(v, fmt.Sprintf("it never recovered after the fault was removed (required within %v)", slo.RecoverWithin))
		case m.Recovery > slo.RecoverWithin:
			v = append(v, fmt.Sprintf("it recovered %v after the fault was removed; required within %v", m.Recovery, slo.RecoverWithin))
		}
	}
	return v
}

// failure is the message of a failed trial.
func (r *runner) failure(th scenarios.Threat, tr report.Trial, res bubbleResult) string {
	var b strings.Builder
	fmt.Fprintf(&b, "rafael: %s broke the SLO of %s on the %s tier (seed %d):\n", th, r.spec.Module, r.tier, tr.Seed)
	for _, v := range tr.Violations {
		fmt.Fprintf(&b, "    %s\n", v)
	}
	if res.finished {
		fmt.Fprintf(&b, "  measured: %s\n", summary(tr.Metrics))
		for _, e := range tr.Metrics.Errors {
			fmt.Fprintf(&b, "  error: %s\n", e)
		}
	}
	fmt.Fprintf(&b, "  replay: %s\n", tr.Replay)
	if res.dump != "" {
		fmt.Fprintf(&b, "  goroutines of the trial:\n%s\n", indent(res.dump, "    "))
	}
	return b.String()
}

func summary(m report.Metrics) string {
	rec := "never recovered"
	if m.Recovered {
		rec = "recovered in " + m.Recovery.String()
	}
	return fmt.Sprintf("success %.3f (%d/%d), p50 %v, p99 %v, max %v, %s, %.2f attempts/request, peak %d in flight, fitness %.3f",
		m.SuccessRate, m.Succeeded, m.Requests, m.P50, m.P99, m.Max, rec, m.AttemptsPerRequest, m.PeakInFlight, m.Fitness)
}

// shorten cuts s to at most n bytes, saying so.
func shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + fmt.Sprintf("\n… (%d more bytes)", len(s)-n)
}

func indent(s, pre string) string {
	return pre + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n"+pre)
}

// replay returns the command that runs exactly the current subtest again
// with the run's seed.
func (r *runner) replay(t *testing.T) string {
	return fmt.Sprintf("go test -run '%s' -rafael.seed=%d %s", anchored(t.Name()), r.seed, r.pkg)
}

// packagePath returns the test's package relative to its module's root
// ("./examples_test"), or "." when it cannot tell.
func packagePath() string {
	wd, err := os.Getwd()
	if err != nil {
		return "."
	}
	for dir := wd; ; {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			rel, err := filepath.Rel(dir, wd)
			if err != nil || rel == "." {
				return "."
			}
			return "./" + filepath.ToSlash(rel)
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "."
		}
		dir = parent
	}
}

package report

import (
	"fmt"
	"html"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// renderings are r's Markdown, its HTML page (unescaped, as a reader sees
// it) and the text of a summary holding it.
func renderings(t *testing.T, r *Report) map[string]string {
	t.Helper()
	page, err := r.HTML()
	require.NoError(t, err)
	sum, err := Merge(r)
	require.NoError(t, err)
	spage, err := sum.HTML()
	require.NoError(t, err)
	return map[string]string{
		"markdown": string(r.Markdown()), "html": html.UnescapeString(string(page)),
		"summary markdown": string(sum.Markdown()), "summary html": html.UnescapeString(string(spage)),
		"text": string(sum.Text()),
	}
}

// Every rendering says, of a broken threat, which term broke, by how much,
// on which seed, and how to replay it; of an unstable threat, both
// measurements; of a threat that did not run, that it did not and why.
func TestRenderingsShowWhatBroke(t *testing.T) {
	r := measured()
	for name, out := range renderings(t, r) {
		t.Run(name, func(t *testing.T) {
			for _, want := range []string{
				// db-outage, broken: its worst trial first.
				"seed 102 broke the SLO: success rate 0.480 (96 of 200) is below the required 0.990; it never recovered",
				"go test ./examples_test -run '^TestCheckout$/^db-outage$/^seed=102$' -rafael.seed=42",
				// The successes' latency apart from the failures'.
				"successes p50 22ms, p99 450ms, max 650ms; failures p50 3ms, p99 12ms, max 17ms",
				// flood, broken on its p99 among others.
				"seed 301 broke the SLO: success rate 0.410 (82 of 200) is below the required 0.990; p99 latency 700ms is above the required 500ms (+40 %)",
				"go test ./examples_test -run '^TestCheckout$/^flood$/^seed=301$' -rafael.seed=42",
				// latency, unstable: both measurements.
				"latency: unstable", "1 of 3 trials broke the SLO, then met it when measured again",
				"seed 201 is unstable",
				"first: p99 latency 620ms is above the required 500ms (+24 %); measured: 200 of 200 requests succeeded; successes p50 21ms, p99 620ms",
				"rerun 1: met the SLO; measured: 200 of 200 requests succeeded; successes p50 21ms, p99 470ms",
				"go test ./examples_test -run '^TestCheckout$/^latency$/^seed=201$' -rafael.seed=42",
				// cache-stampede, not run, and why.
				"cache-stampede", "not run: " + notRun,
				// The threats counted by verdict, unstable and not run included.
				"2 broken, 1 unstable, 1 not run",
			} {
				// The Markdown and the page bold the threat's name; the text does not.
				got := strings.NewReplacer("**", "", "<strong>", "", "</strong>", "", `<span class="unstable">`, "", "</span>", "").Replace(out)
				got = regexp.MustCompile(" (`|<code>)[^`<]*(`|</code>): ").ReplaceAllString(got, ": ")
				assert.Contains(t, got, want)
			}
		})
	}
}

// A threat that did not run is never shown as met, nor with a score.
func TestRenderingsNeverPassAThreatThatDidNotRun(t *testing.T) {
	for name, r := range map[string]*Report{"measured": measured(), "evolved": evolved()} {
		t.Run(name, func(t *testing.T) {
			md := string(r.Markdown())
			page, err := r.HTML()
			require.NoError(t, err)
			row := regexp.MustCompile("(?m)^\\| `cache-stampede.*$").FindString(md)
			require.NotEmpty(t, row)
			assert.NotContains(t, row, "met")
			assert.NotContains(t, row, "0.0")
			assert.Contains(t, row, "not run")
			hrow := regexp.MustCompile(`<tr><td><code>cache-stampede.*</tr>`).FindString(string(page))
			assert.Contains(t, hrow, `<td class="num">not run</td><td class="not-run">not run</td>`)
			assert.NotContains(t, hrow, "met")
			assert.NotContains(t, marks(string(page))["threats"], "baseline=0", "no bar for a threat not run")

			text := string((&Summary{Reports: []*Report{r}}).Text())
			assert.Contains(t, text, "cache-stampede: not run: "+notRun)
		})
	}
	// A run that ran nothing has no score.
	none := base("wire")
	none.Threats = []Threat{stampede}
	none.Derive()
	assert.Contains(t, string(none.Markdown()), "Resilience not measured: no trial ran, no evolution in this run; threats: 1 not run.")
	assert.Contains(t, string((&Summary{Reports: []*Report{none}}).Text()), "not run       0/1   1 not run\n")
}

// With evolution, each genome's finding is labelled, a met threat has none,
// and the headline counts every verdict.
func TestRenderingsOfAnEvolvedRun(t *testing.T) {
	r := evolved()
	md := string(r.Markdown())
	assert.Contains(t, md, "threats: 1 mitigated, 1 held, 1 vulnerable, 1 not run.")
	assert.Contains(t, md, "**flood** `flood(rate=2000/s) [critical]`, champion: **broken**: 2 of 3 trials broke the SLO.")
	assert.Contains(t, md, "- seed 300 broke the SLO: p99 latency 645ms is above the required 500ms (+29 %)")
	assert.Contains(t, md, "**db-outage** `db-outage(outage=2s) [high]`, starting genome: **broken**")
	assert.NotContains(t, md, "db-outage(outage=2s) [high]`, champion", "the champion met db-outage")
	assert.NotContains(t, md, "**latency**", "latency was met by both")

	text := string((&Summary{Reports: []*Report{r}}).Text())
	assert.Contains(t, text, "41.6 → 71.9")
	assert.Contains(t, text, "2/4   1 mitigated, 1 held, 1 vulnerable, 1 not run")
	assert.Contains(t, text, "  flood, champion: broken: 2 of 3 trials broke the SLO\n    seed 300 broke the SLO: p99 latency 645ms")
	assert.Contains(t, text, "    1 more broke it: seed 302\n")
}

// Each chart holds the data of its series: the threats' scores, and per
// threat the latency of its successes and, in a chart of its own, of its
// failures. TestHTMLInChromium checks the same in a browser's DOM.
func TestHTMLChartsHoldTheirData(t *testing.T) {
	for name, r := range map[string]*Report{"evolved": evolved(), "measured": measured()} {
		t.Run(name, func(t *testing.T) {
			page, err := r.HTML()
			require.NoError(t, err)
			got := marks(string(page))
			assert.Equal(t, wantMarks(r), got)
			base := slices.DeleteFunc(slices.Clone(got["failed-latency-1"]), func(m string) bool { return !strings.HasPrefix(m, "baseline=") })
			assert.Equal(t, []string{"baseline=150", "baseline=100", "baseline=20"}, base,
				"db-outage's failures are drawn apart from its successes")
			assert.Contains(t, string(page), `id="failed-latency-4-empty"`, "cache-stampede timed no request")
		})
	}
}

func TestCodeSpans(t *testing.T) {
	for in, want := range map[string]string{
		"go test .": "`go test .`",
		"a`b":       "``a`b``",
		"`x`":       "`` `x` ``",
		"a``b`c":    "```a``b`c```",
	} {
		assert.Equal(t, want, code(in), in)
	}
}

var (
	svgRe  = regexp.MustCompile(`(?s)<svg id="([^"]+)".*?</svg>`)
	markRe = regexp.MustCompile(`<(circle|rect) class="([a-z]+)"[^>]*data-value="([^"]+)"`)
)

// marks returns, per chart id in the DOM, its data points as
// "class=value", in document order.
func marks(dom string) map[string][]string {
	out := map[string][]string{}
	for _, m := range svgRe.FindAllStringSubmatch(dom, -1) {
		out[m[1]] = []string{}
		for _, k := range markRe.FindAllStringSubmatch(m[0], -1) {
			out[m[1]] = append(out[m[1]], k[2]+"="+k[3])
		}
	}
	return out
}

// wantMarks is what each chart of r must show.
func wantMarks(r *Report) map[string][]string {
	want := map[string][]string{}
	if len(r.History) > 0 {
		for _, class := range []string{"best", "mean"} {
			for _, g := range r.History {
				want["fitness"] = append(want["fitness"], class+"="+num(100*map[string]float64{"best": g.Best, "mean": g.Mean}[class]))
			}
		}
	}
	for _, t := range r.Threats {
		if t.Score.Trials > 0 { // a threat not run has no bar
			want["threats"] = append(want["threats"], "baseline="+num(t.Score.Score))
		}
		if t.Evolved != nil && t.Evolved.Trials > 0 {
			want["threats"] = append(want["threats"], "evolved="+num(t.Evolved.Score))
		}
	}
	for i, t := range r.Threats {
		for id, series := range map[string][2][]Bucket{
			fmt.Sprintf("latency-%d", i+1):        {t.Latency, t.EvolvedLatency},
			fmt.Sprintf("failed-latency-%d", i+1): {t.FailedLatency, t.EvolvedFailedLatency},
		} {
			if len(series[0])+len(series[1]) == 0 {
				continue // the chart says it is empty instead
			}
			want[id] = []string{}
			// One slot per bound, in order; in each, the starting genome's
			// bar, then the champion's.
			count := map[string]map[time.Duration]int64{"baseline": {}, "evolved": {}}
			var bounds []time.Duration
			for j, class := range []string{"baseline", "evolved"} {
				for _, b := range series[j] {
					if !slices.Contains(bounds, b.UpTo) {
						bounds = append(bounds, b.UpTo)
					}
					count[class][b.UpTo] = b.Count
				}
			}
			slices.Sort(bounds)
			for _, ub := range bounds {
				for _, class := range []string{"baseline", "evolved"} {
					if n, ok := count[class][ub]; ok {
						want[id] = append(want[id], class+"="+strconv.FormatInt(n, 10))
					}
				}
			}
		}
	}
	// Over time: the fault's window, then each genome's value per bucket,
	// from the trials' timelines added up (requests and successes summed,
	// the worst p99).
	for i, t := range r.Threats {
		type sum struct {
			n, ok int
			p99   time.Duration
		}
		add := func(trials []Trial) []sum {
			var out []sum
			for _, tr := range trials {
				if tr.Timeline == nil {
					continue
				}
				if out == nil {
					out = make([]sum, len(tr.Timeline.Points))
				}
				for k, p := range tr.Timeline.Points {
					out[k].n += p.Requests
					out[k].ok += p.Succeeded
					out[k].p99 = max(out[k].p99, p.P99)
				}
			}
			return out
		}
		base, ev := add(t.Trials), add(t.EvolvedTrials)
		if base == nil && ev == nil {
			continue
		}
		rate, p99 := fmt.Sprintf("timeline-%d", i+1), fmt.Sprintf("timeline-p99-%d", i+1)
		want[rate] = []string{"window=1s–3s"}
		want[p99] = []string{"window=1s–3s"}
		for _, chart := range []struct {
			id    string
			value func(sum) (float64, bool)
		}{
			{rate, func(x sum) (float64, bool) { return 100 * float64(x.ok) / float64(x.n), x.n > 0 }},
			{p99, func(x sum) (float64, bool) { return float64(x.p99) / float64(time.Millisecond), x.ok > 0 }},
		} {
			for _, se := range []struct {
				class string
				ss    []sum
			}{{"baseline", base}, {"evolved", ev}} {
				for _, x := range se.ss {
					if v, ok := chart.value(x); ok {
						want[chart.id] = append(want[chart.id], se.class+"="+num(v))
					}
				}
			}
		}
	}
	return want
}

package report

import (
	"fmt"
	"strconv"
	"time"
)

// mergeTimelines adds up the timelines of trials over the same phases and
// buckets: requests and successes summed, the p99 the worst trial's. Trials
// without one, or laid out otherwise than the first, are left out; nil
// when none has one.
func mergeTimelines(trials []Trial) *Timeline {
	var out *Timeline
	for _, tr := range trials {
		tl := tr.Timeline
		if tl == nil || len(tl.Points) == 0 {
			continue
		}
		if out == nil {
			out = &Timeline{Steady: tl.Steady, Inject: tl.Inject, Recover: tl.Recover, Bucket: tl.Bucket, Points: make([]TimePoint, len(tl.Points))}
		}
		if tl.Bucket != out.Bucket || len(tl.Points) != len(out.Points) || tl.Steady != out.Steady || tl.Inject != out.Inject {
			continue
		}
		for k, p := range tl.Points {
			o := &out.Points[k]
			o.Requests += p.Requests
			o.Succeeded += p.Succeeded
			o.Attempts += p.Attempts
			o.P99 = max(o.P99, p.P99)
		}
	}
	return out
}

// timelineSeries is one genome's timeline on a chart.
type timelineSeries struct {
	class, label string
	tl           *Timeline
}

// timelineCharts draws a threat over time: the success rate and the p99
// latency of each time bucket, the starting genome's and (after evolution)
// the champion's, with the fault's window shaded and the SLO's term drawn
// as a line. It returns nothing when no trial recorded a timeline.
func timelineCharts(i int, t Threat, s SLOTerms) []chart {
	series := []timelineSeries{{"baseline", "starting genome", mergeTimelines(t.Trials)}}
	if ev := mergeTimelines(t.EvolvedTrials); ev != nil {
		series = append(series, timelineSeries{"evolved", "champion", ev})
	}
	if series[0].tl == nil && len(series) == 1 {
		return nil
	}
	var ref *Timeline
	for _, se := range series {
		if se.tl != nil {
			ref = se.tl
			break
		}
	}
	rate := newChart(fmt.Sprintf("timeline-%d", i+1), "Success rate over time under "+t.Threat)
	rate.XTitle, rate.YTitle = "time since the trial's start (s); shaded: the fault in force", "requests succeeded (%)"
	rate.timeline(ref, series, 100, func(p TimePoint) (float64, bool) {
		if p.Requests == 0 {
			return 0, false
		}
		return 100 * float64(p.Succeeded) / float64(p.Requests), true
	}, func(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) + " %" })
	if s.SuccessRate > 0 {
		rate.sloLine(100*s.SuccessRate, 100, fmt.Sprintf("SLO: %s %% succeed", num(100*s.SuccessRate)))
	}

	worst := time.Duration(0)
	for _, se := range series {
		if se.tl != nil {
			for _, p := range se.tl.Points {
				worst = max(worst, p.P99)
			}
		}
	}
	ymax := 4 * niceStep(max(float64(worst), float64(s.P99))/float64(time.Millisecond)/4)
	lat := newChart(fmt.Sprintf("timeline-p99-%d", i+1), "p99 latency over time under "+t.Threat)
	lat.XTitle, lat.YTitle = "time since the trial's start (s); shaded: the fault in force", "p99 of the successes (ms)"
	lat.timeline(ref, series, ymax, func(p TimePoint) (float64, bool) {
		if p.Succeeded == 0 {
			return 0, false
		}
		return float64(p.P99) / float64(time.Millisecond), true
	}, func(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) + " ms" })
	if s.P99 > 0 {
		lat.sloLine(float64(s.P99)/float64(time.Millisecond), ymax, "SLO: p99 ≤ "+s.P99.String())
	}
	charts := []chart{rate, lat}
	if load := loadChart(i, t, ref, series); load != nil {
		charts = append(charts, *load)
	}
	return charts
}

// loadChart draws the load each series put on its dependency over time —
// attempts a second, retries and hedges included, summed over the trials —
// where a metastable trial shows its overload outliving the fault. It
// returns nil when no trial counted attempts (a report from before they
// were counted).
func loadChart(i int, t Threat, ref *Timeline, series []timelineSeries) *chart {
	worst := 0.0
	for _, se := range series {
		if se.tl != nil && se.tl.Bucket > 0 {
			for _, p := range se.tl.Points {
				worst = max(worst, float64(p.Attempts)/se.tl.Bucket.Seconds())
			}
		}
	}
	if worst == 0 {
		return nil
	}
	ymax := 4 * niceStep(worst/4)
	c := newChart(fmt.Sprintf("timeline-load-%d", i+1), "Load on the dependency over time under "+t.Threat)
	c.XTitle, c.YTitle = "time since the trial's start (s); shaded: the fault in force", "attempts a second, retries included"
	c.timeline(ref, series, ymax, func(p TimePoint) (float64, bool) {
		return float64(p.Attempts) / ref.Bucket.Seconds(), true
	}, func(v float64) string { return strconv.FormatFloat(v, 'f', 0, 64) + "/s" })
	return &c
}

// SLOTerms are the SLO's terms a timeline draws.
type SLOTerms struct {
	SuccessRate float64
	P99         time.Duration
}

// timeline draws series over ref's buckets: a line and a point per bucket
// with a value, the fault's window shaded, and a table of the values.
func (c *chart) timeline(ref *Timeline, series []timelineSeries, ymax float64, value func(TimePoint) (float64, bool), format func(float64) string) {
	total := ref.Steady + ref.Inject + ref.Recover
	x := func(at time.Duration) float64 { return c.Frame.X + c.Frame.W*float64(at)/float64(total) }
	c.Shades = append(c.Shades, bar{X: x(ref.Steady), Y: c.Frame.Y, W: x(ref.Steady+ref.Inject) - x(ref.Steady), H: c.Frame.H,
		Class: "window", Key: "fault", Value: fmt.Sprintf("%s–%s", ref.Steady, ref.Steady+ref.Inject),
		Title: fmt.Sprintf("the fault in force, from %s to %s", ref.Steady, ref.Steady+ref.Inject)})
	c.yAxis(ymax, func(v float64) string { return strconv.FormatFloat(v, 'f', 0, 64) })
	step := time.Duration(niceStep(float64(total)/float64(time.Second)/8)) * time.Second
	for at := time.Duration(0); at <= total; at += step {
		c.XTicks = append(c.XTicks, tick{X: x(at), Y: c.Frame.Y + c.Frame.H + 16, Label: strconv.FormatFloat(at.Seconds(), 'f', -1, 64)})
	}
	head := []string{"from (s)", "to (s)"}
	rows := make([][]string, len(ref.Points))
	for k := range ref.Points {
		rows[k] = []string{secs(time.Duration(k) * ref.Bucket), secs(time.Duration(k+1) * ref.Bucket)}
	}
	var legend [][2]string
	for _, se := range series {
		head = append(head, se.label)
		legend = append(legend, [2]string{se.class, se.label})
		pts := ""
		for k := range ref.Points {
			cell := "—"
			if se.tl != nil && k < len(se.tl.Points) {
				if v, ok := value(se.tl.Points[k]); ok {
					px, py := x(time.Duration(k)*ref.Bucket+ref.Bucket/2), c.y(min(v, ymax), ymax)
					pts += fmt.Sprintf("%.1f,%.1f ", px, py)
					c.Points = append(c.Points, point{X: px, Y: py, Class: se.class, Key: strconv.Itoa(k), Value: num(v),
						Title: fmt.Sprintf("%s, %s–%s s: %s (%d requests)", se.label, rows[k][0], rows[k][1], format(v), se.tl.Points[k].Requests)})
					cell = format(v)
				}
			}
			rows[k] = append(rows[k], cell)
		}
		if pts != "" {
			c.Lines = append(c.Lines, line{Class: se.class, Points: pts[:len(pts)-1]})
		}
	}
	c.legend(legend...)
	c.Table = &dataTable{Head: head, Rows: rows}
}

// sloLine draws the SLO's bound at v across the chart.
func (c *chart) sloLine(v, ymax float64, label string) {
	y := c.y(min(v, ymax), ymax)
	c.Lines = append(c.Lines, line{Class: "slo", Points: fmt.Sprintf("%.1f,%.1f %.1f,%.1f", c.Frame.X, y, c.Frame.X+c.Frame.W, y)})
	c.Notes = append(c.Notes, tick{X: c.Frame.X + c.Frame.W - 4, Y: y - 4, Label: label})
}

// secs formats d in seconds, shortest.
func secs(d time.Duration) string { return strconv.FormatFloat(d.Seconds(), 'f', -1, 64) }

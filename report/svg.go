package report

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/rafaelabs/rafael/slo"
)

// A chart is an SVG drawing computed in Go: the template only places what
// is here. Every point and bar carries its value in data-value, so a test
// (or a reader's script) can check the drawing against the report.
type chart struct {
	ID, Title      string
	Empty          string // said instead of drawing when there is nothing to draw
	XTitle, YTitle string // the axes' titles, with their units
	W, H           int
	Frame          frame
	YTicks         []tick
	XTicks         []tick
	Shades         []bar // drawn first, behind the data: a fault's window
	Lines          []line
	Points         []point
	Bars           []bar
	Legend         []legend
	Notes          []tick     // labels at a point (an SLO line's), right-aligned
	Table          *dataTable // the data behind the chart, for a reader without the picture
}

// dataTable is the data a chart draws, as a table.
type dataTable struct {
	Head []string
	Rows [][]string
}

type frame struct{ X, Y, W, H float64 }

type tick struct {
	X, Y  float64
	Label string
}

type line struct {
	Class, Points string
}

type point struct {
	X, Y              float64
	Class, Key, Value string
	Title             string
}

type bar struct {
	X, Y, W, H        float64
	Class, Key, Value string
	Title             string
}

type legend struct {
	X     float64
	Class string
	Label string
}

// Chart geometry, in SVG user units.
const (
	chartW, chartH          = 760, 280
	left, right, top, below = 56, 16, 28, 44
)

func newChart(id, title string) chart {
	return chart{ID: id, Title: title, W: chartW, H: chartH,
		Frame: frame{X: left, Y: top, W: chartW - left - right, H: chartH - top - below}}
}

// y maps v in [0, ymax] to the frame's height.
func (c *chart) y(v, ymax float64) float64 {
	if ymax <= 0 {
		return c.Frame.Y + c.Frame.H
	}
	return c.Frame.Y + c.Frame.H*(1-v/ymax)
}

// yAxis adds five ticks from 0 to ymax.
func (c *chart) yAxis(ymax float64, format func(float64) string) {
	for i := 0; i <= 4; i++ {
		v := ymax * float64(i) / 4
		c.YTicks = append(c.YTicks, tick{X: c.Frame.X - 6, Y: c.y(v, ymax), Label: format(v)})
	}
}

func (c *chart) legend(items ...[2]string) {
	for i, it := range items {
		c.Legend = append(c.Legend, legend{X: c.Frame.X + float64(i)*150, Class: it[0], Label: it[1]})
	}
}

// fitnessChart draws the best and mean fitness of each generation.
func fitnessChart(h []Generation) chart {
	c := newChart("fitness", "Fitness per generation")
	if len(h) == 0 {
		c.Empty = "No evolution in this run: the starting genome was measured, not evolved, so there is no fitness history."
		return c
	}
	step := 0.0
	if len(h) > 1 {
		step = c.Frame.W / float64(len(h)-1)
	}
	x := func(i int) float64 {
		if len(h) == 1 {
			return c.Frame.X + c.Frame.W/2
		}
		return c.Frame.X + step*float64(i)
	}
	// Fitness is 0–1 in the search; on the page every score is on one
	// 0–100 scale.
	c.XTitle, c.YTitle = "generation", "fitness (0–100)"
	c.yAxis(100, func(v float64) string { return strconv.FormatFloat(v, 'f', 0, 64) })
	c.Table = &dataTable{Head: []string{"generation", "best", "population mean"}}
	for _, g := range h {
		c.Table.Rows = append(c.Table.Rows, []string{strconv.Itoa(g.Index), strconv.FormatFloat(100*g.Best, 'f', 1, 64), strconv.FormatFloat(100*g.Mean, 'f', 1, 64)})
	}
	for _, s := range []struct {
		class string
		get   func(Generation) float64
	}{{"best", func(g Generation) float64 { return 100 * g.Best }}, {"mean", func(g Generation) float64 { return 100 * g.Mean }}} {
		pts := ""
		for i, g := range h {
			v := s.get(g)
			px, py := x(i), c.y(v, 100)
			pts += fmt.Sprintf("%.1f,%.1f ", px, py)
			c.Points = append(c.Points, point{X: px, Y: py, Class: s.class, Key: strconv.Itoa(g.Index),
				Value: num(v), Title: fmt.Sprintf("generation %d: %s %s", g.Index, s.class, num(v))})
		}
		c.Lines = append(c.Lines, line{Class: s.class, Points: pts[:len(pts)-1]})
	}
	for i, g := range h {
		c.XTicks = append(c.XTicks, tick{X: x(i), Y: c.Frame.Y + c.Frame.H + 16, Label: strconv.Itoa(g.Index)})
	}
	c.legend([2]string{"best", "best"}, [2]string{"mean", "population mean"})
	return c
}

// threatChart draws each threat's score before and, with evolution, after,
// with the line at 50 above which the SLO was met. A threat a genome did
// not run has no bar for it.
func threatChart(ts []Threat, evolved bool) chart {
	c := newChart("threats", "Score per threat, before and after evolution (95 % interval where trials differ; 50 and above: the SLO was met)")
	if !evolved {
		c.Title = "Score per threat (95 % interval where trials differ; 50 and above: the SLO was met); no evolution in this run"
	}
	if len(ts) == 0 {
		c.Empty = "No threats were run."
		return c
	}
	c.XTitle, c.YTitle = "threat", "score (0–100)"
	c.yAxis(100, func(v float64) string { return strconv.FormatFloat(v, 'f', 0, 64) })
	c.Table = &dataTable{Head: []string{"threat", "starting genome"}}
	if evolved {
		c.Table.Head = append(c.Table.Head, "champion")
	}
	for _, t := range ts {
		row := []string{t.Name, scoreText(&t.Score)}
		if evolved {
			row = append(row, scoreText(t.Evolved))
		}
		c.Table.Rows = append(c.Table.Rows, row)
	}
	c.Lines = append(c.Lines, line{Class: "met", Points: fmt.Sprintf("%.1f,%.1f %.1f,%.1f", c.Frame.X, c.y(slo.Met, 100), c.Frame.X+c.Frame.W, c.y(slo.Met, 100))})
	slot := c.Frame.W / float64(len(ts))
	for i, t := range ts {
		scores := []*Score{&t.Score}
		classes := []string{"baseline"}
		if evolved {
			scores, classes = append(scores, t.Evolved), append(classes, "evolved")
		}
		c.group(float64(i)*slot, slot, len(scores), func(j int, x, w float64) {
			s := scores[j]
			if s == nil || s.Trials == 0 {
				return
			}
			c.Bars = append(c.Bars, bar{X: x, Y: c.y(s.Score, 100), W: w, H: c.y(0, 100) - c.y(s.Score, 100),
				Class: classes[j], Key: t.Name, Value: num(s.Score),
				Title: fmt.Sprintf("%s, %s: %s", t.Name, classes[j], *s)})
			if s.Trials > 1 && s.High-s.Low >= 0.05 { // an interval only where there is one
				mid := x + w/2
				c.Lines = append(c.Lines, line{Class: "ci", Points: fmt.Sprintf("%.1f,%.1f %.1f,%.1f", mid, c.y(s.Low, 100), mid, c.y(s.High, 100))})
			}
		})
		c.XTicks = append(c.XTicks, tick{X: c.Frame.X + (float64(i)+0.5)*slot, Y: c.Frame.Y + c.Frame.H + 16, Label: t.Name})
	}
	if evolved {
		c.legend([2]string{"baseline", "starting genome"}, [2]string{"evolved", "champion"})
	} else {
		c.legend([2]string{"baseline", "starting genome"})
	}
	return c
}

// latencyChart draws the latency distribution of a threat's successful
// requests, the starting genome's beside the champion's.
func latencyChart(i int, t Threat) chart {
	c := newChart(fmt.Sprintf("latency-%d", i+1), "Latency of the successful requests under "+t.Threat)
	return c.histogram(t.Latency, t.EvolvedLatency, "No latency of successful requests was recorded for this threat.")
}

// failedLatencyChart draws the latency distribution of a threat's failed
// requests (a request that never returned is timed at the drain deadline),
// apart from the successes, so fast errors never look like fast service.
func failedLatencyChart(i int, t Threat) chart {
	c := newChart(fmt.Sprintf("failed-latency-%d", i+1), "Latency of the failed requests under "+t.Threat)
	return c.histogram(t.FailedLatency, t.EvolvedFailedLatency, "No failed request was timed for this threat.")
}

// histogram draws a latency distribution, the starting genome's (base)
// beside the champion's (evolved, when there is one), or says empty.
func (c chart) histogram(base, evolved []Bucket, empty string) chart {
	if len(base) == 0 && len(evolved) == 0 {
		c.Empty = empty
		return c
	}
	series := [][]Bucket{base}
	classes := []string{"baseline"}
	if len(evolved) > 0 {
		series, classes = append(series, evolved), append(classes, "evolved")
	}
	// One slot per distinct bound, in order of the bounds.
	var bounds []int64
	seen := map[int64]bool{}
	ymax := int64(0)
	for _, s := range series {
		for _, b := range s {
			if !seen[int64(b.UpTo)] {
				seen[int64(b.UpTo)] = true
				bounds = append(bounds, int64(b.UpTo))
			}
			ymax = max(ymax, b.Count)
		}
	}
	slices.Sort(bounds)
	c.XTitle, c.YTitle = "latency (each bucket: up to its bound)", "requests"
	c.Table = &dataTable{Head: []string{"latency up to", "starting genome"}}
	if len(series) == 2 {
		c.Table.Head = append(c.Table.Head, "champion")
	}
	for _, ub := range bounds {
		row := []string{time.Duration(ub).String()}
		for _, s := range series {
			cell := "0"
			for _, b := range s {
				if int64(b.UpTo) == ub {
					cell = strconv.FormatInt(b.Count, 10)
				}
			}
			row = append(row, cell)
		}
		c.Table.Rows = append(c.Table.Rows, row)
	}
	slot := c.Frame.W / float64(len(bounds))
	ym := 4 * niceStep(float64(ymax)/4)
	c.yAxis(ym, func(v float64) string { return strconv.FormatFloat(v, 'f', 0, 64) })
	for k, ub := range bounds {
		c.group(float64(k)*slot, slot, len(series), func(j int, x, w float64) {
			for _, b := range series[j] {
				if int64(b.UpTo) != ub {
					continue
				}
				c.Bars = append(c.Bars, bar{X: x, Y: c.y(float64(b.Count), ym), W: w, H: c.y(0, ym) - c.y(float64(b.Count), ym),
					Class: classes[j], Key: strconv.FormatInt(ub, 10), Value: strconv.FormatInt(b.Count, 10),
					Title: fmt.Sprintf("%s: %d requests ≤ %s", classes[j], b.Count, b.UpTo)})
			}
		})
		c.XTicks = append(c.XTicks, tick{X: c.Frame.X + (float64(k)+0.5)*slot, Y: c.Frame.Y + c.Frame.H + 16,
			Label: "≤ " + time.Duration(ub).String()})
	}
	if len(series) == 2 {
		c.legend([2]string{"baseline", "starting genome"}, [2]string{"evolved", "champion"})
	} else {
		c.legend([2]string{"baseline", "starting genome"})
	}
	return c
}

// group lays n bars side by side in the slot at offset off, with margins.
func (c *chart) group(off, slot float64, n int, draw func(j int, x, w float64)) {
	pad := slot * 0.15
	w := (slot - 2*pad) / float64(n)
	for j := range n {
		draw(j, c.Frame.X+off+pad+float64(j)*w, w*0.92)
	}
}

// num formats a data value: shortest form that reads back exactly.
func num(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// niceStep is the smallest round number (1, 1.5, 2, 2.5, 3, 4, 5, 6 or 8
// times a power of ten, at least 1) not below v: a tick step a reader can add.
func niceStep(v float64) float64 {
	if v <= 1 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10} {
		if m*p >= v {
			return m * p
		}
	}
	return 10 * p
}

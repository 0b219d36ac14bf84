package report

import (
	"bytes"
	"fmt"
	"html/template"
	"strconv"
	"strings"
	"time"
)

// HTML renders the report as one self-contained page: inline CSS, SVG
// charts drawn in Go (fitness per generation, score per threat before and
// after, and per threat the latency distribution of the successful
// requests and, apart, that of the failed ones), no script and no
// external asset. It shows what [Report.Markdown] shows of every threat
// not met: the broken term and by how much, the seed, the measurements and
// the replay command, or why the threat did not run. Each chart is an
// <svg> with an id ("fitness", "threats", "latency-1", "failed-latency-1",
// …) whose <circle> and <rect> marks carry data-value; a chart with
// nothing to draw says so instead. The page holds nothing of the time it
// was rendered, so the same report renders the same bytes. Like
// [Report.Markdown] it is for people and may change between versions.
func (r *Report) HTML() ([]byte, error) {
	var b bytes.Buffer
	if err := pageTemplate.ExecuteTemplate(&b, "page", r.page("")); err != nil {
		return nil, fmt.Errorf("report: html of %s: %w", r.Module, err)
	}
	return b.Bytes(), nil
}

// pageData is what one report's section of a page shows.
type pageData struct {
	R        *Report
	Anchor   string // the section's id in a summary page; "" on a report's own page
	Headline string
	Duration time.Duration
	Findings []finding
	Charts   []chart
	Latency  []chart // per threat, the successes' chart then the failures'
	Timeline []chart // per threat with a timeline, its success rate's chart then its p99's
	Verdicts []verdictBlock
	Evidence bool // a threat has evidence of its faults to show
}

// page lays out r, with every chart id prefixed by prefix (a summary page
// holds several reports and an id must be unique in a page).
func (r *Report) page(prefix string) pageData {
	p := pageData{R: r, Headline: r.headline(), Duration: r.End.Sub(r.Start).Round(time.Millisecond), Findings: r.findings(maxShown), Verdicts: r.verdictBlocks()}
	p.Charts = []chart{fitnessChart(r.History), threatChart(r.Threats, r.Evolved != nil)}
	for _, t := range r.Threats {
		p.Evidence = p.Evidence || len(t.Fired) > 0 || t.Untouched != ""
	}
	for i, t := range r.Threats {
		p.Latency = append(p.Latency, latencyChart(i, t), failedLatencyChart(i, t))
		p.Timeline = append(p.Timeline, timelineCharts(i, t, SLOTerms{SuccessRate: r.SLO.SuccessRate, P99: r.SLO.P99})...)
	}
	if prefix != "" {
		p.Anchor = prefix
		for _, cs := range [][]chart{p.Charts, p.Latency, p.Timeline} {
			for i := range cs {
				cs[i].ID = prefix + "-" + cs[i].ID
			}
		}
		for i := range p.Verdicts {
			p.Verdicts[i].ID = prefix + "-" + p.Verdicts[i].ID
		}
	}
	return p
}

// HTML renders the summary as one self-contained page: a table of the runs
// (module, tier, seed, score before and after, threats by verdict),
// each linked to its section, then every run's report as [Report.HTML]
// renders it, charts included (their ids prefixed "run-<n>-"). Like the
// other renderings it is for people and may change between versions.
func (s *Summary) HTML() ([]byte, error) {
	data := struct {
		Headline string
		Pages    []pageData
	}{Headline: s.headline()}
	for i, r := range s.worstFirst() {
		data.Pages = append(data.Pages, r.page(fmt.Sprintf("run-%d", i+1)))
	}
	var b bytes.Buffer
	if err := pageTemplate.ExecuteTemplate(&b, "summary", data); err != nil {
		return nil, fmt.Errorf("report: html of the summary: %w", err)
	}
	return b.Bytes(), nil
}

var pageTemplate = template.Must(template.New("page").Funcs(template.FuncMap{
	"cls":           func(s any) string { return strings.ReplaceAll(fmt.Sprint(s), " ", "-") },
	"shortDigest":   short,
	"attackVerdict": attackVerdict,
	"percent":       func(v float64) float64 { return 100 * v },
	"score":         func(s Score) string { return scoreText(&s) },
	"scorep":        scoreText,
	"scores":        (*Report).scores,
	"verdicts":      (*Report).verdicts,
	"f":             func(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) },
	"right":         func(f frame) string { return strconv.FormatFloat(f.X+f.W, 'f', 1, 64) },
	"bottom":        func(f frame) string { return strconv.FormatFloat(f.Y+f.H, 'f', 1, 64) },
	"mid":           func(f frame) float64 { return f.X + f.W/2 },
	"words":         verdictWords,
	"symbol":        RunStatus.symbol,
	"where":         (*Report).where,
	"change":        (*Report).change,
	"vmid":          func(f frame) float64 { return f.Y + f.H/2 },
}).Parse(`{{define "head"}}<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>RAFAEL: {{.}}</title>
<style>
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1f2328; margin: 2rem auto; max-width: 800px; padding: 0 1rem; }
h1 { font-size: 1.5rem; margin-bottom: .2rem; } h2 { font-size: 1.15rem; margin-top: 2rem; border-bottom: 1px solid #d0d7de; }
.meta { color: #59636e; } .headline { font-size: 1.1rem; font-weight: 600; }
table { border-collapse: collapse; width: 100%; } th, td { border: 1px solid #d0d7de; padding: .3rem .5rem; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.mitigated, .held, .met { color: #1a7f37; } .vulnerable, .regressed, .broken { color: #cf222e; font-weight: 600; }
.unstable { color: #9a6700; font-weight: 600; } .not-run { color: #59636e; font-style: italic; }
details.run { border: 1px solid #d0d7de; border-radius: 6px; padding: .4rem .8rem; margin: .6rem 0; } details.run > summary { font-size: 1.05rem; }
li { margin: .15rem 0; }
pre { background: #f6f8fa; padding: .6rem; overflow-x: auto; }
.empty { border: 1px dashed #d0d7de; padding: 1rem; color: #59636e; }
svg { display: block; width: 100%; height: auto; }
svg text { font-size: 11px; fill: #59636e; }
svg .axis { stroke: #8c959f; stroke-width: 1; }
svg .grid { stroke: #eaeef2; stroke-width: 1; }
svg polyline { fill: none; stroke-width: 2; }
svg polyline.best, svg circle.best, svg rect.best { stroke: #0969da; fill: #0969da; }
svg polyline.best { fill: none; }
svg polyline.mean, svg circle.mean, svg rect.mean { stroke: #bc4c00; fill: #bc4c00; }
svg polyline.mean { fill: none; stroke-dasharray: 5 3; }
svg polyline.ci { stroke: #1f2328; stroke-width: 1.5; }
svg rect.baseline { fill: #8c959f; } svg rect.evolved { fill: #0969da; }
svg polyline.met { stroke: #1a7f37; stroke-width: 1; stroke-dasharray: 4 3; }
svg rect.window { fill: #cf222e; fill-opacity: .08; stroke: none; }
svg polyline.slo { stroke: #cf222e; stroke-width: 1.5; stroke-dasharray: 6 4; }
svg polyline.baseline, svg circle.baseline { stroke: #6e7781; fill: #6e7781; } svg polyline.baseline { fill: none; }
svg polyline.evolved, svg circle.evolved { stroke: #0969da; fill: #0969da; } svg polyline.evolved { fill: none; stroke-dasharray: 5 3; }
svg text.axis-title { font-size: 12px; fill: #1f2328; } svg text.note { fill: #cf222e; }
details { margin: .3rem 0 1rem; } summary { color: #59636e; cursor: pointer; }
section.verdict { border: 1px solid #d0d7de; border-radius: 6px; padding: 0 .8rem .6rem; margin: 1rem 0; }
tr.violated { background: #fff1f0; } code.replay { display: block; margin-top: .3rem; white-space: pre-wrap; word-break: break-all; }
button.copy { float: right; font: inherit; font-size: .8rem; }
</style>
</head>
{{end}}
{{define "page"}}{{template "head" .R.Module}}<body>
{{template "report" .}}</body>
</html>
{{end}}
{{define "summary"}}{{template "head" "summary"}}<body>
<h1>RAFAEL resilience summary</h1>
<p class="headline" id="summary-headline">{{.Headline}}</p>
<table id="runs">
<tr><th>Status</th><th>Run</th><th>Test</th><th>Tier</th><th>Seed</th><th>Score</th><th>Threats</th></tr>
{{range .Pages}}<tr><td class="{{cls .R.Status}}">{{symbol .R.Status}} {{.R.Status}}</td><td><a href="#{{.Anchor}}">{{.R.Module}}</a></td><td>{{where .R}}</td><td>{{.R.Tier}}</td><td class="num">{{.R.Seed}}</td><td class="num">{{change .R}}</td><td>{{verdicts .R}}</td></tr>
{{end}}</table>
<p class="meta">Worst first. Each run's report is folded below: open it to read it.</p>
{{range .Pages}}<details class="run" id="{{.Anchor}}"><summary>{{symbol .R.Status}} <strong>{{.R.Module}}</strong> ({{.R.Tier}}, seed {{.R.Seed}}): {{.R.Status}}, {{change .R}}</summary>
{{template "report" .}}</details>
{{end}}</body>
</html>
{{end}}
{{define "report"}}<h1>RAFAEL resilience report: {{.R.Module}}</h1>
<p class="meta">Seed {{.R.Seed}}, {{.R.Tier}} tier, {{.R.GoVersion}}, run of {{.Duration}}. SLO: {{.R.SLO}}. Genome {{.R.Genome}}{{with .R.Champion}}, champion {{.}}{{end}}.</p>
<p class="headline">{{.Headline}}</p>

<h2>Threats</h2>
<table>
<tr><th>Threat</th><th>Severity</th><th>{{if .R.Evolved}}Before{{else}}Score{{end}}</th><th>Status</th>{{if .R.Evolved}}<th>After</th><th>Verdict</th>{{end}}</tr>
{{range .R.Threats}}<tr><td><code>{{.Threat}}</code></td><td>{{.Severity}}</td><td class="num">{{score .Score}}</td><td class="{{cls .Status}}">{{.Status}}</td>{{if $.R.Evolved}}<td class="num">{{scorep .Evolved}}</td><td class="{{cls .Verdict}}">{{.Verdict}}</td>{{end}}</tr>
{{end}}</table>
{{with .Verdicts}}<h2>Verdicts</h2>
{{range .}}<section class="verdict" id="{{.ID}}">
<h3>{{.Name}}: <span class="{{cls .Verdict}}">{{words .Verdict}}</span></h3>
<p><code>{{.Threat}}</code></p>
{{with .Terms}}<table>
<tr><th>SLO term</th><th>Required</th><th>Starting genome, worst trial</th>{{if $.R.Evolved}}<th>Champion, worst trial</th>{{end}}</tr>
{{range .}}<tr{{if .Violated}} class="violated"{{end}}><td>{{.Term}}</td><td class="num">{{.Required}}</td>{{template "term" .Base}}{{if $.R.Evolved}}{{template "term" .Champ}}{{end}}</tr>
{{end}}</table>
{{end}}{{range .Other}}<p class="broken">✗ {{.}}</p>
{{end}}{{with .Replay}}<p>Replay the worst trial, from the module root: <button type="button" class="copy" onclick="navigator.clipboard.writeText(this.nextElementSibling.textContent)">Copy</button><code class="replay">{{.}}</code></p>
{{end}}{{with .Counterexample}}<p>The smallest threat that still breaks the champion: <code>{{.Threat}}</code>, trial seed {{.Seed}}{{with .Violations}} ({{range $i, $v := .}}{{if $i}}; {{end}}{{$v}}{{end}}){{end}}; replay: <code>{{.Replay}}</code></p>
{{end}}{{if or .Fired .Untouched}}<p>Evidence: {{range $i, $f := .Fired}}{{if $i}}; {{end}}{{$f}}{{end}}{{with .Untouched}} <span class="broken">warning: {{.}}</span>{{end}}</p>
{{end}}</section>
{{end}}{{end}}
{{if .Evidence}}<h2>Evidence that the faults fired</h2>
<ul>
{{range .R.Threats}}{{if or .Fired .Untouched}}<li><strong>{{.Name}}</strong>: {{range $i, $f := .Fired}}{{if $i}}; {{end}}{{$f}}{{end}}{{with .Untouched}}<br><span class="broken">warning: {{.}}</span>{{end}}</li>
{{end}}{{end}}</ul>
{{end}}{{with .Findings}}<h2>Threats that did not meet the SLO</h2>
{{range .}}<p><strong>{{.Name}}</strong> <code>{{.Threat}}</code>{{with .Who}}, {{.}}{{end}}: <span class="{{cls .Status}}">{{.Status}}</span>: {{.Summary}}.</p>
{{if .Trials}}<ul>
{{range .Trials}}<li>seed {{.Seed}} {{.Head}}<ul>
{{range .Lines}}<li>{{.}}</li>
{{end}}{{with .Replay}}<li>replay: <code>{{.}}</code></li>
{{end}}</ul></li>
{{end}}{{with .More}}<li>{{.}}</li>
{{end}}</ul>
{{end}}{{end}}{{end}}
{{with .Timeline}}<h2>Over time</h2>
<p>Each point is the requests that started in one time bucket, over all the trials (the p99 is the worst trial's). The shaded band is the fault in force; the dashed red line, the SLO. Below each chart, its data as a table.</p>
{{range .}}{{template "chart" .}}{{end}}{{end}}
{{range .Charts}}{{template "chart" .}}{{end}}
<h2>Latency</h2>
{{range .Latency}}{{template "chart" .}}{{end}}
{{with .R.Counterexamples}}<h2>Still breaks it</h2>
{{range .}}<p><strong>{{.Name}}</strong>: smallest breaking threat <code>{{.Threat}}</code>, seed {{.Seed}}{{with .Violations}} ({{range $i, $v := .}}{{if $i}}; {{end}}{{$v}}{{end}}){{end}}. Replay:</p>
<pre><code>{{.Replay}}</code></pre>
{{end}}{{end}}
{{if or .R.Attacks .R.Settled}}<h2>Threats the adversary found</h2>
<p>Within the envelope of the declared threats (each parameter at most its declared value, each step no longer than declared and starting anywhere in the inject phase; with Combine, two at once), the worst case for each round's champion, judged as the search judges (the SLO with its margin):</p>
<ol>{{range .R.Attacks}}<li><code>{{.Threat}}</code> (from {{.From}}) broke champion <code>{{shortDigest .Broke}}</code> (fitness {{printf "%.1f" (percent .Fitness)}}); the final champion: {{attackVerdict .}}</li>
{{end}}</ol>{{with .R.Settled}}<p>The rounds ended because {{.}}.</p>{{end}}
{{end}}{{with .R.GenomeDiff}}<h2>Genome diff</h2>
<pre><code>{{range .}}{{.}}
{{end}}</code></pre>
{{end}}
{{if or .R.GeneCosts .R.Removed .R.Static .R.Rounded}}<h2>Why each gene is there</h2>
<p>On the search's own trials, the champion with and without each of its genes:</p>
<ul id="gene-costs">
{{range .R.GeneCosts}}<li>{{.}}</li>
{{end}}{{with .R.Removed}}<li>removed, as they cost nothing there: {{range $i, $g := .}}{{if $i}}, {{end}}{{$g}}{{end}}</li>
{{end}}{{with .R.Static}}<li>made static, as the adaptive form gained nothing there: {{range $i, $g := .}}{{if $i}}, {{end}}{{$g}}{{end}}</li>
{{end}}{{with .R.Rounded}}<li>rounded, as it costs nothing there: {{range $i, $g := .}}{{if $i}}; {{end}}{{$g}}{{end}}</li>
{{end}}</ul>
{{end}}
{{with .R.Audit}}<h2>Audit</h2>
<p>The change is <strong>{{.Status}}</strong> (impact {{.Impact}}): audit entry {{.Seq}}, hash <code>{{.Hash}}</code>, signed with {{if .Trusted}}a configured key{{else}}an ephemeral key (not trusted){{end}}.</p>
{{end}}
{{end}}
{{define "term"}}{{if not .Value}}<td class="not-run">not run</td>{{else if .Violated}}<td class="num broken">✗ {{.Value}} (violated)</td>{{else}}<td class="num met">✓ {{.Value}}</td>{{end}}{{end}}
{{define "chart"}}<h3>{{.Title}}</h3>
{{if .Empty}}<p class="empty" id="{{.ID}}-empty">{{.Empty}}</p>
{{else}}<svg id="{{.ID}}" viewBox="0 0 {{.W}} {{.H}}" role="img" aria-label="{{.Title}}" xmlns="http://www.w3.org/2000/svg">
{{range .Shades}}<rect class="{{.Class}}" x="{{f .X}}" y="{{f .Y}}" width="{{f .W}}" height="{{f .H}}" data-key="{{.Key}}" data-value="{{.Value}}"><title>{{.Title}}</title></rect>
{{end}}{{range .YTicks}}<line class="grid" x1="{{$.Frame.X}}" x2="{{right $.Frame}}" y1="{{f .Y}}" y2="{{f .Y}}"/><text x="{{f .X}}" y="{{f .Y}}" dy="4" text-anchor="end">{{.Label}}</text>
{{end}}<line class="axis" x1="{{$.Frame.X}}" x2="{{right $.Frame}}" y1="{{bottom $.Frame}}" y2="{{bottom $.Frame}}"/>
<line class="axis" x1="{{$.Frame.X}}" x2="{{$.Frame.X}}" y1="{{$.Frame.Y}}" y2="{{bottom $.Frame}}"/>
{{range .XTicks}}<text x="{{f .X}}" y="{{f .Y}}" text-anchor="middle">{{.Label}}</text>
{{end}}{{range .Bars}}<rect class="{{.Class}}" x="{{f .X}}" y="{{f .Y}}" width="{{f .W}}" height="{{f .H}}" data-key="{{.Key}}" data-value="{{.Value}}"><title>{{.Title}}</title></rect>
{{end}}{{range .Lines}}<polyline class="{{.Class}}" points="{{.Points}}"/>
{{end}}{{range .Points}}<circle class="{{.Class}}" cx="{{f .X}}" cy="{{f .Y}}" r="3.5" data-key="{{.Key}}" data-value="{{.Value}}"><title>{{.Title}}</title></circle>
{{end}}{{range .Notes}}<text class="note" x="{{f .X}}" y="{{f .Y}}" text-anchor="end">{{.Label}}</text>
{{end}}{{range .Legend}}<rect class="{{.Class}}" x="{{f .X}}" y="6" width="12" height="12"/><text x="{{f .X}}" y="16" dx="16">{{.Label}}</text>
{{end}}{{with .XTitle}}<text class="axis-title" x="{{f (mid $.Frame)}}" y="{{$.H}}" dy="-4" text-anchor="middle">{{.}}</text>
{{end}}{{with .YTitle}}<text class="axis-title" transform="rotate(-90)" x="-{{f (vmid $.Frame)}}" y="12" text-anchor="middle">{{.}}</text>
{{end}}</svg>
{{with .Table}}<details><summary>The data of this chart</summary>
<table>
<tr>{{range .Head}}<th>{{.}}</th>{{end}}</tr>
{{range .Rows}}<tr>{{range .}}<td class="num">{{.}}</td>{{end}}</tr>
{{end}}</table>
</details>
{{end}}{{end}}{{end}}`))

//go:build unix

package report

import (
	"bytes"
	"context"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// chromium finds a headless-capable Chromium or Chrome binary.
func chromium() string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "headless_shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// headless runs the browser on page with args and returns its stdout and
// the console messages it logged. The page has no script, so any console
// message at all is an error of the page.
func headless(t *testing.T, bin, page string, args ...string) (stdout []byte, console []string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
	defer cancel()
	base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir=" + t.TempDir(), "--enable-logging=stderr", "--v=0"}
	cmd := exec.CommandContext(ctx, bin, append(append(base, args...), "file://"+page)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // the browser and its helpers end together
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	var out, errs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errs
	require.NoError(t, cmd.Run(), "%s %s:\n%s", bin, strings.Join(args, " "), errs.String())
	for _, l := range strings.Split(errs.String(), "\n") {
		if strings.Contains(l, ":CONSOLE") {
			console = append(console, l)
		}
	}
	return out.Bytes(), console
}

// TestHTMLInChromium opens the HTML of the fixtures in headless Chromium,
// checks that the page logs nothing to the console, that every chart's SVG
// holds its data points, and that the screenshot is a picture, which it
// keeps in the test's artifact directory (go test -artifacts keeps it).
func TestHTMLInChromium(t *testing.T) {
	bin := chromium()
	if bin == "" {
		t.Skip("no chromium binary on PATH: make chromium installs it")
	}
	t.Run("console check catches errors", func(t *testing.T) {
		t.Parallel()
		bad := filepath.Join(t.TempDir(), "bad.html")
		require.NoError(t, os.WriteFile(bad, []byte(`<!DOCTYPE html><p>x</p><script>console.error("boom"); missing();</script>`), 0o644))
		_, console := headless(t, bin, bad, "--dump-dom")
		assert.Len(t, console, 2, "the check must see a page's console errors")
	})
	for name, r := range map[string]*Report{"evolved": evolved(), "measured": measured()} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			page, err := r.HTML()
			require.NoError(t, err)
			file := filepath.Join(t.TempDir(), name+".html")
			require.NoError(t, os.WriteFile(file, page, 0o644))

			dom, console := headless(t, bin, file, "--dump-dom")
			assert.Empty(t, console, "the page logs to the console")
			got := marks(string(dom))
			assert.Equal(t, wantMarks(r), got, "the charts' data points in the rendered DOM (-want +got)")
			if len(r.History) == 0 {
				assert.Contains(t, string(dom), `id="fitness-empty"`, "without evolution the page says so instead of an empty chart")
			}
			// Over time: the fault's window shaded and the SLO's line drawn
			// in the timeline; each verdict names the violated term and
			// gives the replay command.
			timeline := regexp.MustCompile(`(?s)<svg id="timeline-1".*?</svg>`).FindString(string(dom))
			assert.Contains(t, timeline, `class="window"`, "the fault's window")
			assert.Contains(t, timeline, `class="slo"`, "the SLO's line")
			verdict := regexp.MustCompile(`(?s)<section class="verdict" id="verdict-1">.*?</section>`).FindString(string(dom))
			assert.Regexp(t, `<tr class="violated"><td>success rate</td>`, verdict, "the violated term, marked")
			assert.Contains(t, verdict, "(violated)", "in words, not colour alone")
			assert.Regexp(t, `<code class="replay">go test ./examples_test -run '\^TestCheckout\$/\^db-outage\$/\^seed=\d+\$' -rafael.seed=42</code>`, verdict)

			shot := filepath.Join(t.ArtifactDir(), name+".png")
			_, console = headless(t, bin, file, "--screenshot="+shot, "--window-size=1280,2000", "--hide-scrollbars")
			assert.Empty(t, console)
			checkPicture(t, shot)
			t.Logf("screenshot: %s", shot)
		})
	}
}

// checkPicture fails unless path is a 1280×2000 PNG of more than one colour.
// The merged summary's first screen is the status of every run: a
// headline and a table, the worst run first, each run's report folded
// below it.
func TestSummaryInChromium(t *testing.T) {
	bin := chromium()
	if bin == "" {
		t.Skip("no chromium binary on PATH: make chromium installs it")
	}
	healthy := evolved()
	healthy.Module = "payments"
	for i := range healthy.Threats {
		healthy.Threats[i].Trials, healthy.Threats[i].EvolvedTrials = healthy.Threats[i].EvolvedTrials, nil
		healthy.Threats[i].Evolved = nil
	}
	healthy.Threats = healthy.Threats[1:2] // latency: met
	healthy.Derive()
	s, err := Merge(evolved(), measured(), healthy)
	require.NoError(t, err)
	page, err := s.HTML()
	require.NoError(t, err)
	file := filepath.Join(t.TempDir(), "summary.html")
	require.NoError(t, os.WriteFile(file, page, 0o644))

	raw, console := headless(t, bin, file, "--dump-dom")
	assert.Empty(t, console)
	dom := string(raw)
	table := regexp.MustCompile(`(?s)<table id="runs">.*?</table>`).FindString(dom)
	require.NotEmpty(t, table, "the table of runs")
	assert.Less(t, strings.Index(dom, `<table id="runs">`), strings.Index(dom, "<details"), "the table comes before any report")
	rows := regexp.MustCompile(`<tr><td class="([a-z-]+)">[^<]* ([a-z ]+)</td><td><a href="#(run-\d)">([a-z]+)</a></td><td>([^<]*)</td>`).FindAllStringSubmatch(table, -1)
	require.Len(t, rows, 3, "one row per run:\n%s", table)
	var order []string
	for _, r := range rows {
		order = append(order, r[4]+"="+r[2])
		assert.Equal(t, "TestCheckout in ./examples_test", r[5], "the test and package that ran it")
		assert.Contains(t, dom, `<details class="run" id="`+r[3]+`">`, "its report, folded (not open)")
	}
	assert.Equal(t, []string{"checkout=vulnerable", "checkout=vulnerable", "payments=held"}, order, "worst first")
	assert.Contains(t, dom, `id="summary-headline">✗ 3 runs: 2 vulnerable (checkout, checkout), 1 held.</p>`)

	shot := filepath.Join(t.ArtifactDir(), "summary.png")
	_, console = headless(t, bin, file, "--screenshot="+shot, "--window-size=1280,2000", "--hide-scrollbars")
	assert.Empty(t, console)
	checkPicture(t, shot)
}

func checkPicture(t *testing.T, path string) {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	img, err := png.Decode(f)
	require.NoError(t, err, "the screenshot is a PNG")
	require.Equal(t, image.Rect(0, 0, 1280, 2000), img.Bounds())
	colours := map[[4]uint32]bool{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y += 4 {
		for x := b.Min.X; x < b.Max.X; x += 4 {
			r, g, bl, a := img.At(x, y).RGBA()
			colours[[4]uint32{r, g, bl, a}] = true
		}
	}
	assert.Greater(t, len(colours), 16, "the screenshot is not blank")
}

func TestHTMLIsSelfContained(t *testing.T) {
	for _, r := range []*Report{evolved(), measured()} {
		page, err := r.HTML()
		require.NoError(t, err)
		s := strings.ReplaceAll(string(page), `xmlns="http://www.w3.org/2000/svg"`, "")
		for _, ref := range []string{"http:", "https:", "src=", "href=", "url(", "<script", "@import"} {
			assert.NotContains(t, s, ref, "the page loads nothing and runs nothing")
		}
	}
}

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
	"strconv"
	"strings"
	"testing"
	"time"
)

// chromium finds Debian's headless browser. Without it the test skips,
// unless SYNCD_REQUIRE_SERVERS is set (CI), where it fails.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	const install = "apt-get install chromium"
	if os.Getenv("SYNCD_REQUIRE_SERVERS") != "" {
		t.Fatalf("chromium is not installed (%s) and SYNCD_REQUIRE_SERVERS is set", install)
	}
	t.Skipf("chromium is not installed (%s); set SYNCD_REQUIRE_SERVERS to make this a failure", install)
	return ""
}

// browse runs headless Chromium on a file with a fresh profile and no
// network chatter, and returns what it printed on stdout.
func browse(t *testing.T, browser, file string, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute) // a busy machine starts it slowly
	defer cancel()
	base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir=" + t.TempDir(), "--hide-scrollbars"}
	cmd := exec.CommandContext(ctx, browser, append(append(base, args...), "file://"+file)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium %s: %v\n%s", strings.Join(args, " "), err, stderr.Bytes())
	}
	return stdout.Bytes()
}

// outDir is where the browser test leaves its files: $SYNCD_REPORT_SAMPLES
// when set (to look at them), else a temporary directory.
func outDir(t *testing.T) string {
	if dir := os.Getenv("SYNCD_REPORT_SAMPLES"); dir != "" {
		return dir
	}
	return t.TempDir()
}

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// The HTML report of a large run, loaded in a real browser: every group
// and tag is a folded section whose summary says what it holds, the page
// with the folds closed is a small fraction of the page with them open,
// and a screenshot shows a rendered page.
func TestLargeHTMLReportInChromium(t *testing.T) {
	browser := chromium(t)
	r := largeReport()
	r.Errors = []string{`Team 007: directory group "team-007" of source "corp" could not be read completely: size limit exceeded; no removals this run`}
	if len(r.Changes) < 1000 {
		t.Fatalf("the large sample has %d changes, want 1,000 or more", len(r.Changes))
	}
	sections := len(r.sections())
	dir := outDir(t)
	page := render(t, r, FormatHTML, Options{})
	path := filepath.Join(dir, "large.html")
	writeFile(t, path, page)

	checkScreenshot(t, browser, dir, path)
	dom := string(browse(t, browser, path, "--dump-dom"))
	checkFoldedDOM(t, dom, sections)

	closed := pageHeight(t, browser, dir, "large-closed.html", page)
	open := pageHeight(t, browser, dir, "large-open.html",
		bytes.ReplaceAll(page, []byte(`<details class="fold">`), []byte(`<details class="fold" open="open">`)))
	t.Logf("%d changes in %d sections: page height %d px folded, %d px unfolded", len(r.Changes), sections, closed, open)
	if closed > 90*sections+4000 || closed*10 > open {
		t.Errorf("folded page is %d px high (unfolded %d px): want at most 90 px a section plus 4000, and a tenth of the unfolded page", closed, open)
	}
}

func checkScreenshot(t *testing.T, browser, dir, path string) {
	t.Helper()
	shot := filepath.Join(dir, "large.png")
	browse(t, browser, path, "--window-size=1280,1600", "--screenshot="+shot)
	f, err := os.Open(shot)
	if err != nil {
		t.Fatalf("no screenshot: %v", err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	if b := img.Bounds(); b.Dx() != 1280 || b.Dy() != 1600 {
		t.Errorf("screenshot is %v, want 1280x1600", b)
	}
	if n := colours(img); n < 8 {
		t.Errorf("screenshot has %d colours: the page did not render", n)
	}
}

// colours counts the distinct colours of img, up to 100.
func colours(img image.Image) int {
	seen := map[[4]uint32]bool{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y && len(seen) < 100; y += 7 {
		for x := b.Min.X; x < b.Max.X; x += 7 {
			r, g, bl, a := img.At(x, y).RGBA()
			seen[[4]uint32{r, g, bl, a}] = true
		}
	}
	return len(seen)
}

var (
	detailsTag = regexp.MustCompile(`<details class="fold"[^>]*>`)
	whatSpan   = regexp.MustCompile(`<span class="what">([^<]+)</span>`)
)

// checkFoldedDOM reads the document as the browser built it: one folding
// section per group and tag, all folded in a report this large, each with
// its summary line; the failures before the first section.
func checkFoldedDOM(t *testing.T, dom string, sections int) {
	t.Helper()
	folds := detailsTag.FindAllString(dom, -1)
	if len(folds) != sections {
		t.Errorf("the browser sees %d folding sections, want %d", len(folds), sections)
	}
	for _, f := range folds {
		if strings.Contains(f, "open") {
			t.Errorf("a section of a large report starts unfolded: %s", f)
			break
		}
	}
	whats := whatSpan.FindAllStringSubmatch(dom, -1)
	if len(whats) != sections {
		t.Errorf("%d section summaries, want %d", len(whats), sections)
	}
	for _, want := range []string{"create 1 group, add 321 people", "add 2 people, remove 2 people, update 1 description",
		"add 4 people; held: remove 30 people", "add 3 people and 1 user group"} {
		if !strings.Contains(dom, `<span class="what">`+want+`</span>`) {
			t.Errorf("no section summary %q", want)
		}
	}
	if f, s := strings.Index(dom, `id="failures"`), strings.Index(dom, `class="card" id="s1"`); f < 0 || f > s {
		t.Errorf("the failures (at %d) do not come before the first section (at %d)", f, s)
	}
}

var heightAttr = regexp.MustCompile(`data-height="(\d+)"`)

// pageHeight loads a copy of page that writes its own height into the
// DOM (the report itself holds no script) and reads it back.
func pageHeight(t *testing.T, browser, dir, name string, page []byte) int {
	t.Helper()
	probe := `<script>document.body.setAttribute("data-height", document.documentElement.scrollHeight)</script></body>`
	path := filepath.Join(dir, name)
	writeFile(t, path, bytes.Replace(page, []byte("</body>"), []byte(probe), 1))
	m := heightAttr.FindSubmatch(browse(t, browser, path, "--window-size=1280,1600", "--dump-dom"))
	if m == nil {
		t.Fatalf("%s: the page did not report its height", name)
	}
	h, _ := strconv.Atoi(string(m[1]))
	return h
}

package main

import (
	"bytes"
	"context"
	"fmt"
	"image/png"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"go.uber.org/zap"

	"github.com/syncd/syncd/internal/config"
	"github.com/syncd/syncd/internal/report"
)

// chromiumPath finds Debian's browser: without it the test skips, unless
// SYNCD_REQUIRE_SERVERS is set (CI), where it fails.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("SYNCD_REQUIRE_SERVERS") != "" {
		t.Fatal("chromium is not installed (apt-get install chromium) and SYNCD_REQUIRE_SERVERS is set")
	}
	t.Skip("chromium is not installed (apt-get install chromium); set SYNCD_REQUIRE_SERVERS to make this a failure")
	return ""
}

// screenshotDir is where the console's screenshots are kept:
// $SYNCD_CONSOLE_SCREENSHOTS when set, else the test's temporary directory.
func screenshotDir(t *testing.T) string {
	if dir := os.Getenv("SYNCD_CONSOLE_SCREENSHOTS"); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	return t.TempDir()
}

// browserCtx starts headless Chromium with a fresh profile and no network
// chatter, for the whole test.
func browserCtx(t *testing.T, path string) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute) // a busy machine starts it slowly
	t.Cleanup(cancel)
	alloc, cancelAlloc := chromedp.NewExecAllocator(ctx, chromedp.ExecPath(path),
		chromedp.Flag("headless", true), chromedp.Flag("no-sandbox", true), chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true), chromedp.NoFirstRun, chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.Flag("hide-scrollbars", true), chromedp.UserDataDir(t.TempDir()))
	t.Cleanup(cancelAlloc)
	bctx, cancelBrowser := chromedp.NewContext(alloc)
	t.Cleanup(cancelBrowser)
	// Start it on this context: one started by a step's shorter-lived
	// context would end with that step.
	if err := chromedp.Do(bctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return bctx
}

// shoot keeps a screenshot of the page at a viewport of w×h (and one of
// the whole page), checks its size, and logs where it is.
func shoot(t *testing.T, ctx context.Context, dir, name string, w, h int64) {
	t.Helper()
	opts := []chromedp.EmulateViewportOption{}
	if w < 600 {
		opts = append(opts, chromedp.EmulateMobile, chromedp.EmulateTouch, chromedp.EmulatePortrait)
	}
	step(t, ctx, fmt.Sprintf("viewport %dx%d", w, h), chromedp.EmulateViewport(w, h, opts...), chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("main")))
	for _, shot := range []struct {
		suffix string
		take   chromedp.Action[[]byte]
	}{{"", chromedp.CaptureScreenshot()}, {"-full", chromedp.FullScreenshot(100)}} {
		data, err := chromedp.Run(ctx, shot.take)
		if err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		img, err := png.Decode(bytes.NewReader(data))
		if err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		if b := img.Bounds(); shot.suffix == "" && (b.Dx() != int(w) || b.Dy() != int(h)) {
			t.Errorf("screenshot %s is %dx%d, want %dx%d", name, b.Dx(), b.Dy(), w, h)
		}
		path := filepath.Join(dir, name+shot.suffix+".png")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot: %s", path)
	}
}

// step runs actions in the browser, failing the test after a minute and a
// half rather than waiting for an element that never comes.
func step(t *testing.T, ctx context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func text(t *testing.T, ctx context.Context, css string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(css), chromedp.NodeVisible))
	if err != nil {
		t.Fatalf("text of %s: %v", css, err)
	}
	return strings.Join(strings.Fields(s), " ")
}

// TestConsoleInChromium drives the web console of a real daemon (the quick
// start's directory and emulated Teams site, a sync token, max_removals 0)
// in headless Chromium: sign in with the token, see the held removal of
// Victor Lane, approve it, run now, and see the removal applied in the
// emulator; explain a person; screenshots at 1280×800 and 390×844.
func TestConsoleInChromium(t *testing.T) {
	browser := chromiumPath(t)
	cfgPath := quickstart(t)
	dir := filepath.Dir(cfgPath)
	writeTestFile(t, filepath.Join(dir, "sync-token"), "console-test-token\n", 0o600)
	rewriteConfig(t, cfgPath, "max_removals: 100", "max_removals: 0",
		"  state_dir: .state\n", "  state_dir: .state\n  schedule: \"@every 24h\"\nserver:\n  listen: 127.0.0.1:0\n  sync_token_file: sync-token\n")
	e := env{stdout: io.Discard, stderr: io.Discard, getenv: testGetenv(t, nil)}
	cfg, err := config.Load(cfgPath, e.getenv)
	if err != nil {
		t.Fatal(err)
	}
	p, err := newDaemonParts(e, cfg, daemonFlags{path: cfgPath, apply: true}, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	defer p.close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- serve(ctx, p, ln, make(chan os.Signal)) }()
	defer func() { stop(); <-served }()
	base := "http://" + ln.Addr().String()

	first := waitForReport(t, p, func(r *report.Report) bool { return r.Summary.ChangesHeld > 0 })
	var held report.Change
	for _, c := range first.Changes {
		if c.Status == report.StatusHeld {
			held = c
		}
	}
	if held.ID == "" || len(held.Users) != 1 || held.Users[0].Email != "victor@example.com" {
		t.Fatalf("the first run held %+v, want Victor's removal with an id", held)
	}

	shots := screenshotDir(t)
	b := browserCtx(t, browser)
	step(t, b, "open the console", chromedp.EmulateViewport(1280, 800), chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.CSS("#token")))
	shoot(t, b, shots, "console-login-1280x800", 1280, 800)
	step(t, b, "sign in", chromedp.SendKeys(chromedp.CSS("#token"), "console-test-token"),
		chromedp.Click(chromedp.CSS(`form[action="/login"] button`)), chromedp.WaitVisible(chromedp.CSS("#held")))
	if got := text(t, b, "#held"); !strings.Contains(got, "Victor Lane <victor@example.com>") || !strings.Contains(got, held.ID) ||
		!strings.Contains(got, "exceeds max_removals 0") {
		t.Errorf("the held section does not show the held removal %s:\n%s", held.ID, got)
	}
	shoot(t, b, shots, "console-held-1280x800", 1280, 800)
	shoot(t, b, shots, "console-held-390x844", 390, 844)

	step(t, b, "approve", chromedp.EmulateViewport(1280, 800),
		chromedp.Click(chromedp.CSS(`button[name="id"][value="`+held.ID+`"]`), chromedp.NodeVisible),
		chromedp.WaitVisible(chromedp.CSS(".notice.ok")))
	if got := text(t, b, ".notice.ok"); !strings.Contains(got, "Approved "+held.ID) {
		t.Errorf("after Approve the page says %q", got)
	}
	if a, ok := p.store.Approvals(time.Now())[held.ID]; !ok || !strings.HasPrefix(a.By, "web console") {
		t.Fatalf("approval in the state: %+v, %v", a, ok)
	}
	if got := text(t, b, "#held"); !strings.Contains(got, "approved by web console") {
		t.Errorf("the held section does not show the approval:\n%s", got)
	}
	shoot(t, b, shots, "console-approved-390x844", 390, 844)
	step(t, b, "run now", chromedp.EmulateViewport(1280, 800), chromedp.Click(chromedp.CSS(`form[action="/console/sync"] button`)),
		chromedp.WaitVisible(chromedp.CSS(".notice.ok")))
	waitForReport(t, p, func(r *report.Report) bool { return r.RunID != first.RunID && r.Summary.ChangesApplied > 0 })
	step(t, b, "reload", chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.CSS("#report")))
	if got := text(t, b, "#report"); !strings.Contains(got, `applied Removed 1 user from user group "Platform": Victor Lane <victor@example.com> approved held change `+held.ID) {
		t.Errorf("the latest report does not show the removal applied:\n%s", got)
	}
	if got := text(t, b, "#held"); !strings.Contains(got, "Nothing is held back") {
		t.Errorf("still held after the approved run:\n%s", got)
	}
	if g, ok := p.builder.teamsConn.Emulator.GroupByName("Platform"); !ok || slices.Contains(g.UserIDs, 23) {
		t.Errorf("Platform in the emulator after the approved run: %+v, want Victor (23) removed", g)
	}
	shoot(t, b, shots, "console-applied-1280x800", 1280, 800)

	step(t, b, "explain", chromedp.SendKeys(chromedp.CSS("#email"), "carol@example.com"),
		chromedp.Click(chromedp.CSS(`form[action="/explain#explain"] button`)), chromedp.WaitVisible(chromedp.CSS(".explained")))
	if got := text(t, b, ".explained"); !strings.Contains(got, `user group "Platform"`) || !strings.Contains(got, "Should be in it yes") {
		t.Errorf("explanation:\n%s", got)
	}
	shoot(t, b, shots, "console-explain-390x844", 390, 844)
}

// waitForReport waits for the daemon's latest report to satisfy ok.
func waitForReport(t *testing.T, p *daemonParts, ok func(*report.Report) bool) *report.Report {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		if r := p.daemon.Latest(); r != nil && ok(r) && !p.daemon.Running() {
			return r
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("no run produced the report awaited; latest %+v", p.daemon.Latest())
	return nil
}

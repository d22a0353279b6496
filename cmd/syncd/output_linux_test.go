package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"golang.org/x/sys/unix"

	"github.com/syncd/syncd/internal/exitcode"
)

// pty is a pseudo-terminal: what a command writes to tty, the test reads
// from the other end.
type pty struct {
	tty  *os.File
	out  bytes.Buffer
	done chan struct{}
}

func openPTY(t *testing.T) *pty {
	t.Helper()
	master, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminal here: %v", err)
	}
	fd := int(master.Fd())
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(fd, unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	tty, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	p := &pty{tty: tty, done: make(chan struct{})}
	go func() { // drain as it comes: a full terminal buffer would block the writer
		_, _ = io.Copy(&p.out, master)
		close(p.done)
	}()
	t.Cleanup(func() { master.Close() })
	return p
}

// text closes the terminal and returns what was written to it.
func (p *pty) text() string {
	p.tty.Close()
	<-p.done // the master reads EIO once the terminal side is closed
	return strings.ReplaceAll(p.out.String(), "\r\n", "\n")
}

func runOnTerminals(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	out, errOut := openPTY(t), openPTY(t)
	code = run(context.Background(), args, env{stdout: out.tty, stderr: errOut.tty, getenv: func(string) string { return "" }})
	return code, out.text(), errOut.text()
}

// On a terminal the report shows every change; the log does not repeat
// them unless --verbose. Off a terminal the log keeps every change line.
func TestTerminalShowsTheReportNotTheLog(t *testing.T) {
	cfg := quickstart(t)
	code, out, errOut := runOnTerminals(t, "sync", "--config", cfg)
	if code != exitcode.OK || !strings.Contains(out, "Carol Jones") || !strings.Contains(out, "Plan: ") {
		t.Fatalf("sync on a terminal: exit %d\n%s\n%s", code, out, errOut)
	}
	if strings.Contains(errOut, "Carol Jones") || strings.Contains(errOut, "Would ") || strings.Contains(errOut, "sync finished") {
		t.Errorf("the log repeats the report on a terminal:\n%s", errOut)
	}
	_, out, errOut = runOnTerminals(t, "sync", "--verbose", "--config", cfg)
	if !strings.Contains(out, "Carol Jones") || !strings.Contains(errOut, "c.jones@example.com") || !strings.Contains(errOut, "sync finished") {
		t.Errorf("--verbose on a terminal: the log lacks the change lines:\n%s", errOut)
	}
	_, out, logText := runCmd(t, nil, "sync", "--config", cfg)
	if !strings.Contains(out, "Carol Jones") || !strings.Contains(logText, "c.jones@example.com") || !strings.Contains(logText, "sync finished") {
		t.Errorf("off a terminal the log lost its change lines:\n%s", logText)
	}
}

func TestIsTerminal(t *testing.T) {
	p := openPTY(t)
	defer p.text()
	null, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer null.Close()
	if !isTerminal(p.tty) || isTerminal(null) || isTerminal(&bytes.Buffer{}) {
		t.Errorf("isTerminal: pty %v, /dev/null %v, buffer %v; want true, false, false",
			isTerminal(p.tty), isTerminal(null), isTerminal(&bytes.Buffer{}))
	}
}

// On a terminal a long apply still says how far it is: the progress log
// stays at info while the rest is raised to warnings.
func TestTerminalKeepsProgress(t *testing.T) {
	out, errOut := openPTY(t), openPTY(t)
	defer out.text()
	defer errOut.text()
	w := &wiring{e: env{stdout: out.tty, stderr: errOut.tty}, log: zap.NewExample()}
	w.quietOnTerminal(false)
	if w.log.Core().Enabled(zapcore.InfoLevel) || w.progress == nil || !w.progress.Core().Enabled(zapcore.InfoLevel) {
		t.Errorf("on a terminal: log at info %v, progress %v", w.log.Core().Enabled(zapcore.InfoLevel), w.progress)
	}
}

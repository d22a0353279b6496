package daemon

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/syncd/syncd/internal/config"
)

// listenNotify opens a unixgram socket like systemd's notify socket. The
// directory is short on purpose: socket paths must fit in 107 bytes.
func listenNotify(tb testing.TB) (string, *net.UnixConn) {
	tb.Helper()
	dir, err := os.MkdirTemp("", "sdn")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { os.RemoveAll(dir) })
	path := filepath.Join(dir, "notify")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { conn.Close() })
	return path, conn
}

func readNotify(tb testing.TB, conn *net.UnixConn) string {
	tb.Helper()
	buf := make([]byte, 4096)
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, err := conn.Read(buf)
	if err != nil {
		tb.Fatalf("read notify socket: %v", err)
	}
	return string(buf[:n])
}

func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestNotifierSends(t *testing.T) {
	path, conn := listenNotify(t)
	n := NewNotifier(envOf(map[string]string{"NOTIFY_SOCKET": path}), 1)
	if n == nil {
		t.Fatal("NewNotifier returned nil with NOTIFY_SOCKET set")
	}
	for _, msg := range []string{"READY=1", "STATUS=idle\nWATCHDOG=1"} {
		if err := n.Notify(msg); err != nil {
			t.Fatalf("Notify(%q): %v", msg, err)
		}
		if got := readNotify(t, conn); got != msg {
			t.Errorf("socket got %q, want %q", got, msg)
		}
	}
}

func TestNotifierAbsent(t *testing.T) {
	n := NewNotifier(envOf(nil), 1)
	if n != nil {
		t.Fatalf("NewNotifier without NOTIFY_SOCKET = %+v, want nil", n)
	}
	if err := n.Notify("READY=1"); err != nil {
		t.Errorf("nil notifier: %v", err)
	}
	if d := n.WatchdogInterval(); d != 0 {
		t.Errorf("nil notifier watchdog = %v", d)
	}
}

func TestNotifierUnreachableSocket(t *testing.T) {
	n := NewNotifier(envOf(map[string]string{"NOTIFY_SOCKET": "/nonexistent/notify"}), 1)
	if err := n.Notify("READY=1"); err == nil {
		t.Error("Notify to a missing socket succeeded, want an error")
	}
}

func TestWatchdogInterval(t *testing.T) {
	cases := []struct {
		env  map[string]string
		want time.Duration
	}{
		{map[string]string{"WATCHDOG_USEC": "30000000"}, 15 * time.Second},
		{map[string]string{"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "42"}, 15 * time.Second},
		{map[string]string{"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "7"}, 0}, // meant for another process
		{map[string]string{"WATCHDOG_USEC": "junk"}, 0},
		{map[string]string{}, 0},
	}
	for _, c := range cases {
		c.env["NOTIFY_SOCKET"] = "/run/systemd/notify"
		if got := NewNotifier(envOf(c.env), 42).WatchdogInterval(); got != c.want {
			t.Errorf("env %v: interval %v, want %v", c.env, got, c.want)
		}
	}
}

func TestDaemonNotifiesSystemd(t *testing.T) {
	path, conn := listenNotify(t)
	cfg := cfgAt("a", "@every 1h")
	cfg.Sync.RunAtStart = boolp(false)
	h := newHarness(t, cfg, map[string]*fakeRunner{"a": {}, "b": {}}, func(o *Options) {
		o.Notify = NewNotifier(envOf(map[string]string{"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "20000"}), 1)
	})
	h.load = func() (*config.Config, error) { return cfgAt("b", "@every 1h"), nil }
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.d.Run(ctx) }()

	if got := readNotify(t, conn); !strings.HasPrefix(got, "READY=1") {
		t.Fatalf("first message %q, want READY=1", got)
	}
	if got := readNotify(t, conn); got != "WATCHDOG=1" {
		t.Errorf("second message %q, want WATCHDOG=1 (every 10ms)", got)
	}
	if err := h.d.Reload(); err != nil {
		t.Fatal(err)
	}
	var seen []string
	for len(seen) < 2 {
		if msg := readNotify(t, conn); msg != "WATCHDOG=1" {
			seen = append(seen, msg)
		}
	}
	if seen[0] != "RELOADING=1" || seen[1] != "READY=1" {
		t.Errorf("reload sent %q, want RELOADING=1 then READY=1", seen)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	for {
		if msg := readNotify(t, conn); msg == "STOPPING=1" {
			break
		}
	}
}

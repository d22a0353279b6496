package daemon

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/syncd/syncd/e2e/harness"
)

// TestDaemonTalksToSystemd runs syncd the way syncd.service does (Type=notify,
// WatchdogSec) with a notify socket of our own, on the quick start's LDIF
// directory and in-process emulator: no server needed.
func TestDaemonTalksToSystemd(t *testing.T) {
	requireBinary(t)
	root, err := harness.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, f := range []string{"company.ldif", "teams-seed.json"} {
		data, err := os.ReadFile(filepath.Join(root, "examples", "quickstart", f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	listen := freeAddr(t)
	cfg := `teams:
  url: emulator:teams-seed.json
  token: quickstart-token
sources:
  - name: corp
    ldif:
      path: company.ldif
      users: {base_dn: "ou=people,dc=example,dc=com"}
      groups: {base_dn: "ou=groups,dc=example,dc=com", member_attributes: [member], nested: true}
groups:
  - {source: corp, from: platform, to: Platform}
sync:
  schedule: "@every 1h"
  state_dir: state
server:
  listen: ` + listen + `
`
	path := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}

	sockDir, err := os.MkdirTemp("", "sdn") // unix socket paths must stay short
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(sockDir)
	sock := filepath.Join(sockDir, "notify")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()

	cmd := exec.Command(syncdBin, "run", "--config", path)
	cmd.Env = append(os.Environ(), "NOTIFY_SOCKET="+sock, "WATCHDOG_USEC=200000") // ping every 100 ms
	out := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		if t.Failed() {
			cmd.Process.Kill()
			t.Logf("syncd run output:\n%s", out.String())
		}
	}()

	seen := map[string]int{}
	read := func(until string) {
		t.Helper()
		buf := make([]byte, 4096)
		for seen[until] == 0 {
			conn.SetReadDeadline(time.Now().Add(10 * time.Second))
			n, err := conn.Read(buf)
			if err != nil {
				t.Fatalf("waiting for %s on the notify socket: %v (seen %v)", until, err, seen)
			}
			for _, line := range strings.Split(string(buf[:n]), "\n") {
				key, _, _ := strings.Cut(line, "=")
				if key == "STATUS" {
					seen["STATUS"]++
					continue
				}
				seen[line]++
			}
		}
	}
	read("READY=1")
	read("WATCHDOG=1")
	read("STATUS") // the first run's outcome
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	read("RELOADING=1")
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	read("STOPPING=1")
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("exit after SIGTERM: %v, want 0", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no exit within 5 s of SIGTERM")
	}

	// Restarted without a run at start, syncd still serves the last report
	// and the last success from its state directory.
	cfg = strings.Replace(cfg, "sync:\n", "sync:\n  run_at_start: false\n", 1)
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	d := startDaemon(t, path, listen)
	if code, _, body := d.get("/reports/latest?format=json"); code != 200 || !strings.Contains(body, `"mode"`) {
		t.Errorf("/reports/latest after a restart = %d %q, want the kept report", code, body)
	}
	if ts := d.metric("syncd_last_success_timestamp_seconds"); ts <= 0 {
		t.Errorf("last_success_timestamp_seconds after a restart = %v, want the kept run's", ts)
	}
	if got := d.metric("syncd_runs_total", `result="success"`); got != 0 {
		t.Errorf("runs_total after a restart without run at start = %v, want 0", got)
	}
}

package e2e

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	gosync "sync"
	"testing"
	"time"
)

// TestConcurrentApplies: two `syncd sync --apply` started together
// against one Teams site, with a state dir and without one: one waits for
// the other (and says for whom), so each group is created once and each
// change written once.
func TestConcurrentApplies(t *testing.T) {
	for _, noState := range []bool{false, true} {
		t.Run(fmt.Sprintf("without state dir %v", noState), func(t *testing.T) {
			w := newStateWorld(t, noState)
			// The first apply's requests wait at a gate until the second
			// says it waits: the two surely overlap, however busy the
			// machine.
			gate, arrived := make(chan struct{}), make(chan struct{})
			var once gosync.Once
			w.setHook(func(http.ResponseWriter, *http.Request) bool {
				once.Do(func() { close(arrived) })
				select {
				case <-gate:
				case <-time.After(30 * time.Second):
				}
				return false
			})
			a := w.start("sync", "--apply")
			select { // a holds the site from before its first read
			case <-arrived:
			case <-time.After(30 * time.Second):
				t.Fatalf("the first apply sent nothing:\n%s", a)
			}
			b := w.start("sync", "--apply")
			w.waitLog(b, "waiting for syncd (pid "+strconv.Itoa(a.cmd.Process.Pid)+", sync --apply since", 1)
			close(gate)
			a.wait(t)
			b.wait(t)
			if a.code != exitOK || b.code != exitOK {
				t.Fatalf("both must succeed:\n%s\n%s", a, b)
			}
			w.wantTeams("after two concurrent applies", w.converged())
			if got := w.writes(); len(got) != oneApplyWrites {
				t.Errorf("%d writes, want the %d of one apply: %v", len(got), oneApplyWrites, got)
			}
		})
	}
}

// TestLockWaitGivesUp: an apply that waits longer than --lock-wait exits
// 1, naming who holds the site and since when; it wrote nothing.
func TestLockWaitGivesUp(t *testing.T) {
	w := newStateWorld(t, false)
	w.setDelay(300 * time.Millisecond)
	slow := w.start("sync", "--apply")
	w.waitRequests(1) // slow holds the lock from before its first read
	before := len(w.writes())
	quick := w.start("sync", "--apply", "--lock-wait", "1s").wait(t)
	want := fmt.Sprintf("gave up after 1s waiting for syncd (pid %d, sync --apply since ", slow.cmd.Process.Pid)
	if quick.code != exitFailure || !strings.Contains(quick.stderr.String(), want) || !strings.Contains(quick.stderr.String(), w.apiURL) {
		t.Errorf("want exit 1 and %q ... %s:\n%s", want, w.apiURL, quick)
	}
	slow.wait(t)
	if slow.code != exitOK {
		t.Fatalf("the holder:\n%s", slow)
	}
	if got := len(w.writes()) - before; got != oneApplyWrites {
		t.Errorf("%d writes while the second apply waited, want the holder's %d", got, oneApplyWrites)
	}
	w.wantTeams("after the holder finished", converged())
}

// waitRequests waits until the emulator has served n requests.
func (w *stateWorld) waitRequests(n int) {
	w.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for len(w.emu.Requests()) < n {
		if time.Now().After(deadline) {
			w.t.Fatalf("the emulator served %d requests, waiting for %d", len(w.emu.Requests()), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestCommandsBesideDaemon: while `syncd run --apply` runs, the commands
// docs/operations.md tells an operator to run beside it work: a dry run,
// explain, and an apply with a raised budget from a copy of the config.
// An apply beside the daemon waits for the daemon's run, and the daemon's
// next run waits for it; either says for whom it waits.
func TestCommandsBesideDaemon(t *testing.T) {
	w := newStateWorld(t, false)
	listen := freeAddr(t)
	cfg, err := os.ReadFile(w.configPath())
	if err != nil {
		t.Fatal(err)
	}
	daemonCfg := strings.Replace(string(cfg), "sync:\n", "sync:\n  schedule: \"@every 1h\"\n", 1) +
		"server:\n  listen: " + listen + "\n"
	if err := os.WriteFile(w.configPath(), []byte(daemonCfg), 0o600); err != nil {
		t.Fatal(err)
	}
	d := w.start("run", "--apply")
	waitHealthy(t, d, listen)
	w.waitLog(d, "sync finished", 1) // the run at start
	w.wantTeams("after the daemon's first run", converged())

	for _, args := range [][]string{{"sync"}, {"explain", "alice@example.com"}} {
		start := time.Now()
		p := w.run(exitOK, args...)
		if took := time.Since(start); took > 20*time.Second {
			t.Errorf("syncd %v took %s beside the daemon:\n%s", args, took, p)
		}
	}
	raised := filepath.Join(w.dir, "raised.yaml")
	w.writeConfig(raised, 1000)
	w.setDirectory(leavers)
	w.run(exitOK, "sync", "--apply", "--config", raised)
	w.wantTeams("after an apply beside the daemon", afterLeaving())

	// The daemon's next run waits for a one-shot apply.
	w.setDelay(100 * time.Millisecond)
	w.setDirectory(stateGroups)
	served := len(w.emu.Requests())
	oneShot := w.start("sync", "--apply")
	w.waitRequests(served + 1)
	postSync(t, listen)
	w.waitLog(d, fmt.Sprintf("waiting for syncd (pid %d, sync --apply since", oneShot.cmd.Process.Pid), 1)
	if oneShot.wait(t); oneShot.code != exitOK {
		t.Fatalf("one-shot apply beside the daemon:\n%s", oneShot)
	}
	w.waitLog(d, "sync finished", 2)

	// A one-shot apply waits for the daemon's run.
	w.setDirectory(leavers)
	served = len(w.emu.Requests())
	postSync(t, listen)
	w.waitRequests(served + 1)
	oneShot = w.start("sync", "--apply").wait(t)
	want := fmt.Sprintf("waiting for syncd (pid %d, run --apply since", d.cmd.Process.Pid)
	if oneShot.code != exitOK || !strings.Contains(oneShot.stderr.String(), want) {
		t.Errorf("want exit 0 and %q:\n%s", want, oneShot)
	}
	w.waitLog(d, "sync finished", 3)
	w.wantTeams("at the end", afterLeaving())
	w.wantAudited()
}

// waitLog waits until the daemon's output holds s at least n times.
func (w *stateWorld) waitLog(d *proc, s string, n int) {
	w.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for strings.Count(d.stdout.String()+d.stderr.String(), s) < n {
		select {
		case <-d.done:
			w.t.Fatalf("the daemon exited:\n%s", d)
		default:
		}
		if time.Now().After(deadline) {
			w.t.Fatalf("the daemon's log does not hold %q %d times:\n%s", s, n, d)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func postSync(t *testing.T, listen string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, "http://"+listen+"/sync", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json") // loopback without a token: no form may start a run
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("POST /sync: %d", resp.StatusCode)
	}
}

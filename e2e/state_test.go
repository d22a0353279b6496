package e2e

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/syncd/syncd/internal/state"
)

// TestKillDuringApply kills `syncd sync --apply` with SIGKILL at each
// write of a managed-mode apply in turn: once before the write reaches the
// emulator, once after the emulator applied it but before syncd has the
// answer. Whatever the moment, the next run finishes the job, and when the
// people syncd added leave their directory groups, a later run removes
// exactly them: syncd's memory of what it added survived. The audit log
// has a line for every write the emulator received.
func TestKillDuringApply(t *testing.T) {
	for n := 1; ; n++ {
		killed := false
		for _, applied := range []bool{false, true} {
			name := fmt.Sprintf("write %d, killed before it reached Teams", n)
			if applied {
				name = fmt.Sprintf("write %d, killed after Teams applied it", n)
			}
			t.Run(name, func(t *testing.T) { killed = killAt(t, n, applied) })
			if t.Failed() {
				return
			}
		}
		if !killed {
			if n < 5 {
				t.Fatalf("the apply made only %d writes: the scenario proves little", n-1)
			}
			return
		}
	}
}

// killAt runs one apply killed at its nth write; false when the apply
// made fewer writes (and so was never killed).
func killAt(t *testing.T, n int, applied bool) bool {
	w := newStateWorld(t, false)
	var p *proc // set before the first write can arrive
	seen := 0
	w.setHook(func(rw http.ResponseWriter, r *http.Request) bool {
		if seen++; seen != n {
			return false
		}
		if applied {
			w.emu.ServeHTTP(httptest.NewRecorder(), r)
			w.noteWrite(r)
		}
		p.kill9()
		rw.WriteHeader(http.StatusBadGateway)
		return true
	})
	p = w.start("sync", "--apply")
	p.wait(t)
	if !p.killed {
		if p.code != exitOK {
			t.Fatalf("unkilled apply:\n%s", p)
		}
		t.Skipf("the apply makes only %d writes", seen)
		return false
	}
	w.setHook(nil)

	after := w.run(exitOK, "sync", "--apply")
	w.wantTeams("after the kill and one more run", converged())
	if !strings.Contains(after.stderr.String(), "audit log as unknown") {
		t.Errorf("the next run does not say it recovered the interrupted write:\n%s", after)
	}
	w.run(exitOK, "sync", "--apply") // nothing left to do
	w.setDirectory(leavers)
	w.run(exitOK, "sync", "--apply")
	w.wantTeams("after people left", afterLeaving())

	lines := w.wantAudited()
	unknown := slices.IndexFunc(lines, func(l state.AuditLine) bool { return l.Result == state.ResultUnknown })
	if unknown < 0 {
		t.Errorf("the killed write is not in the audit log as unknown: %+v", lines)
	}
	return true
}

// TestKillBetweenAuditAndLedger kills `syncd sync --apply` after each
// write's outcome reached the audit log and before its ledger was
// settled: the transaction that settles it (the next write's, or the
// run's last) waits for the state file, which the test holds locked from
// the moment Teams answered. The next run takes the outcome from the
// audit log (no "unknown" line is added for it), finishes the job, and
// later removes exactly whom syncd added.
func TestKillBetweenAuditAndLedger(t *testing.T) {
	for n := 1; ; n++ {
		var killed bool
		t.Run(fmt.Sprintf("after write %d", n), func(t *testing.T) { killed = killAfterAudit(t, n) })
		if t.Failed() || !killed {
			if !killed && n < 5 {
				t.Fatalf("the apply made only %d writes: the scenario proves little", n-1)
			}
			return
		}
	}
}

func killAfterAudit(t *testing.T, n int) bool {
	w := newStateWorld(t, false)
	w.run(exitOK, "sync") // a dry run creates the state file
	var held *os.File
	seen := 0
	release := func() {
		if held != nil {
			_ = syscall.Flock(int(held.Fd()), syscall.LOCK_UN)
			held.Close()
			held = nil
		}
	}
	t.Cleanup(release)
	w.setHook(func(rw http.ResponseWriter, r *http.Request) bool {
		if seen++; seen != n {
			return false
		}
		f, err := os.OpenFile(w.dbPath(), os.O_RDWR, 0)
		if err == nil {
			err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) // no transaction is open while a write is sent
		}
		if err != nil {
			t.Errorf("hold the state file at write %d: %v", n, err)
		}
		held = f
		w.noteWrite(r)
		w.emu.ServeHTTP(rw, r)
		return true
	})
	p := w.start("sync", "--apply")
	logged := false
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline) && !logged; time.Sleep(10 * time.Millisecond) {
		select {
		case <-p.done:
			p.wait(t)
			if p.code != exitOK || seen >= n {
				t.Fatalf("the apply ended before its write %d was settled:\n%s", n, p)
			}
			return false // fewer writes
		default:
		}
		lines, _ := state.ReadAudit(w.stateDir(), 1<<20)
		writes := map[uint64]bool{}
		for _, l := range lines {
			writes[l.Seq] = true
		}
		logged = len(writes) >= n
	}
	if !logged {
		t.Fatalf("write %d never reached the audit log:\n%s", n, p)
	}
	p.kill9()
	release()
	w.setHook(nil)

	if !p.killed || seen != n {
		t.Fatalf("killed %v at write %d, want at write %d", p.killed, seen, n)
	}
	after := w.run(exitOK, "sync", "--apply")
	if !strings.Contains(after.stderr.String(), "takes its outcome from the audit log") {
		t.Errorf("the next run does not say it settled the interrupted write:\n%s", after)
	}
	w.wantTeams("after the kill and one more run", converged())
	w.setDirectory(leavers)
	w.run(exitOK, "sync", "--apply")
	w.wantTeams("after people left", afterLeaving())
	for _, l := range w.wantAudited() {
		if l.Result == state.ResultUnknown {
			t.Errorf("write %d was logged before the kill, yet the audit log has it as unknown: %+v", n, l)
		}
	}
	return true
}

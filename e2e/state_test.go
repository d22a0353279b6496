package e2e

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

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

//go:build unix

package state

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestFilesTakeTheDirsOwner: files syncd creates in a state dir that
// belongs to another user (a service's) get that owner when syncd runs as
// root, so the service can still open them.
func TestFilesTakeTheDirsOwner(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to give files away")
	}
	dir := filepath.Join(t.TempDir(), "state")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(dir, 4242, 4343); err != nil {
		t.Fatal(err)
	}
	s := mustOpen(t, dir)
	r := mustBegin(t, s, addWrite("run-1", 1, []int{2}, nil))
	if err := s.Finish(r, Outcome{Result: ResultApplied}, t0); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{FileName, AuditFile} {
		st, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if sys := st.Sys().(*syscall.Stat_t); sys.Uid != 4242 || sys.Gid != 4343 {
			t.Errorf("%s is owned by %d:%d, want the dir's 4242:4343", name, sys.Uid, sys.Gid)
		}
	}
}

package e2e

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// smallFS mounts a tmpfs of size on dir for the test. It needs root (CI
// runs as root); elsewhere the test is skipped.
func smallFS(t *testing.T, dir, size string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount a small tmpfs (CI runs as root)")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size+",mode=0700", "tmpfs", dir).CombinedOutput()
	if err != nil {
		if os.Getenv("SYNCD_REQUIRE_SERVERS") == "1" {
			t.Fatalf("mount a tmpfs (root should be able to): %v %s", err, out)
		}
		t.Skipf("cannot mount a tmpfs here: %v %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v %s", dir, err, out)
		}
	})
}

func remount(t *testing.T, dir, mode string) {
	t.Helper()
	if out, err := exec.Command("mount", "-o", "remount,"+mode, dir).CombinedOutput(); err != nil {
		t.Fatalf("remount %s %s: %v %s", dir, mode, err, out)
	}
}

// fill writes a file in dir until the file system is full.
func fill(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "filler")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	chunk := make([]byte, 4096)
	for {
		if _, err := f.Write(chunk); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatal(err)
			}
			return path
		}
	}
}

// TestStateDirFull: with the state dir's file system full, an apply fails
// (exit 1) without sending a write it cannot record. Once there is room
// again the next run finishes the job; every write Teams received is in
// the audit log.
func TestStateDirFull(t *testing.T) {
	w := newStateWorld(t, false)
	smallFS(t, w.stateDir(), "512k")
	w.run(exitOK, "sync") // a dry run: the state exists, the audit log not yet
	filler := fill(t, w.stateDir())

	p := w.run(exitFailure, "sync", "--apply")
	if !strings.Contains(p.stdout.String()+p.stderr.String(), "no space left on device") {
		t.Errorf("the run does not say the disk is full:\n%s", p)
	}
	if n := len(w.writes()); n > 1 {
		t.Errorf("%d writes sent with a full state dir; at most the one whose outcome could not be recorded", n)
	}
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	w.run(exitOK, "sync", "--apply")
	w.wantTeams("once there is room again", converged())
	w.wantAudited()
	w.setDirectory(leavers)
	w.run(exitOK, "sync", "--apply")
	w.wantTeams("after people left", afterLeaving())
}

// TestStateDirReadOnly: a read-only state dir is a runtime failure (exit
// 1, saying why), not a configuration error (2), and nothing is written.
func TestStateDirReadOnly(t *testing.T) {
	w := newStateWorld(t, false)
	smallFS(t, w.stateDir(), "4m")
	w.run(exitOK, "sync")
	remount(t, w.stateDir(), "ro")
	for _, args := range [][]string{{"sync"}, {"sync", "--apply"}, {"explain", "alice@example.com"}, {"run", "--apply"}} {
		p := w.start(args...).wait(t)
		if p.code != exitFailure || !strings.Contains(p.stderr.String(), "read-only file system") {
			t.Errorf("want exit 1 and the reason:\n%s", p)
		}
	}
	if n := len(w.writes()); n != 0 {
		t.Errorf("%d writes sent with a read-only state dir", n)
	}
	remount(t, w.stateDir(), "rw")
	w.run(exitOK, "sync", "--apply")
	w.wantTeams("once writable again", converged())
}

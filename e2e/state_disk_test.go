package e2e

import (
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/syncd/syncd/internal/state"
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
	wantWholeLines(t, filepath.Join(w.stateDir(), state.AuditFile))
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

// TestStateDirReadOnly: on a read-only state dir (a read-only mount)
// what only looks still works and says that it keeps nothing: a dry run,
// --check, explain, history and approve --list. What records (an apply,
// the daemon, an approval) fails, saying why: a runtime failure (exit 1),
// not a configuration error (2). Nothing is written to Teams.
func TestStateDirReadOnly(t *testing.T) {
	w := newStateWorld(t, false)
	smallFS(t, w.stateDir(), "4m")
	w.run(exitOK, "sync", "--apply")
	w.setDirectory(leavers)
	sent := len(w.writes())
	remount(t, w.stateDir(), "ro")
	wantReadOnly(t, w, "read-only file system")
	if n := len(w.writes()) - sent; n != 0 {
		t.Errorf("%d writes sent with a read-only state dir", n)
	}
	remount(t, w.stateDir(), "rw")
	w.run(exitOK, "sync", "--apply")
	w.wantTeams("once writable again", afterLeaving())
}

// wantReadOnly runs every command against w's state dir, which syncd can
// read but not write (why: what the refusals say), after an apply, with
// the leavers still to remove.
func wantReadOnly(t *testing.T, w *stateWorld, why string) {
	t.Helper()
	looks := []struct {
		args []string
		code int
		says string // on stdout
	}{
		{[]string{"sync"}, exitOK, "dry run"},
		{[]string{"sync", "--check"}, exitPending, "dry run"},
		{[]string{"explain", "alice@example.com"}, exitOK, "Platform"},
		{[]string{"history"}, exitOK, "Created user group"},
		{[]string{"approve", "--list"}, exitOK, "Latest run"},
	}
	for _, l := range looks {
		p := w.start(l.args...).wait(t)
		if p.code != l.code || !strings.Contains(p.stdout.String(), l.says) {
			t.Errorf("want exit %d and %q on stdout:\n%s", l.code, l.says, p)
		}
		if l.args[0] == "sync" && !strings.Contains(p.stderr.String(), "reading it only: this run keeps nothing in it") {
			t.Errorf("the dry run does not say that it keeps nothing:\n%s", p)
		}
	}
	for _, args := range [][]string{{"sync", "--apply"}, {"run", "--apply"}, {"approve", "--all"}} {
		p := w.start(args...).wait(t)
		if p.code != exitFailure || !strings.Contains(p.stderr.String(), why) || !strings.Contains(p.stderr.String(), "writes the state dir") {
			t.Errorf("want exit 1 and the reason (%s):\n%s", why, p)
		}
	}
}

// TestStateDirOfAnotherUser: the state dir's files belong to another user
// (the service's) and may be read, not written, by the one running syncd:
// the same as a read-only mount, and the files are left as they were.
func TestStateDirOfAnotherUser(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to run syncd as another user (CI runs as root)")
	}
	w := newStateWorld(t, false)
	w.run(exitOK, "sync", "--apply")
	w.setDirectory(leavers)
	// Readable by all, writable by root alone; syncd runs as nobody.
	for _, dir := range []string{filepath.Dir(syncdBin), filepath.Dir(w.dir), w.dir, w.stateDir()} {
		if err := os.Chmod(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, dir := range []string{w.dir, w.stateDir()} {
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if e.Type().IsRegular() {
				if err := os.Chmod(filepath.Join(dir, e.Name()), 0o644); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	before := dirSums(t, w.stateDir())
	sent := len(w.writes())
	w.cred = &syscall.Credential{Uid: 65534, Gid: 65534}
	probe := exec.Command(syncdBin, "validate", "--config", w.configPath())
	probe.SysProcAttr = &syscall.SysProcAttr{Credential: w.cred}
	probe.Env = append(os.Environ(), "SYNCD_E2E_TOKEN="+tokenRW)
	if out, err := probe.CombinedOutput(); err != nil {
		// Only the temporary directories were opened to others: one
		// above them (a TMPDIR under a private home) may still be closed.
		msg := fmt.Sprintf("the test's files are out of another user's reach (TMPDIR=%q): %v %s", os.Getenv("TMPDIR"), err, out)
		if os.Getenv("SYNCD_REQUIRE_SERVERS") == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	wantReadOnly(t, w, "permission denied")
	if n := len(w.writes()) - sent; n != 0 {
		t.Errorf("%d writes sent by a user who cannot write the state dir", n)
	}
	if after := dirSums(t, w.stateDir()); !maps.Equal(before, after) {
		t.Errorf("the state dir changed:\nbefore %v\nafter  %v", before, after)
	}
	// No state yet, in a directory this user may not write: nothing to
	// read, and saying so.
	cfg, err := os.ReadFile(w.configPath())
	if err != nil {
		t.Fatal(err)
	}
	fresh := filepath.Join(w.dir, "fresh.yaml")
	if err := os.WriteFile(fresh, []byte(strings.ReplaceAll(string(cfg), w.stateDir(), filepath.Join(w.dir, "none"))), 0o644); err != nil {
		t.Fatal(err)
	}
	if p := w.start("history", "--config", fresh).wait(t); p.code != exitFailure || !strings.Contains(p.stderr.String(), "no state in") {
		t.Errorf("history without a state it may create: want exit 1 saying there is none:\n%s", p)
	}
	w.cred = nil
	w.run(exitOK, "sync", "--apply")
	w.wantTeams("as the owner again", afterLeaving())
}

// dirSums returns the SHA-256 of each file in dir, by name.
func dirSums(t *testing.T, dir string) map[string]string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out[e.Name()] = fmt.Sprintf("%x", sha256.Sum256(data))
	}
	return out
}

// wantWholeLines: the file at path, if any, is JSON lines, each ended.
func wantWholeLines(t *testing.T, path string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	if len(data) > 0 && data[len(data)-1] != '\n' {
		t.Errorf("%s ends in a fragment: %q", path, data[max(0, len(data)-80):])
	}
	for i, line := range strings.Split(strings.TrimSuffix(string(data), "\n"), "\n") {
		if line != "" && !json.Valid([]byte(line)) {
			t.Errorf("%s line %d is not JSON: %q", path, i+1, line)
		}
	}
}

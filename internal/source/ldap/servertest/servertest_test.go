package servertest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
)

// recorder stands in for a test, to see whether Require skips or fails.
type recorder struct {
	testing.TB
	skipped, failed string
}

func (r *recorder) Helper()                  {}
func (r *recorder) Skip(args ...any)         { r.skipped = args[0].(string) }
func (r *recorder) Fatal(args ...any)        { r.failed = args[0].(string) }
func (r *recorder) Fatalf(string, ...any)    { r.failed = "fatalf" }
func (r *recorder) Skipf(f string, _ ...any) { r.skipped = f }

// onPath puts an executable named name on PATH for the test: the test
// may not count on what the machine has.
func onPath(t *testing.T, name string) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, name), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
}

func TestRequireSkipsOrFails(t *testing.T) {
	const install = "apt-get install no-such-package"
	onPath(t, "syncd-present")
	t.Setenv(RequireEnv, "")
	r := &recorder{TB: t}
	Require(r, "Nothing", install, "syncd-present", "syncd-no-such-program")
	if r.skipped == "" || r.failed != "" {
		t.Fatalf("without %s: skipped %q failed %q, want a skip", RequireEnv, r.skipped, r.failed)
	}
	want := "Nothing not installed (syncd-no-such-program missing): " + install
	if r.skipped != want {
		t.Errorf("skip message %q, want %q", r.skipped, want)
	}
	t.Setenv(RequireEnv, "1")
	r = &recorder{TB: t}
	Require(r, "Nothing", install, "syncd-no-such-program")
	if r.failed != want || r.skipped != "" {
		t.Errorf("with %s: failed %q skipped %q, want a failure", RequireEnv, r.failed, r.skipped)
	}
	r = &recorder{TB: t}
	if paths := Require(r, "Present", install, "syncd-present"); paths["syncd-present"] == "" || r.failed != "" || r.skipped != "" {
		t.Errorf("syncd-present: paths %v, failed %q skipped %q", paths, r.failed, r.skipped)
	}
}

// A directory left by a test binary that no longer runs is removed when
// the next one makes its own; one of a running process stays.
func TestTempDirRemovesOrphans(t *testing.T) {
	name := "servertest-" + strconv.Itoa(os.Getpid())
	cmd := exec.Command(os.Args[0], "-test.run=^$") // a process that has ended
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	dead := filepath.Join(os.TempDir(), "syncd-"+name+"-"+strconv.Itoa(cmd.Process.Pid)+"-1")
	alive := filepath.Join(os.TempDir(), "syncd-"+name+"-1-1") // pid 1 runs
	for _, d := range []string{dead, alive} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { os.RemoveAll(alive) })
	dir, err := TempDir(name)
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	if _, err := os.Stat(dead); !os.IsNotExist(err) {
		t.Errorf("the directory of a finished process is still there (%v)", err)
	}
	if _, err := os.Stat(alive); err != nil {
		t.Errorf("the directory of a running process was removed: %v", err)
	}
}

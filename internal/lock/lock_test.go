package lock

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

const site = "https://Teams.Example.com:443/api/v3/teams/acme/"

func opts(runtime, state string, wait time.Duration) Options {
	return Options{Target: site, RuntimeDir: runtime, StateDir: state, Command: "sync --apply", Wait: wait}
}

func mustAcquire(t *testing.T, o Options) *Writer {
	t.Helper()
	w, err := Acquire(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// TestOneWriter: a second writer for the same site waits, is told who
// holds the lock, gives up after its wait with a message naming the
// holder and the site, and gets the lock once it is released. The runs
// share either the runtime dir or the state dir: either is enough.
func TestOneWriter(t *testing.T) {
	for _, tc := range []struct {
		name                 string
		run1, run2, st1, st2 string
	}{
		{name: "same runtime dir, no state dir", run1: "r", run2: "r"},
		{name: "different runtime dirs, same state dir", run1: "r1", run2: "r2", st1: "s", st2: "s"},
		{name: "same runtime dir, different state dirs", run1: "r", run2: "r", st1: "s1", st2: "s2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			in := func(p string) string {
				if p == "" {
					return ""
				}
				return filepath.Join(dir, p)
			}
			first := mustAcquire(t, opts(in(tc.run1), in(tc.st1), 0))
			var told []Holder
			o := opts(in(tc.run2), in(tc.st2), 300*time.Millisecond)
			o.OnWait = func(h Holder) { told = append(told, h) }
			_, err := Acquire(context.Background(), o)
			var busy *BusyError
			if !errors.As(err, &busy) {
				t.Fatalf("second writer: %v, want a BusyError", err)
			}
			if len(told) != 1 || told[0].PID != os.Getpid() || told[0].Command != "sync --apply" {
				t.Errorf("OnWait got %+v", told)
			}
			msg := err.Error()
			for _, want := range []string{"pid " + strconv.Itoa(os.Getpid()), "sync --apply since", "https://teams.example.com:443/api/v3/teams/acme/"} {
				if !strings.Contains(strings.ToLower(msg), want) {
					t.Errorf("message %q lacks %q", msg, want)
				}
			}
			first.Release()
			second := mustAcquire(t, o)
			second.Release()
		})
	}
}

// TestWaitThenTake: a waiting writer takes the lock as soon as it is free.
func TestWaitThenTake(t *testing.T) {
	dir := t.TempDir()
	first := mustAcquire(t, opts(dir, "", 0))
	waiting := make(chan struct{})
	o := opts(dir, "", time.Minute)
	o.OnWait = func(Holder) { close(waiting) }
	got := make(chan error, 1)
	go func() {
		w, err := Acquire(context.Background(), o)
		w.Release()
		got <- err
	}()
	<-waiting
	first.Release()
	if err := <-got; err != nil {
		t.Fatal(err)
	}
}

// TestWaitCancelled: Ctrl-C while waiting ends the wait at once.
func TestWaitCancelled(t *testing.T) {
	dir := t.TempDir()
	first := mustAcquire(t, opts(dir, "", 0))
	defer first.Release()
	ctx, cancel := context.WithCancel(context.Background())
	o := opts(dir, "", time.Hour)
	o.OnWait = func(Holder) { cancel() }
	_, err := Acquire(ctx, o)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
}

// TestOtherSites: different sites do not wait for each other; spellings
// of one site do.
func TestOtherSites(t *testing.T) {
	dir := t.TempDir()
	a := mustAcquire(t, opts(dir, "", 0))
	defer a.Release()
	o := opts(dir, "", 0)
	o.Target = "https://teams.example.com/api/v3/teams/other"
	b := mustAcquire(t, o)
	b.Release()
	for _, same := range []string{"https://teams.example.com/api/v3/teams/acme", "HTTPS://TEAMS.EXAMPLE.COM/api/v3//teams/acme?x=1#f", "https://u:p@teams.example.com:443/api/v3/teams/acme/"} {
		if Key(same) != Key(site) {
			t.Errorf("Key(%q) differs from Key(%q)", same, site)
		}
	}
	if Key("https://teams.example.com/api/v3/teams/other") == Key(site) {
		t.Error("two teams share a key")
	}
}

func TestDisplay(t *testing.T) {
	got := Display("https://user:secret@teams.example.com/api/v3?token=secret#x")
	if strings.Contains(got, "secret") || got != "https://teams.example.com/api/v3" {
		t.Errorf("Display = %q", got)
	}
}

// TestKilledHolder: the kernel releases the lock of a process killed with
// SIGKILL; the next writer does not wait for it.
func TestKilledHolder(t *testing.T) {
	if dir := os.Getenv("SYNCD_LOCK_HOLD"); dir != "" {
		w, err := Acquire(context.Background(), opts(dir, "", 0))
		if err != nil {
			os.Exit(3)
		}
		os.Stdout.WriteString("held\n")
		time.Sleep(time.Hour)
		w.Release()
		return
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestKilledHolder$")
	cmd.Env = append(os.Environ(), "SYNCD_LOCK_HOLD="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 5)
	if _, err := out.Read(buf); err != nil || string(buf) != "held\n" {
		t.Fatalf("helper: %q, %v", buf, err)
	}
	if _, err := Acquire(context.Background(), opts(dir, "", 0)); err == nil {
		t.Fatal("the helper's lock was not held")
	}
	_ = cmd.Process.Signal(syscall.SIGKILL)
	_ = cmd.Wait()
	w := mustAcquire(t, opts(dir, "", 0))
	w.Release()
}

// TestCreatedHook: each lock file this process creates is handed to
// Created (the command gives it the state dir's owner); existing ones not.
func TestCreatedHook(t *testing.T) {
	dir := t.TempDir()
	var created []string
	o := opts(filepath.Join(dir, "run"), filepath.Join(dir, "state"), 0)
	o.Created = func(p string) { created = append(created, p) }
	mustAcquire(t, o).Release()
	mustAcquire(t, o).Release()
	if len(created) != 2 || !strings.HasPrefix(created[1], filepath.Join(dir, "state", "writer-")) {
		t.Errorf("Created got %v, want the two new lock files once", created)
	}
}

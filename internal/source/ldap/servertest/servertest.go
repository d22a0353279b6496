// Package servertest holds what the test harnesses of real directory
// servers (sambatest, dstest) share: finding their programs, a prepared
// server kept in a cache directory so that it is built once and copied by
// every test binary, processes that cannot outlive the test binary, and
// loopback addresses leased between concurrent test binaries.
package servertest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// RequireEnv, when set, turns a missing server program into a failure.
const RequireEnv = "SYNCD_REQUIRE_SERVERS"

// Require returns the paths of the programs, or skips the test (fails it
// under SYNCD_REQUIRE_SERVERS) with one line naming what to install.
func Require(tb testing.TB, what, install string, programs ...string) map[string]string {
	tb.Helper()
	paths, missing := Find(programs...)
	if len(missing) > 0 {
		Missing(tb, fmt.Sprintf("%s not installed (%s missing): %s", what, strings.Join(missing, ", "), install))
	}
	return paths
}

// Missing skips the test with msg, or fails it under SYNCD_REQUIRE_SERVERS.
func Missing(tb testing.TB, msg string) {
	tb.Helper()
	if os.Getenv(RequireEnv) != "" {
		tb.Fatal(msg)
		return
	}
	tb.Skip(msg)
}

// Find looks the programs up on PATH and in /usr/sbin, which is not on
// every PATH.
func Find(programs ...string) (paths map[string]string, missing []string) {
	paths = map[string]string{}
	for _, name := range programs {
		p, err := exec.LookPath(name)
		if err != nil {
			p = filepath.Join("/usr/sbin", name)
			if _, serr := os.Stat(p); serr != nil {
				missing = append(missing, name)
				continue
			}
		}
		paths[name] = p
	}
	return paths, missing
}

// Key hashes what a cached server depends on, so that a change to any of
// it builds a new one.
func Key(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		fmt.Fprintf(h, "%d:%s", len(p), p)
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// Cached returns the directory name-key under the user's cache directory
// ($XDG_CACHE_HOME or ~/.cache, then syncd-tests), building it with build
// when it is not there yet. Test binaries running at the same time build
// it once: the others wait on a lock. build writes into the directory it
// is given, which becomes the cached one only when build succeeds.
func Cached(name, key string, build func(dir string) error) (string, error) {
	root, err := os.UserCacheDir()
	if err != nil {
		root = os.TempDir()
	}
	root = filepath.Join(root, "syncd-tests")
	if err := os.MkdirAll(root, 0o700); err != nil {
		return "", err
	}
	unlock, err := lock(filepath.Join(root, name+".lock"), true)
	if err != nil {
		return "", err
	}
	defer unlock()
	dir := filepath.Join(root, name+"-"+key)
	if _, err := os.Stat(filepath.Join(dir, ".complete")); err == nil {
		return dir, nil
	}
	removeStale(filepath.Join(root, name+"-*"), 24*time.Hour)
	tmp := dir + ".building"
	if err := os.MkdirAll(tmp, 0o700); err != nil {
		return "", err
	}
	if err := build(tmp); err != nil {
		os.RemoveAll(tmp)
		return "", err
	}
	if err := os.WriteFile(filepath.Join(tmp, ".complete"), nil, 0o600); err != nil {
		return "", err
	}
	return dir, os.Rename(tmp, dir)
}

// removeStale removes what matches pattern and was not changed for age:
// builds of older fixtures, which another checkout may still be copying
// from when they are recent.
func removeStale(pattern string, age time.Duration) {
	old, _ := filepath.Glob(pattern)
	for _, o := range old {
		if info, err := os.Stat(o); err == nil && time.Since(info.ModTime()) > age {
			os.RemoveAll(o)
		}
	}
}

// TempDir makes a directory for one server's files, named after the test
// binary's process. Directories of processes that no longer run (a test
// binary killed before it could clean up) are removed on the way.
func TempDir(name string) (string, error) {
	prefix := "syncd-" + name + "-"
	old, _ := filepath.Glob(filepath.Join(os.TempDir(), prefix+"*"))
	for _, o := range old {
		pid, _, _ := strings.Cut(strings.TrimPrefix(filepath.Base(o), prefix), "-")
		if n, err := strconv.Atoi(pid); err == nil && n != os.Getpid() && syscall.Kill(n, 0) == syscall.ESRCH {
			os.RemoveAll(o)
		}
	}
	return os.MkdirTemp("", prefix+strconv.Itoa(os.Getpid())+"-")
}

// lock takes an exclusive flock on path; wait false fails at once when
// another process holds it. The lock ends with unlock or the process.
func lock(path string, wait bool) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	how := syscall.LOCK_EX
	if !wait {
		how |= syscall.LOCK_NB
	}
	if err := syscall.Flock(int(f.Fd()), how); err != nil {
		f.Close()
		return nil, err
	}
	return func() { f.Close() }, nil
}

// CopyTree copies the directory src to dst (which must not exist),
// keeping file modes; symbolic links are copied as links.
func CopyTree(src, dst string) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		target := filepath.Join(dst, rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			return os.MkdirAll(target, info.Mode().Perm()|0o700)
		case d.Type()&fs.ModeSymlink != 0:
			link, err := os.Readlink(path)
			if err != nil {
				return err
			}
			return os.Symlink(link, target)
		case !d.Type().IsRegular():
			return nil // sockets and pipes of a stopped server
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, info.Mode().Perm())
	})
}

// Replace rewrites a text file, replacing each old string with its new one.
func Replace(path string, oldNew ...string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	data = []byte(strings.NewReplacer(oldNew...).Replace(string(data)))
	return os.WriteFile(path, data, 0o600)
}

// Process is a server started by a test binary. It runs in its own
// process group and is killed if the test binary dies first, so that no
// server outlives its tests.
type Process struct {
	Name   string
	cmd    *exec.Cmd
	mu     sync.Mutex
	output bytes.Buffer
	done   chan struct{}
	stop   sync.Once
}

// Start runs name with args. Its output is kept for Log.
func Start(name string, args ...string) (*Process, error) {
	p := &Process{Name: filepath.Base(name), done: make(chan struct{})}
	started := make(chan error, 1)
	// The parent-death signal is tied to the thread that starts the
	// child: that thread stays locked, and alive, until the child ends.
	go func() {
		runtime.LockOSThread()
		p.cmd = exec.Command(name, args...)
		p.cmd.Stdout, p.cmd.Stderr = (*lockedWriter)(p), (*lockedWriter)(p)
		p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
		err := p.cmd.Start()
		started <- err
		if err == nil {
			_ = p.cmd.Wait()
		}
		close(p.done)
	}()
	if err := <-started; err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	return p, nil
}

type lockedWriter Process

func (w *lockedWriter) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.output.Len() < 1<<20 {
		w.output.Write(b)
	}
	return len(b), nil
}

// Log returns what the process wrote so far (at most 1 MiB).
func (p *Process) Log() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.output.String()
}

// Exited reports whether the process has ended.
func (p *Process) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Stop ends the process group: SIGTERM, then SIGKILL after grace.
func (p *Process) Stop(grace time.Duration) {
	p.stop.Do(func() {
		pgid := p.cmd.Process.Pid
		_ = syscall.Kill(-pgid, syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(grace):
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
			<-p.done
		}
	})
}

// WaitFor polls ready until it returns nil, the process ends or timeout
// passes.
func (p *Process) WaitFor(timeout time.Duration, ready func() error) error {
	deadline := time.Now().Add(timeout)
	for {
		err := ready()
		switch {
		case err == nil:
			return nil
		case p.Exited():
			return fmt.Errorf("%s exited: %v\n%s", p.Name, err, p.Log())
		case time.Now().After(deadline):
			return fmt.Errorf("%s not ready after %v: %v\n%s", p.Name, timeout, err, p.Log())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Run runs a command to its end and returns an error holding its output
// when it fails.
func Run(name string, args ...string) error {
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %w\n%s", filepath.Base(name), strings.Join(args, " "), err, out)
	}
	return nil
}

// LeaseLoopback returns a loopback address 127.0.0.N (N from 2) that no
// other process holding a lease uses, for servers whose ports cannot be
// chosen (Samba's LDAP listens on 389, 636, 3268 and 3269). The lease
// lasts until the process ends. check tells whether the address is free
// of other listeners too.
func LeaseLoopback(check func(ip string) error) (string, error) {
	dir := filepath.Join(os.TempDir(), "syncd-tests-loopback")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	var last error
	for n := 2; n < 255; n++ {
		ip := fmt.Sprintf("127.0.0.%d", n)
		unlock, err := lock(filepath.Join(dir, ip+".lock"), false)
		if err != nil {
			continue // leased by another process
		}
		if err := check(ip); err != nil {
			unlock()
			last = err
			continue
		}
		leasesMu.Lock()
		leases = append(leases, unlock) // held, and its file kept open, until the process ends
		leasesMu.Unlock()
		return ip, nil
	}
	return "", errors.Join(errors.New("no free loopback address"), last)
}

var (
	leasesMu sync.Mutex
	leases   []func()
)

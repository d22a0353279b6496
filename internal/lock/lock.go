// Package lock makes sure only one syncd writes to a Teams site at a time.
//
// Two runs applying to the same site at once both plan from the same
// listing, so both create the groups that are missing (and the API cannot
// delete a group), and both send the same additions. So an applying run
// holds a writer lock, keyed by the site, for the whole run: its plan must
// not be made before the other's writes are done. Dry runs take none.
//
// The lock is an flock(2) on a small file, which the kernel releases when
// the process dies, even by kill -9, so a crash never leaves it stuck. The
// same lock is taken in two places, in this order:
//
//   - a machine-wide runtime dir ($XDG_RUNTIME_DIR/syncd, else /run/syncd,
//     else the temp dir), so that runs with different state dirs, or none,
//     still take turns;
//   - the state dir, when there is one, because a sandboxed service
//     (systemd's PrivateTmp, ProtectSystem) and a shell beside it share
//     only that.
//
// Always taking them in that order means two runs can never hold one each
// and wait for the other. The file holds who has the lock (pid, command,
// since), for the message of whoever waits.
package lock

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/syncd/syncd/internal/backoff"
)

// Holder is who holds a writer lock.
type Holder struct {
	PID     int       `json:"pid"`
	Command string    `json:"command"` // e.g. "sync --apply"
	Since   time.Time `json:"since"`
	Target  string    `json:"target"` // the Teams site, as shown to people
}

func (h Holder) String() string {
	if h.PID == 0 {
		return "another syncd"
	}
	return fmt.Sprintf("syncd (pid %d, %s since %s)", h.PID, h.Command, h.Since.UTC().Format(time.RFC3339))
}

// BusyError is a lock still held when the wait ended.
type BusyError struct {
	Holder Holder
	Target string
	Waited time.Duration
	Err    error // the context's error when the wait was interrupted
}

func (e *BusyError) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("stopped waiting for %s to finish writing to %s: %v", e.Holder, e.Target, e.Err)
	}
	return fmt.Sprintf("gave up after %s waiting for %s to finish writing to %s", e.Waited.Round(time.Second), e.Holder, e.Target)
}

func (e *BusyError) Unwrap() error { return e.Err }

// Options say what to lock and how long to wait.
type Options struct {
	Target     string // teams.url
	Shown      string // how messages and the holder's record name it; "" means Display(Target)
	StateDir   string // "" when there is none
	RuntimeDir string // "" means RuntimeDir(os.Getenv)
	Command    string // what this process is doing, for the holder's record
	Wait       time.Duration
	// OnWait is called once, when the lock is found taken, with who holds it.
	OnWait func(Holder)
	// Created, when set, is called with each lock file this process
	// creates (e.g. to give it the state dir's owner).
	Created func(path string)
	Now     func() time.Time // default time.Now
}

// Writer is a held writer lock.
type Writer struct {
	files []*os.File
}

// Acquire takes the writer lock for o.Target, waiting up to o.Wait (and
// no longer than ctx) for whoever holds it. A lock still taken at the end
// gives a *BusyError naming the holder.
func Acquire(ctx context.Context, o Options) (*Writer, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.RuntimeDir == "" {
		o.RuntimeDir = RuntimeDir(os.Getenv)
	}
	if o.Shown == "" {
		o.Shown = Display(o.Target)
	}
	key := Key(o.Target)
	me := Holder{PID: os.Getpid(), Command: o.Command, Since: o.Now().UTC(), Target: o.Shown}
	dirs := []string{o.RuntimeDir}
	if o.StateDir != "" {
		dirs = append(dirs, o.StateDir)
	}
	w := &Writer{}
	deadline := o.Now().Add(o.Wait)
	for _, dir := range dirs {
		f, err := w.take(ctx, filepath.Join(dir, "writer-"+key+".lock"), me, deadline, o)
		if err != nil {
			w.Release()
			return nil, err
		}
		w.files = append(w.files, f)
	}
	return w, nil
}

// take locks one file, polling until deadline.
func (w *Writer) take(ctx context.Context, name string, me Holder, deadline time.Time, o Options) (*os.File, error) {
	_, statErr := os.Lstat(name)
	f, err := openLockFile(name)
	if err != nil {
		return nil, fmt.Errorf("writer lock: %w", err)
	}
	if errors.Is(statErr, os.ErrNotExist) && o.Created != nil {
		o.Created(name)
	}
	start := o.Now()
	told := false
	for attempt := 0; ; attempt++ {
		ok, err := tryLock(f)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("writer lock %s: %w", name, err)
		}
		if ok {
			record(f, me)
			return f, nil
		}
		holder := readHolder(name)
		if !told && o.OnWait != nil {
			o.OnWait(holder)
			told = true
		}
		left := deadline.Sub(o.Now())
		if left <= 0 {
			f.Close()
			return nil, &BusyError{Holder: holder, Target: me.Target, Waited: o.Now().Sub(start)}
		}
		t := time.NewTimer(min(pollWait.Wait(attempt), left))
		select {
		case <-ctx.Done():
			t.Stop()
			f.Close()
			return nil, &BusyError{Holder: holder, Target: me.Target, Waited: o.Now().Sub(start), Err: ctx.Err()}
		case <-t.C:
		}
	}
}

// pollWait spaces the tries at a lock that is held: soon at first, for a
// short write, then once a second.
var pollWait = backoff.Exponential{Base: 50 * time.Millisecond, Cap: time.Second}

// Release gives the lock up (closing the files releases the flocks). The
// files stay: removing a lock file while another process waits on it would
// let a third one lock a new file beside it.
func (w *Writer) Release() {
	if w == nil {
		return
	}
	for i := len(w.files) - 1; i >= 0; i-- {
		f := w.files[i]
		_ = f.Truncate(0)
		_ = f.Close()
	}
	w.files = nil
}

func openLockFile(name string) (*os.File, error) {
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|noFollow, 0o644)
	if errors.Is(err, os.ErrPermission) {
		// Someone else's lock file: a shared flock needs no write access.
		f, err = os.OpenFile(name, os.O_RDONLY|noFollow, 0)
	}
	return f, err
}

func record(f *os.File, h Holder) {
	data, _ := json.Marshal(h)
	if err := f.Truncate(0); err != nil {
		return // read-only: the waiting side says "another syncd"
	}
	_, _ = f.WriteAt(append(data, '\n'), 0)
}

func readHolder(name string) Holder {
	var h Holder
	if data, err := os.ReadFile(name); err == nil {
		_ = json.Unmarshal(data, &h)
	}
	return h
}

// RuntimeDir is the machine-wide dir for writer locks: $XDG_RUNTIME_DIR/syncd,
// else /run/syncd, else syncd-locks in the temp dir; the first that can be
// created and written.
func RuntimeDir(getenv func(string) string) string {
	var candidates []string
	if x := getenv("XDG_RUNTIME_DIR"); x != "" {
		candidates = append(candidates, filepath.Join(x, "syncd"))
	}
	candidates = append(candidates, "/run/syncd")
	for _, dir := range candidates {
		if writable(dir) {
			return dir
		}
	}
	return filepath.Join(os.TempDir(), "syncd-locks")
}

func writable(dir string) bool {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return false
	}
	f, err := os.CreateTemp(dir, ".probe-*")
	if err != nil {
		return false
	}
	f.Close()
	os.Remove(f.Name())
	return true
}

// Key names a Teams site for its lock: a hash of teams.url with the
// scheme and host in lower case, the default port, the query, fragment
// and user info dropped, and the path cleaned, so spellings of one site
// share a lock (and the file name gives nothing away).
func Key(teamsURL string) string {
	sum := sha256.Sum256([]byte(normalise(teamsURL)))
	return hex.EncodeToString(sum[:8])
}

func normalise(raw string) string {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || u.Host == "" {
		return strings.TrimRight(strings.TrimSpace(raw), "/")
	}
	scheme, host := strings.ToLower(u.Scheme), strings.ToLower(u.Hostname())
	port := u.Port()
	if (scheme == "https" && port == "443") || (scheme == "http" && port == "80") {
		port = ""
	}
	if port != "" {
		host += ":" + port
	}
	p := strings.TrimRight(path.Clean("/"+u.Path), "/")
	return scheme + "://" + host + p
}

// Display is teams.url as shown in messages: without user info, query or
// fragment, where a secret could hide.
func Display(teamsURL string) string {
	u, err := url.Parse(strings.TrimSpace(teamsURL))
	if err != nil || u.Host == "" {
		if i := strings.IndexAny(teamsURL, "?#"); i >= 0 {
			return teamsURL[:i]
		}
		return teamsURL
	}
	u.User, u.RawQuery, u.Fragment, u.RawFragment = nil, "", "", ""
	return u.String()
}

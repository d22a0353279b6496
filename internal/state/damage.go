package state

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// Why a damaged file is an error and never a fresh start: the state holds
// what syncd cannot learn again from Teams (who it added in managed mode,
// the last known size of every directory group, what the SCIM receiver
// acknowledged). Starting over silently would turn those safety nets off,
// so a file that is not sound stops the run with a clear way out
// (--reset-state), and only a file that does not exist is new.
//
// bbolt trusts its file: a garbage page makes it panic (often), read past
// the mapping (a fatal fault unless the goroutine asked for a panic
// instead) or, with a truncated file, read past the end of the file
// (SIGBUS). So every use of a bbolt file goes through protect, and opening
// one checks it end to end first: the file covers every page the meta page
// counts, every key and value can be read, every value is JSON where the
// store writes JSON, and bbolt's own consistency check passes.

// DamagedError is a state file that cannot be trusted: zero-length,
// truncated, corrupt, or gone while syncd used it.
type DamagedError struct {
	Path   string
	Reason string
	Err    error // the underlying error, if any
}

func (e *DamagedError) Error() string {
	return fmt.Sprintf("state file %s is damaged (%s); to start with fresh state, run syncd sync, apply or run with --reset-state: it moves the file aside as %s.damaged-TIME (kept, never deleted)",
		e.Path, e.Reason, filepath.Base(e.Path))
}

func (e *DamagedError) Unwrap() error { return e.Err }

// IsDamaged reports whether err is (or wraps) a *DamagedError.
func IsDamaged(err error) bool {
	var d *DamagedError
	return errors.As(err, &d)
}

// LockedError is a state file another process kept locked for longer than
// the wait allowed.
type LockedError struct {
	Path string
	Wait time.Duration
}

func (e *LockedError) Error() string {
	return fmt.Sprintf("state file %s stayed locked by another process for %s", e.Path, e.Wait)
}

// lockTimeout bounds the wait for bbolt's file lock. Other processes hold
// it for one transaction (or, opening a file, for its check).
var lockTimeout = 30 * time.Second

// protect runs fn, turning a panic or a memory fault inside bbolt into a
// DamagedError for path.
func protect(path string, fn func() error) (err error) {
	old := debug.SetPanicOnFault(true)
	defer debug.SetPanicOnFault(old)
	defer func() {
		if p := recover(); p != nil {
			err = &DamagedError{Path: path, Reason: fmt.Sprintf("reading it failed: %v", p)}
		}
	}()
	return fn()
}

// mmapHeadroom is the mapping a write transaction opens the file with:
// twice its size. bbolt maps a file at its own size, rounded up to a power
// of two, and grows files to that mapping; a transaction that then needs a
// page past the end maps the file again, first copying every node it has
// read out of the old mapping. One transaction per write, each on a file
// opened afresh, made that remap most transactions' largest cost (a cold
// run of 13,000 writes: 0.6 s of CPU and 240 MB allocated). The mapping
// is address space, not memory: only the pages touched are read in.
func mmapHeadroom(size int64) int {
	const least = 32 << 20
	return int(max(2*size, least))
}

// growStep is how much bbolt adds to the file when a transaction needs
// more: as much as the file holds, from 1 MiB up to bbolt's own 16 MiB.
// bbolt grows a file mapped beyond 16 MiB by 16 MiB at a time, and with
// the headroom above every file is: a state file of a few hundred KiB
// would have become 16 MiB long at its first growth.
func growStep(size int64) int {
	return int(min(max(size, 1<<20), 16<<20))
}

// OpenBolt opens the bbolt file at path for one use, never creating it
// unless create is set: a missing file after the store was opened means it
// was removed under syncd. A zero-length file is damaged, not new. The
// caller must Close the DB, and should run its transactions inside Protect.
func OpenBolt(path string, readOnly, create bool) (*bolt.DB, error) {
	st, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist) && create && !readOnly:
	case errors.Is(err, fs.ErrNotExist):
		return nil, &DamagedError{Path: path, Reason: "the file is missing; it was removed while syncd used it", Err: err}
	case err != nil:
		return nil, err
	case !st.Mode().IsRegular():
		return nil, &DamagedError{Path: path, Reason: "it is not a regular file"}
	case st.Size() == 0:
		return nil, &DamagedError{Path: path, Reason: "the file is empty (zero length)"}
	case st.Size() < int64(2*os.Getpagesize()):
		return nil, &DamagedError{Path: path, Reason: fmt.Sprintf("truncated: %d bytes, shorter than its two meta pages", st.Size())}
	}
	// bbolt can panic inside Open (a garbage freelist page) after it took
	// the file lock; keeping the file lets a failed open release it.
	var file *os.File
	openFile := func(name string, flag int, perm os.FileMode) (*os.File, error) {
		f, err := os.OpenFile(name, flag, perm)
		file = f
		return f, err
	}
	opts := &bolt.Options{Timeout: lockTimeout, ReadOnly: readOnly, PreLoadFreelist: true, OpenFile: openFile}
	if !readOnly && st != nil && runtime.GOOS != "windows" {
		// On Windows bbolt makes the file as long as its mapping: the
		// headroom would double the file at every write.
		opts.InitialMmapSize = mmapHeadroom(st.Size())
	}
	var db *bolt.DB
	err = protect(path, func() error {
		var err error
		// The freelist is loaded here, where a fault is caught, rather
		// than later by bbolt's own check on a goroutine of its own.
		db, err = bolt.Open(path, 0o600, opts)
		return err
	})
	if IsDamaged(err) && file != nil {
		unlock(file)
		_ = file.Close()
	}
	switch {
	case err == nil:
		if !readOnly && st != nil {
			db.AllocSize = growStep(st.Size())
		}
		return db, nil
	case errors.Is(err, bolterrors.ErrTimeout):
		return nil, &LockedError{Path: path, Wait: lockTimeout}
	case IsDamaged(err):
		return nil, err
	case errors.Is(err, bolterrors.ErrInvalid), errors.Is(err, bolterrors.ErrChecksum),
		errors.Is(err, bolterrors.ErrVersionMismatch), errors.Is(err, bolterrors.ErrInvalidMapping),
		strings.Contains(err.Error(), "file size too small"): // bbolt has no error value for it
		return nil, &DamagedError{Path: path, Reason: err.Error(), Err: err}
	}
	var pe *fs.PathError
	if errors.As(err, &pe) && pe.Path == path {
		return nil, err // it names the file already
	}
	return nil, fmt.Errorf("open %s: %w", path, err)
}

// Protect runs fn (transactions on a DB from OpenBolt) so that a panic or
// fault inside bbolt becomes a DamagedError for path.
func Protect(path string, fn func() error) error { return protect(path, fn) }

// Check verifies an open bbolt file end to end (see the comment at the top
// of this file). jsonBuckets names the top-level buckets whose values must
// all be JSON; a nested bucket counts as its parent.
func Check(path string, db *bolt.DB, jsonBuckets ...string) error {
	return protect(path, func() error {
		return db.View(func(tx *bolt.Tx) error { return checkTx(path, tx, jsonBuckets) })
	})
}

func checkTx(path string, tx *bolt.Tx, jsonBuckets []string) error {
	damaged := func(format string, args ...any) error {
		return &DamagedError{Path: path, Reason: fmt.Sprintf(format, args...)}
	}
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	if st.Size() < tx.Size() {
		return damaged("truncated: %d bytes, the database needs %d", st.Size(), tx.Size())
	}
	// Walk first, on this goroutine: a fault here is caught by protect,
	// while bbolt's Check runs its walk on a goroutine of its own.
	err = tx.ForEach(func(name []byte, b *bolt.Bucket) error {
		return walk(b, slices.Contains(jsonBuckets, string(name)))
	})
	if err != nil {
		return damaged("%v", err)
	}
	var problems []string
	for err := range tx.Check() {
		if len(problems) < 3 {
			problems = append(problems, err.Error())
		}
	}
	if len(problems) > 0 {
		return damaged("consistency check: %s", strings.Join(problems, "; "))
	}
	return nil
}

// walk reads every key and value under b.
func walk(b *bolt.Bucket, wantJSON bool) error {
	return b.ForEach(func(k, v []byte) error {
		if v == nil {
			nested := b.Bucket(k)
			if nested == nil {
				return fmt.Errorf("key %q has no value and is not a bucket", k)
			}
			if sum := nested.Get(keptSum); sum != nil {
				return checkKept(k, nested, sum)
			}
			return walk(nested, wantJSON)
		}
		if wantJSON && !json.Valid(v) {
			return fmt.Errorf("the value of key %q is not what syncd wrote", k)
		}
		return nil
	})
}

// checkKept checks a value kept in a bucket of its own (kv.keep) by its
// sum, and that the bucket holds nothing else.
func checkKept(k []byte, b *bolt.Bucket, sum []byte) error {
	if v := b.Get(keptValue); v == nil || !bytes.Equal(keptSumOf(v), sum) {
		return fmt.Errorf("the value kept under key %q is not what syncd wrote", k)
	}
	return b.ForEach(func(key, _ []byte) error {
		if !bytes.Equal(key, keptValue) && !bytes.Equal(key, keptSum) {
			return fmt.Errorf("the bucket of key %q holds %q, which syncd never wrote", k, key)
		}
		return nil
	})
}

// Moved is a damaged state file moved aside by Reset.
type Moved struct {
	From, To string
	Reason   string
}

// MoveAside renames a damaged file to PATH.damaged-TIME (never deleting it)
// and returns the new name.
func MoveAside(path string, now time.Time) (string, error) {
	base := path + ".damaged-" + now.UTC().Format("20060102T150405Z")
	to := base
	for i := 2; ; i++ {
		if _, err := os.Lstat(to); errors.Is(err, fs.ErrNotExist) {
			break
		}
		to = fmt.Sprintf("%s-%d", base, i)
	}
	if err := os.Rename(path, to); err != nil {
		return "", fmt.Errorf("move %s aside: %w", path, err)
	}
	if err := syncDir(filepath.Dir(path)); err != nil {
		return "", err
	}
	return to, nil
}

// CheckFile checks a state file without changing it: nil when it does not
// exist or is sound, a *DamagedError when it is damaged, another error
// when it cannot be read (permissions, lock).
func CheckFile(path string, jsonBuckets ...string) error {
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	db, err := OpenBolt(path, true, false)
	if err != nil {
		return err
	}
	defer db.Close()
	return Check(path, db, jsonBuckets...)
}

// Reset moves aside every damaged state file in dir: the store's file and
// the SCIM receivers' (scim-*.db). Sound files are left alone. It is what
// --reset-state does before anything opens the state.
func Reset(dir string, now time.Time) ([]Moved, error) {
	files := []string{filepath.Join(dir, FileName)}
	scim, err := filepath.Glob(filepath.Join(dir, "scim-*.db"))
	if err != nil {
		return nil, err
	}
	files = append(files, scim...)
	var moved []Moved
	for _, f := range files {
		var buckets []string
		if filepath.Base(f) == FileName {
			buckets = jsonBucketNames()
		}
		err := CheckFile(f, buckets...)
		var d *DamagedError
		if !errors.As(err, &d) {
			if err != nil {
				return moved, err
			}
			continue
		}
		to, err := MoveAside(f, now)
		if err != nil {
			return moved, err
		}
		moved = append(moved, Moved{From: f, To: to, Reason: d.Reason})
	}
	return moved, nil
}

// OpenDir opens the store under dir, in memory when dir is empty (syncd
// works without a state dir, more slowly). With reset it first moves the
// damaged files aside (Reset) and returns what it moved, even when it
// then fails, for the caller to tell.
func OpenDir(dir string, reset bool, now time.Time) (*Store, []Moved, error) {
	if dir == "" {
		return Memory(), nil, nil
	}
	var moved []Moved
	if reset {
		var err error
		if moved, err = Reset(dir, now); err != nil {
			return nil, moved, fmt.Errorf("--reset-state: %w", err)
		}
	}
	s, err := Open(dir)
	return s, moved, err
}

// syncDir makes a rename or a new file in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, os.ErrInvalid) {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}

// Package state is syncd's memory between runs: the e-mail -> Teams user id
// cache and its negative twin, tag ids, the membership ledger of managed
// mode, the last known sizes of directory groups, run history and recent
// reports, and the journal of writes under way. It lives in one bbolt file
// under sync.state_dir, opened per transaction, beside the audit log
// (audit.jsonl); without a state dir an in-memory store (or a nil *Store)
// keeps syncd working, only slower because every run starts cold, and
// without an audit log.
//
// A state file that is not sound is never started over silently: see
// damage.go. How a write is recorded before the next one is sent: see
// journal.go.
package state

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	gosync "sync"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// FileName is the store's file inside the state dir.
const FileName = "syncd.db"

// Buckets.
var (
	bucketUsers   = []byte("users")   // e-mail -> User
	bucketPending = []byte("pending") // e-mail -> time the address may be asked again
	bucketTags    = []byte("tags")    // lower-case tag name -> id
	bucketLedger  = []byte("ledger")  // ledger key -> []int ids syncd added
	bucketSizes   = []byte("sizes")   // directory group key -> member count
	bucketRuns    = []byte("runs")    // RFC3339Nano start -> Run
	bucketReports = []byte("reports") // RFC3339Nano start -> report JSON (as syncd before kept them)
	// RFC3339Nano start -> a bucket holding the report JSON (records.go)
	bucketReportBuckets = []byte("report-buckets")
	bucketMeta          = []byte("meta")      // misc counters
	bucketJournal       = []byte("journal")   // target + write sequence -> journalEntry (writes under way)
	bucketAdopt         = []byte("adopt")     // lower-case group name -> ids a create whose answer was lost added
	bucketGroupIDs      = []byte("group-ids") // lower-case Teams group name -> the id of the group that carried it
	allBuckets          = [][]byte{bucketUsers, bucketPending, bucketTags, bucketLedger, bucketSizes, bucketRuns,
		bucketReports, bucketReportBuckets, bucketMeta, bucketJournal, bucketAdopt, bucketApprovals, bucketGroupIDs}
)

// jsonBucketNames are the buckets whose every value is JSON (all of them:
// sizes are decimal numbers), which the check on open verifies.
func jsonBucketNames() []string {
	names := make([]string, len(allBuckets))
	for i, b := range allBuckets {
		names[i] = string(b)
	}
	return names
}

// How many runs and reports are kept.
const (
	KeepRuns    = 200
	KeepReports = 20
)

// Why the file is opened per transaction instead of for the life of the
// process: bbolt locks its file for as long as it is open, and a daemon
// holding it made every command an operator runs beside it (a dry run,
// explain, an apply with a raised budget) fail after a timeout. Opened per
// transaction, the lock is held for one short transaction; other
// processes wait at most that long. Opening costs a stat, an open, an mmap
// and reading the meta page (well under a millisecond); the fsyncs of a
// commit cost more, and were paid before too.

// Store is the state. Every method is safe on a nil *Store: reads find
// nothing and writes are dropped. Its methods are safe for concurrent use.
type Store struct {
	path string // the bbolt file; "" for an in-memory store
	dir  string

	txmu gosync.RWMutex // in this process: many readers or one writer
	mu   gosync.Mutex   // guards mem
	mem  map[string]map[string][]byte

	errmu gosync.Mutex
	err   error // the first failed transaction since TakeErr

	readOnly  bool // OpenReadOnly: nothing is written
	noReports bool // KeepNoReports: AddReport keeps nothing
}

// Open opens the store in dir, creating dir and the file if needed. A file
// that exists is checked end to end first: a damaged one gives a
// *DamagedError, never a fresh store. The file is not kept open.
func Open(dir string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("state dir: %w", err)
	}
	path := filepath.Join(dir, FileName)
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		if err := CreateFile(path, allBuckets...); err != nil {
			return nil, fmt.Errorf("create state: %w", err)
		}
	}
	db, err := openChecked(path, false)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	err = protect(path, func() error {
		return db.Update(func(tx *bolt.Tx) error {
			for _, b := range allBuckets {
				if _, err := tx.CreateBucketIfNotExists(b); err != nil {
					return err
				}
			}
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("init state %s: %w", path, err)
	}
	return &Store{path: path, dir: dir}, nil
}

// ErrReadOnly is what recording a write, an approval or a recovery gives
// on a store opened with OpenReadOnly.
var ErrReadOnly = errors.New("the state dir is open for reading only")

// OpenReadOnly opens the store in dir for reading only: for the commands
// that only read it (history, approve --list), and for a dry run by
// someone who may read the state dir but not write it (another user's
// files, a read-only mount). A missing or damaged file is an error, as
// for Open. Reads are those of Open. What a run remembers (the cache, the
// run history, kept reports, group sizes) is not kept, as on a nil store;
// whatever records a write to Teams, an approval or a recovery fails with
// ErrReadOnly, so that nothing is sent unrecorded.
func OpenReadOnly(dir string) (*Store, error) {
	path := filepath.Join(dir, FileName)
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("open state: %w", err)
	}
	db, err := openChecked(path, true)
	if err != nil {
		return nil, err
	}
	db.Close()
	return &Store{path: path, dir: dir, readOnly: true}, nil
}

// openChecked opens the state file at path and checks it end to end.
func openChecked(path string, readOnly bool) (*bolt.DB, error) {
	db, err := OpenBolt(path, readOnly, false)
	if err != nil {
		return nil, fmt.Errorf("open state: %w", err)
	}
	if err := Check(path, db, jsonBucketNames()...); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// ReadOnly tells whether the store was opened with OpenReadOnly.
func (s *Store) ReadOnly() bool { return s != nil && s.readOnly }

// CreateFile makes a new bbolt file at path holding the empty buckets,
// atomically: it is written whole under a temporary name and linked into
// place, so another process never sees it half made (an empty file is
// damage, not a store being born). If another process created it first,
// theirs is kept. The state store and the SCIM receivers' stores are made
// with it.
func CreateFile(path string, buckets ...[]byte) error {
	tmp := fmt.Sprintf("%s.new-%d", path, os.Getpid())
	_ = os.Remove(tmp) // left by a crash of a process with our pid
	db, err := bolt.Open(tmp, 0o600, &bolt.Options{Timeout: lockTimeout})
	if err != nil {
		return err
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range buckets {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	defer os.Remove(tmp)
	if err != nil {
		return err
	}
	if err := os.Link(tmp, path); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	if err := syncDir(filepath.Dir(path)); err != nil {
		return err
	}
	OwnLikeDir(path)
	return nil
}

// Memory returns a store that lives as long as the process.
func Memory() *Store { return &Store{mem: map[string]map[string][]byte{}} }

// Close releases nothing: the file is open only during transactions.
func (s *Store) Close() error { return nil }

// Persistent reports whether the store survives the process.
func (s *Store) Persistent() bool { return s != nil && s.path != "" }

// Dir is the state dir, "" for an in-memory store.
func (s *Store) Dir() string {
	if s == nil {
		return ""
	}
	return s.dir
}

// Err returns the first transaction that failed since the last TakeErr: a
// full disk, a read-only, locked or damaged file. Reads that fail find
// nothing, and writes that fail are often only logged where they happen;
// a run checks Err before it writes to Teams (what it planned may rest on
// a read that failed) and at its end, to fail rather than go on without
// the memory it believes it kept.
func (s *Store) Err() error {
	if s == nil {
		return nil
	}
	s.errmu.Lock()
	defer s.errmu.Unlock()
	return s.err
}

// TakeErr returns Err and forgets it: a daemon calls it before each run.
func (s *Store) TakeErr() error {
	if s == nil {
		return nil
	}
	s.errmu.Lock()
	defer s.errmu.Unlock()
	err := s.err
	s.err = nil
	return err
}

func (s *Store) noteErr(err error) error {
	if err != nil {
		s.errmu.Lock()
		if s.err == nil {
			s.err = err
		}
		s.errmu.Unlock()
	}
	return err
}

// kv is the tiny key/value layer both backends share.
type kv interface {
	get(bucket []byte, key string) []byte
	put(bucket []byte, key string, val []byte) error
	// keep is put for a large value the caller hands over and never
	// touches again: the in-memory store keeps it as it is instead of
	// copying it, bbolt in a bucket of its own (each then sees it as nil;
	// get reads it).
	keep(bucket []byte, key string, val []byte) error
	del(bucket []byte, key string) error
	// each calls fn for every key of the bucket, in order; val is valid
	// only during the call (bbolt's memory map): a value kept must be
	// copied, and none is copied that is not kept (a report can be tens
	// of megabytes).
	each(bucket []byte, fn func(key string, val []byte))
	// some calls fn for each of keys (sorted) that the bucket holds; val
	// is valid only during the call.
	some(bucket []byte, keys []string, fn func(key string, val []byte))
}

// view runs fn in a read transaction; nil store: fn is not called.
func (s *Store) view(fn func(kv) error) error { return s.noteErr(s.tx(false, fn)) }

// update runs fn in one write transaction (one fsync for a whole batch).
// A read-only store refuses it.
func (s *Store) update(fn func(kv) error) error {
	if s.ReadOnly() {
		return ErrReadOnly
	}
	return s.noteErr(s.tx(true, fn))
}

// remember is update for what the store remembers between runs and can
// do without (the cache, the run history, kept reports, sizes): a
// read-only store keeps none of it, as a nil store keeps nothing.
func (s *Store) remember(fn func(kv) error) error {
	if s.ReadOnly() {
		return nil
	}
	return s.update(fn)
}

func (s *Store) tx(write bool, fn func(kv) error) error {
	switch {
	case s == nil:
		return nil
	case s.path != "":
		return s.boltTx(write, fn)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return fn(memKV{s.mem})
}

func (s *Store) boltTx(write bool, fn func(kv) error) error {
	if write {
		s.txmu.Lock()
		defer s.txmu.Unlock()
	} else {
		s.txmu.RLock()
		defer s.txmu.RUnlock()
	}
	db, err := OpenBolt(s.path, !write, false)
	if err != nil {
		return err
	}
	err = protect(s.path, func() error {
		run := db.View
		if write {
			run = db.Update
		}
		return run(func(tx *bolt.Tx) error { return fn(boltKV{tx}) })
	})
	if cerr := db.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("close %s: %w", s.path, cerr)
	}
	return err
}

type boltKV struct{ tx *bolt.Tx }

func (b boltKV) get(bucket []byte, key string) []byte {
	bk := b.tx.Bucket(bucket)
	if bk == nil {
		return nil
	}
	v := bk.Get([]byte(key))
	if v == nil {
		if own := bk.Bucket([]byte(key)); own != nil {
			v = own.Get(keptValue)
		}
	}
	return bytes.Clone(v)
}

func (b boltKV) put(bucket []byte, key string, val []byte) error {
	return b.tx.Bucket(bucket).Put([]byte(key), val)
}

// keptValue and keptSum are the keys of the bucket keep makes for a
// value: the value, and its CRC-32C as a decimal number. The check on
// open compares the sum instead of parsing the value as JSON: a kept
// report can be tens of megabytes, and every command opens the state
// (parsing took 0.25 s per 67 MB report, summing takes milliseconds).
var (
	keptValue = []byte("value")
	keptSum   = []byte("crc32c")
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// keptSumOf is what keep stores under keptSum for val.
func keptSumOf(val []byte) []byte {
	return strconv.AppendUint(nil, uint64(crc32.Checksum(val, castagnoli)), 10)
}

// keep stores a value in a bucket of its own, under key: bbolt rewrites a
// leaf whole when one of its keys changes, so a report of tens of
// megabytes stored as a plain value beside the next run's was copied and
// written again by the runs after it. In its own bucket, adding or
// deleting another key never touches it. get reads both forms.
func (b boltKV) keep(bucket []byte, key string, val []byte) error {
	bk := b.tx.Bucket(bucket)
	if err := b.del(bucket, key); err != nil {
		return err
	}
	own, err := bk.CreateBucket([]byte(key))
	if err != nil {
		return err
	}
	if err := own.Put(keptSum, keptSumOf(val)); err != nil {
		return err
	}
	return own.Put(keptValue, val)
}

// del deletes a key, a plain value or a value kept in its own bucket
// (which bbolt refuses to Delete): the plain value, deleted by the
// thousand in one transaction, costs one seek.
func (b boltKV) del(bucket []byte, key string) error {
	bk := b.tx.Bucket(bucket)
	err := bk.Delete([]byte(key))
	if errors.Is(err, bolterrors.ErrIncompatibleValue) {
		return bk.DeleteBucket([]byte(key))
	}
	return err
}

func (b boltKV) each(bucket []byte, fn func(string, []byte)) {
	bk := b.tx.Bucket(bucket)
	if bk == nil {
		return
	}
	_ = bk.ForEach(func(k, v []byte) error {
		fn(string(k), v)
		return nil
	})
}

// some walks one cursor along the sorted keys and the bucket together,
// stepping to the next key when it is near and seeking it when it is
// not: a lookup per key would descend the tree from its root each time,
// with a cursor of its own (100,000 cached users were read that way
// every run).
func (b boltKV) some(bucket []byte, keys []string, fn func(string, []byte)) {
	bk := b.tx.Bucket(bucket)
	if bk == nil || len(keys) == 0 {
		return
	}
	const near = 8 // steps before a seek is cheaper
	c := bk.Cursor()
	k, v := c.Seek([]byte(keys[0]))
	for _, key := range keys {
		for steps := 0; k != nil && string(k) < key; steps++ {
			if steps == near {
				k, v = c.Seek([]byte(key))
				break
			}
			k, v = c.Next()
		}
		if k == nil {
			return
		}
		if string(k) == key {
			fn(key, v)
		}
	}
}

type memKV struct{ m map[string]map[string][]byte }

func (m memKV) some(bucket []byte, keys []string, fn func(string, []byte)) {
	b := m.m[string(bucket)]
	for _, key := range keys {
		if v, ok := b[key]; ok {
			fn(key, v)
		}
	}
}

func (m memKV) get(bucket []byte, key string) []byte { return m.m[string(bucket)][key] }

func (m memKV) put(bucket []byte, key string, val []byte) error {
	b := m.m[string(bucket)]
	if b == nil {
		b = map[string][]byte{}
		m.m[string(bucket)] = b
	}
	b[key] = bytes.Clone(val)
	return nil
}

// keep stores val without a copy: a cold run's report is tens of MB, and
// the daemon without a state dir keeps twenty.
func (m memKV) keep(bucket []byte, key string, val []byte) error {
	if err := m.put(bucket, key, nil); err != nil {
		return err
	}
	m.m[string(bucket)][key] = val
	return nil
}

func (m memKV) del(bucket []byte, key string) error {
	delete(m.m[string(bucket)], key)
	return nil
}

// each visits keys in order, as bbolt does.
func (m memKV) each(bucket []byte, fn func(string, []byte)) {
	b := m.m[string(bucket)]
	for _, k := range slices.Sorted(maps.Keys(b)) {
		fn(k, b[k])
	}
}

func getJSON(t kv, bucket []byte, key string, out any) bool {
	v := t.get(bucket, key)
	return v != nil && json.Unmarshal(v, out) == nil
}

func putJSON(t kv, bucket []byte, key string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return t.put(bucket, key, data)
}

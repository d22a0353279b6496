// Package state is syncd's memory between runs: the e-mail -> Teams user id
// cache and its negative twin, tag ids, the membership ledger of managed
// mode, the last known sizes of directory groups, run history and recent
// reports. It lives in one bbolt file under sync.state_dir; without a state
// dir an in-memory store (or a nil *Store) keeps syncd working, only slower
// because every run starts cold.
package state

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	gosync "sync"
	"time"

	bolt "go.etcd.io/bbolt"
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
	bucketReports = []byte("reports") // RFC3339Nano start -> report JSON
	bucketMeta    = []byte("meta")    // misc counters
	allBuckets    = [][]byte{bucketUsers, bucketPending, bucketTags, bucketLedger, bucketSizes, bucketRuns, bucketReports, bucketMeta}
)

// How many runs and reports are kept.
const (
	KeepRuns    = 200
	KeepReports = 20
)

// Store is the state. Every method is safe on a nil *Store: reads find
// nothing and writes are dropped.
type Store struct {
	db *bolt.DB // nil for an in-memory store

	mu  gosync.Mutex
	mem map[string]map[string][]byte
}

// Open opens (creating it if needed) the store in dir.
func Open(dir string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("state dir: %w", err)
	}
	path := filepath.Join(dir, FileName)
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 5 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("open state %s: %w (is another syncd using it?)", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range allBuckets {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("init state %s: %w", path, err)
	}
	return &Store{db: db}, nil
}

// Memory returns a store that lives as long as the process.
func Memory() *Store { return &Store{mem: map[string]map[string][]byte{}} }

// Close releases the file.
func (s *Store) Close() error {
	if s == nil || s.db == nil {
		return nil
	}
	return s.db.Close()
}

// Persistent reports whether the store survives the process.
func (s *Store) Persistent() bool { return s != nil && s.db != nil }

// kv is the tiny key/value layer both backends share.
type kv interface {
	get(bucket []byte, key string) []byte
	put(bucket []byte, key string, val []byte) error
	del(bucket []byte, key string) error
	each(bucket []byte, fn func(key string, val []byte))
}

// view runs fn in a read transaction; nil store: fn is not called.
func (s *Store) view(fn func(kv) error) error { return s.tx(false, fn) }

// update runs fn in one write transaction (one fsync for a whole batch).
func (s *Store) update(fn func(kv) error) error { return s.tx(true, fn) }

func (s *Store) tx(write bool, fn func(kv) error) error {
	switch {
	case s == nil:
		return nil
	case s.db != nil:
		run := s.db.View
		if write {
			run = s.db.Update
		}
		return run(func(tx *bolt.Tx) error { return fn(boltKV{tx}) })
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return fn(memKV{s.mem})
}

type boltKV struct{ tx *bolt.Tx }

func (b boltKV) get(bucket []byte, key string) []byte {
	v := b.tx.Bucket(bucket).Get([]byte(key))
	return bytes.Clone(v)
}

func (b boltKV) put(bucket []byte, key string, val []byte) error {
	return b.tx.Bucket(bucket).Put([]byte(key), val)
}

func (b boltKV) del(bucket []byte, key string) error {
	return b.tx.Bucket(bucket).Delete([]byte(key))
}

func (b boltKV) each(bucket []byte, fn func(string, []byte)) {
	_ = b.tx.Bucket(bucket).ForEach(func(k, v []byte) error {
		fn(string(k), bytes.Clone(v))
		return nil
	})
}

type memKV struct{ m map[string]map[string][]byte }

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

func (m memKV) del(bucket []byte, key string) error {
	delete(m.m[string(bucket)], key)
	return nil
}

// each visits keys in order, as bbolt does.
func (m memKV) each(bucket []byte, fn func(string, []byte)) {
	b := m.m[string(bucket)]
	keys := make([]string, 0, len(b))
	for k := range b {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
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

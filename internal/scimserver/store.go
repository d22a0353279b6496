package scimserver

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/syncd/syncd/internal/state"
)

// Why the store opens its bbolt file per write instead of holding it open:
// bbolt locks the file exclusively for as long as a writer has it open, so
// a daemon holding it would keep `syncd sync` and `syncd source dump` (other
// processes, opening it read-only) waiting forever. Opening per write keeps
// the lock for one short transaction; readers wait at most that long. The
// daemon serves reads from memory, loaded at open and kept in step with
// every committed write. A generation counter in the file catches writes by
// another process (there should be none): the store then reloads first.

// Kind is a resource type, also its bucket name.
type Kind string

// The resource types the receiver stores.
const (
	Users  Kind = "Users"
	Groups Kind = "Groups"
)

var (
	metaBucket = []byte("meta")
	// membersBucket holds one nested bucket per group, one key per member,
	// so a membership change writes a few bytes, not the whole group.
	membersBucket = []byte("GroupMembers")
	genKey        = []byte("generation")
	seqKey        = []byte("sequence")
	// changedKey holds when a change was last stored (Unix seconds): the
	// last push, for the metrics after a restart and for validate.
	changedKey = []byte("changed")
)

// record is one stored resource: the attributes as received (without id
// and meta, which the store owns) and the store's bookkeeping.
type record struct {
	ID       string    `json:"id"`
	Seq      uint64    `json:"seq"` // creation order: list order
	Created  time.Time `json:"created"`
	Modified time.Time `json:"modified"`
	Attrs    object    `json:"attrs"`
}

// Store holds one receiver's users and groups, durably in a bbolt file.
// Its methods are safe for concurrent use.
type Store struct {
	path    string
	mu      sync.RWMutex // guards gen, seq and data
	gen     uint64
	seq     uint64
	changed time.Time // zero: nothing ever stored
	data    map[Kind]map[string]*record

	qmu        sync.Mutex // guards queue and committing
	queue      []*pending
	committing bool
}

// StorePath is the bbolt file of the receiver named name under stateDir.
func StorePath(stateDir, name string) string {
	return filepath.Join(stateDir, "scim-"+safeName(name)+".db")
}

func safeName(name string) string {
	b := []byte(name)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			b[i] = '_'
		}
	}
	return string(b)
}

// OpenStore opens (creating if needed) the store file at path and loads it.
// A file that exists is checked end to end first: a damaged, truncated or
// empty one gives a *state.DamagedError (what the receiver acknowledged
// must never silently become nothing); only a missing file is new.
func OpenStore(path string) (*Store, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("scim store: %w", err)
	}
	s := &Store{path: path}
	buckets := [][]byte{metaBucket, []byte(Users), []byte(Groups), membersBucket}
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		// Made whole before it appears: a sync reading meanwhile finds no
		// store, never a half-made one it would call damaged.
		if err := state.CreateFile(path, buckets...); err != nil {
			return nil, fmt.Errorf("scim store %s: %w", path, err)
		}
	}
	err := s.open(false, false, func(db *bolt.DB) error {
		if err := state.Check(path, db, string(Users), string(Groups), string(membersBucket)); err != nil {
			return err
		}
		return db.Update(func(tx *bolt.Tx) error {
			for _, b := range buckets {
				if _, err := tx.CreateBucketIfNotExists(b); err != nil {
					return err
				}
			}
			return s.load(tx)
		})
	})
	if state.IsDamaged(err) {
		return nil, err
	}
	if err != nil {
		return nil, fmt.Errorf("scim store %s: %w", path, err)
	}
	return s, nil
}

// Close releases nothing: the file is only open during transactions. It
// exists so callers can treat the store like other resources.
func (s *Store) Close() error { return nil }

// withDB opens the file (which must exist) for one use. A file gone,
// emptied or damaged under the store, or a panic inside bbolt, is a
// *state.DamagedError.
func (s *Store) withDB(readOnly bool, fn func(*bolt.DB) error) error {
	return s.open(readOnly, false, fn)
}

func (s *Store) open(readOnly, create bool, fn func(*bolt.DB) error) error {
	db, err := state.OpenBolt(s.path, readOnly, create)
	if err != nil {
		return fmt.Errorf("open: %w", err)
	}
	err = state.Protect(s.path, func() error { return fn(db) })
	if cerr := db.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("close: %w", cerr)
	}
	return err
}

// load replaces the in-memory copy with the file's content.
func (s *Store) load(tx *bolt.Tx) error {
	meta := tx.Bucket(metaBucket)
	s.gen, s.seq, s.changed = getUint(meta, genKey), getUint(meta, seqKey), changedAt(meta)
	data, err := copyOut(tx).decode()
	if err != nil {
		return err
	}
	s.data = data
	return nil
}

// rawData is the stored resources copied out of a read transaction, so
// they can be decoded after it ends: a sync reading the file holds the
// lock the receiver's writes wait for only as long as the copy takes.
type rawData struct {
	records map[Kind]map[string][]byte
	members map[string][][]byte // group id -> its members, one JSON value each
	changed time.Time           // the last change received; zero: none recorded
}

// received reports whether an identity provider ever sent anything: a
// store that only exists is no data, not an empty directory.
func (r rawData) received() bool {
	return Summary{Users: len(r.records[Users]), Groups: len(r.records[Groups]), LastChange: r.changed}.Received()
}

func copyOut(tx *bolt.Tx) rawData {
	raw := rawData{records: map[Kind]map[string][]byte{}, members: map[string][][]byte{}, changed: changedAt(tx.Bucket(metaBucket))}
	for _, k := range []Kind{Users, Groups} {
		m := map[string][]byte{}
		if b := tx.Bucket([]byte(k)); b != nil {
			_ = b.ForEach(func(key, v []byte) error {
				m[string(key)] = bytes.Clone(v)
				return nil
			})
		}
		raw.records[k] = m
	}
	all := tx.Bucket(membersBucket)
	for id := range raw.records[Groups] {
		if all == nil {
			break
		}
		if b := all.Bucket([]byte(id)); b != nil {
			var list [][]byte
			_ = b.ForEach(func(_, v []byte) error {
				list = append(list, bytes.Clone(v))
				return nil
			})
			raw.members[id] = list
		}
	}
	return raw
}

// decode turns copied records back into records, a group's members (stored
// one key each, in member id order: SCIM's multi-valued attributes are
// unordered) back into its attributes.
func (raw rawData) decode() (map[Kind]map[string]*record, error) {
	out := map[Kind]map[string]*record{}
	for k, recs := range raw.records {
		m := make(map[string]*record, len(recs))
		for key, v := range recs {
			var r record
			if err := json.Unmarshal(v, &r); err != nil {
				return nil, fmt.Errorf("%s/%s: %w", k, key, err)
			}
			if k != Groups {
				m[key] = &r
				continue
			}
			if err := r.setMembers(raw.members[key]); err != nil {
				return nil, fmt.Errorf("%s/%s members: %w", k, key, err)
			}
			m[key] = &r
		}
		out[k] = m
	}
	return out, nil
}

func (r *record) setMembers(values [][]byte) error {
	if len(values) == 0 {
		return nil
	}
	list := make([]any, 0, len(values))
	for _, v := range values {
		var el any
		if err := json.Unmarshal(v, &el); err != nil {
			return err
		}
		list = append(list, el)
	}
	if r.Attrs == nil {
		r.Attrs = object{}
	}
	r.Attrs["members"] = list
	return nil
}

// changedAt reads when a change was last stored; zero when never.
func changedAt(meta *bolt.Bucket) time.Time {
	if meta == nil {
		return time.Time{}
	}
	if v := getUint(meta, changedKey); v > 0 {
		return time.Unix(int64(v), 0).UTC()
	}
	return time.Time{}
}

func getUint(b *bolt.Bucket, key []byte) uint64 {
	if v := b.Get(key); len(v) == 8 {
		return binary.BigEndian.Uint64(v)
	}
	return 0
}

func putUint(b *bolt.Bucket, key []byte, v uint64) error {
	return b.Put(key, binary.BigEndian.AppendUint64(nil, v))
}

// change is one write: rec nil deletes id. old is what memory held
// before (set when the change is applied), for writing only differences.
type change struct {
	kind Kind
	id   string
	rec  *record
	old  *record
}

// txn is what a mutation sees: the current data (read-only) and a way to
// stage changes. Staged changes reach memory only once the file has them.
type txn struct {
	s       *Store
	now     time.Time
	changes []change
}

func (t *txn) get(k Kind, id string) *record { return t.s.data[k][id] }

func (t *txn) all(k Kind) []*record { return t.s.sorted(k) }

func (t *txn) put(k Kind, r *record) {
	t.changes = append(t.changes, change{kind: k, id: r.ID, rec: r})
}

func (t *txn) remove(k Kind, id string) {
	t.changes = append(t.changes, change{kind: k, id: id})
}

func (t *txn) nextSeq() uint64 {
	t.s.seq++
	return t.s.seq
}

// pending is one mutation waiting for a commit.
type pending struct {
	fn      func(t *txn) error
	changed bool
	err     error
	lead    bool // set before done is closed: commit the queue, then hand on
	done    chan struct{}
}

// update runs fn and commits what it staged durably. fn's error aborts it
// without writing anything. It reports whether anything changed.
//
// Mutations arriving while a commit is in progress are committed together
// in the next transaction (group commit): the fsyncs of a bbolt commit cost
// a few milliseconds, and an identity provider sends membership changes in
// parallel. Each mutation still sees the effect of those before it, and
// none is acknowledged before the commit holding it is on disk.
//
// The caller whose mutation starts a batch commits it; the first mutation
// queued meanwhile then leads the next batch. Nobody commits batches for
// others after their own is done, so no caller waits for more than the
// commit in progress and its own under steady load.
func (s *Store) update(fn func(t *txn) error) (bool, error) {
	p := &pending{fn: fn, done: make(chan struct{})}
	s.qmu.Lock()
	s.queue = append(s.queue, p)
	lead := !s.committing
	s.committing = true
	s.qmu.Unlock()
	if !lead {
		<-p.done
		if !p.lead {
			return p.changed, p.err
		}
	}
	s.qmu.Lock()
	batch := s.queue // holds p: only the leader takes the queue
	s.queue = nil
	s.qmu.Unlock()
	s.commit(batch)
	s.qmu.Lock()
	var next *pending
	if len(s.queue) > 0 {
		next = s.queue[0]
		next.lead = true
	} else {
		s.committing = false
	}
	s.qmu.Unlock()
	for _, b := range batch {
		if b != p {
			close(b.done)
		}
	}
	if next != nil {
		close(next.done)
	}
	return p.changed, p.err
}

// commit runs a batch of mutations in one bbolt transaction. Memory follows
// each successful mutation at once (the next one must see it); if the
// commit itself fails, memory is reloaded from the file.
func (s *Store) commit(batch []*pending) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now().UTC()
	err := s.withDB(false, func(db *bolt.DB) error {
		return db.Update(func(tx *bolt.Tx) error {
			if getUint(tx.Bucket(metaBucket), genKey) != s.gen {
				if err := s.load(tx); err != nil {
					return err
				}
			}
			var changes []change
			for _, p := range batch {
				t := &txn{s: s, now: now}
				seq := s.seq
				if p.err = p.fn(t); p.err != nil {
					s.seq = seq
					continue
				}
				p.changed = len(t.changes) > 0
				s.apply(t.changes)
				changes = append(changes, t.changes...)
			}
			if len(changes) == 0 {
				return nil
			}
			s.gen++
			s.changed = now
			return s.write(tx, changes)
		})
	})
	if err == nil {
		return
	}
	for _, p := range batch {
		if p.err == nil {
			p.err, p.changed = err, false
		}
	}
	if rerr := s.reload(); rerr != nil {
		s.gen = math.MaxUint64 // forces a reload at the next commit
	}
}

func (s *Store) reload() error {
	return s.withDB(true, func(db *bolt.DB) error {
		return db.View(s.load)
	})
}

func (s *Store) write(tx *bolt.Tx, changes []change) error {
	for _, c := range changes {
		if err := writeChange(tx, c); err != nil {
			return fmt.Errorf("%s/%s: %w", c.kind, c.id, err)
		}
	}
	meta := tx.Bucket(metaBucket)
	if err := putUint(meta, seqKey, s.seq); err != nil {
		return err
	}
	if err := putUint(meta, changedKey, uint64(s.changed.Unix())); err != nil {
		return err
	}
	return putUint(meta, genKey, s.gen)
}

func writeChange(tx *bolt.Tx, c change) error {
	b := tx.Bucket([]byte(c.kind))
	if c.rec == nil {
		if err := b.Delete([]byte(c.id)); err != nil {
			return err
		}
		if c.kind == Groups {
			if err := tx.Bucket(membersBucket).DeleteBucket([]byte(c.id)); err != nil && !errors.Is(err, bolterrors.ErrBucketNotFound) {
				return err
			}
		}
		return nil
	}
	rec := c.rec
	if c.kind == Groups {
		var err error
		if rec, err = writeMembers(tx, c); err != nil {
			return err
		}
	}
	v, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	return b.Put([]byte(c.id), v)
}

// writeMembers stores the members that differ from the old record's and
// returns the record without its members.
func writeMembers(tx *bolt.Tx, c change) (*record, error) {
	b, err := tx.Bucket(membersBucket).CreateBucketIfNotExists([]byte(c.id))
	if err != nil {
		return nil, err
	}
	// One index, of the old members: the new list is walked against it,
	// and what is left in it afterwards is gone.
	was := memberMap(c.old)
	list, _ := get(c.rec.Attrs, "members")
	for _, el := range elements(list) {
		key, ok := valueKey(el)
		if !ok {
			continue
		}
		prev, had := was[key]
		delete(was, key)
		if had && equalValue(prev, el) { // usually the same element, shared
			continue
		}
		v, err := json.Marshal(el)
		if err != nil {
			return nil, err
		}
		if err := b.Put([]byte(key), v); err != nil {
			return nil, err
		}
	}
	for key := range was {
		if err := b.Delete([]byte(key)); err != nil {
			return nil, err
		}
	}
	rest := *c.rec
	rest.Attrs = make(object, len(c.rec.Attrs))
	for k, v := range c.rec.Attrs {
		if !strings.EqualFold(k, "members") {
			rest.Attrs[k] = v
		}
	}
	return &rest, nil
}

// memberMap indexes a group's members by value (validate guarantees one).
func memberMap(r *record) map[string]any {
	if r == nil {
		return nil
	}
	list, _ := get(r.Attrs, "members")
	m := map[string]any{}
	for _, el := range elements(list) {
		if key, ok := valueKey(el); ok {
			m[key] = el
		}
	}
	return m
}

func (s *Store) apply(changes []change) {
	for i := range changes {
		c := &changes[i]
		c.old = s.data[c.kind][c.id]
		if c.rec == nil {
			delete(s.data[c.kind], c.id)
		} else {
			s.data[c.kind][c.id] = c.rec
		}
	}
}

// view runs fn on the in-memory data under the read lock.
func (s *Store) view(fn func(t *txn)) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	fn(&txn{s: s})
}

// sorted lists a kind's records in creation order.
func (s *Store) sorted(k Kind) []*record {
	out := make([]*record, 0, len(s.data[k]))
	for _, r := range s.data[k] {
		out = append(out, r)
	}
	slices.SortFunc(out, cmpSeq)
	return out
}

// Size returns how many users and groups the store holds.
func (s *Store) Size() (users, groups int) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.data[Users]), len(s.data[Groups])
}

// LastChange is when a change was last stored, by this process or an
// earlier one; zero when nothing ever was.
func (s *Store) LastChange() time.Time {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.changed
}

// Summary is what a receiver's store holds, read without the daemon.
type Summary struct {
	Users, Groups int
	LastChange    time.Time // zero: nothing stored (or a store from before it was recorded)
}

// Received reports whether an identity provider ever pushed anything.
func (s Summary) Received() bool { return !s.LastChange.IsZero() || s.Users > 0 || s.Groups > 0 }

// Inspect reads the summary of the receiver named name under stateDir,
// read-only; ErrNoData when it has no store yet.
func Inspect(stateDir, name string) (Summary, error) {
	path := StorePath(stateDir, name)
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return Summary{}, fmt.Errorf("%w (no store at %s)", ErrNoData, path)
	}
	var sum Summary
	s := &Store{path: path}
	err := s.withDB(true, func(db *bolt.DB) error {
		return db.View(func(tx *bolt.Tx) error {
			sum.LastChange = changedAt(tx.Bucket(metaBucket))
			sum.Users, sum.Groups = bucketLen(tx, Users), bucketLen(tx, Groups)
			return nil
		})
	})
	if err != nil {
		return Summary{}, fmt.Errorf("read %s: %w", path, err)
	}
	return sum, nil
}

func bucketLen(tx *bolt.Tx, k Kind) int {
	if b := tx.Bucket([]byte(k)); b != nil {
		return b.Stats().KeyN
	}
	return 0
}

// ErrNoData is returned by Source.Read when nothing was ever received.
var ErrNoData = errors.New("nothing received yet")

// readFile reads a store file read-only, for another process or a reader
// that must not disturb the daemon.
func readFile(path string) (map[Kind]map[string]*record, error) {
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w (no store at %s)", ErrNoData, path)
	}
	raw, err := copyFile(path)
	if err != nil {
		return nil, err
	}
	if !raw.received() {
		return nil, fmt.Errorf("%w (the store at %s was made, but no identity provider has sent anything to it)", ErrNoData, path)
	}
	data, err := raw.decode()
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return data, nil
}

// copyFile copies the stored resources out of the file under its lock.
func copyFile(path string) (rawData, error) {
	var raw rawData
	s := &Store{path: path}
	err := s.withDB(true, func(db *bolt.DB) error {
		if err := state.Check(path, db, string(Users), string(Groups), string(membersBucket)); err != nil {
			return err
		}
		return db.View(func(tx *bolt.Tx) error {
			raw = copyOut(tx)
			return nil
		})
	})
	if err != nil {
		return raw, fmt.Errorf("read %s: %w", path, err)
	}
	return raw, nil
}

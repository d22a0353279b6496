package state

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// fillStore writes enough into a new store in dir to span many pages:
// cached users, a ledger, sizes, runs and reports.
func fillStore(t testing.TB, dir string) {
	t.Helper()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	users := map[string]User{}
	for i := range 3000 {
		users[fmt.Sprintf("person%04d@example.com", i)] = User{ID: 1000 + i, Name: fmt.Sprintf("Person %d", i)}
	}
	if err := s.PutUsers(users); err != nil {
		t.Fatal(err)
	}
	var changes []LedgerChange
	for g := range 50 {
		ids := make([]int, 40)
		for i := range ids {
			ids[i] = 1000 + g*40 + i
		}
		changes = append(changes, LedgerChange{Key: fmt.Sprintf("group:%d", g), Added: ids})
	}
	if err := s.RecordLedger(changes); err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 12, 7, 1, 2, 3, 0, time.UTC)
	for i := range 30 {
		at := start.Add(time.Duration(i) * time.Minute)
		if err := s.AddRun(Run{StartedAt: at, FinishedAt: at, Mode: "apply"}); err != nil {
			t.Fatal(err)
		}
		if err := s.AddReport(at, []byte(fmt.Sprintf(`{"n":%d,"pad":%q}`, i, strings.Repeat("x", 3000)))); err != nil {
			t.Fatal(err)
		}
	}
}

// contents is everything a store gives back, to compare a store that
// opened after damage with the undamaged one.
type contents struct {
	Users   map[string]User
	Ledger  map[string][]int
	Runs    []Run
	Reports [][]byte
}

func read(s *Store) contents {
	return contents{Users: s.AllUsers(), Ledger: s.Ledger(), Runs: s.Runs(), Reports: s.Reports()}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	data, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(to), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// pageInfo lists the page types of a bbolt file and its page size.
func pageInfo(t *testing.T, path string) (types []string, pageSize int) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, PreLoadFreelist: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.View(func(tx *bolt.Tx) error {
		for id := 0; ; id++ {
			p, err := tx.Page(id)
			if err != nil {
				return err
			}
			if p == nil {
				return nil
			}
			types = append(types, p.Type)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	return types, db.Info().PageSize
}

// wantDamaged checks that err is a DamagedError naming path and the way
// out.
func wantDamaged(t *testing.T, err error, path, what string) {
	t.Helper()
	var d *DamagedError
	if !errors.As(err, &d) {
		t.Fatalf("%s: got %v, want a DamagedError", what, err)
	}
	if msg := err.Error(); d.Path != path || !strings.Contains(msg, path) || !strings.Contains(msg, "--reset-state") {
		t.Errorf("%s: message must name %s and --reset-state: %s", what, path, msg)
	}
}

// TestDamagedPages overwrites every page of a real store in turn with
// random bytes. Opening must then either give a DamagedError or a store
// that reads exactly what was written: never a panic, never different data.
func TestDamagedPages(t *testing.T) {
	pristine := t.TempDir()
	fillStore(t, pristine)
	orig := filepath.Join(pristine, FileName)
	want := read(mustOpen(t, pristine))
	types, pageSize := pageInfo(t, orig)
	rng := rand.New(rand.NewPCG(1, 2))
	damaged := map[string]int{}
	for id, typ := range types {
		dir := t.TempDir()
		path := filepath.Join(dir, FileName)
		copyFile(t, orig, path)
		garbage := make([]byte, pageSize)
		for i := range garbage {
			garbage[i] = byte(rng.UintN(256))
		}
		f, err := os.OpenFile(path, os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.WriteAt(garbage, int64(id*pageSize)); err != nil {
			t.Fatal(err)
		}
		f.Close()
		s, err := Open(dir)
		if err != nil {
			wantDamaged(t, err, path, fmt.Sprintf("page %d (%s)", id, typ))
			damaged[typ]++
			continue
		}
		if typ == "leaf" || typ == "branch" {
			t.Errorf("page %d (%s) overwritten, yet the store opened", id, typ)
		}
		if got := read(s); !reflect.DeepEqual(got, want) {
			t.Errorf("page %d (%s) overwritten: the store opened but reads different data", id, typ)
		}
	}
	t.Logf("%d pages; damaged detected by type: %v", len(types), damaged)
	if damaged["leaf"] == 0 {
		t.Errorf("no leaf page overwrite was detected: %v", damaged)
	}
}

// TestTruncatedAndEmpty: a file cut short anywhere below its last page, or
// empty, is damaged, not a new store.
func TestTruncatedAndEmpty(t *testing.T) {
	pristine := t.TempDir()
	fillStore(t, pristine)
	orig := filepath.Join(pristine, FileName)
	types, pageSize := pageInfo(t, orig)
	used := int64(len(types) * pageSize)
	defer func(d time.Duration) { lockTimeout = d }(lockTimeout)
	lockTimeout = 2 * time.Second // a failed open must not keep the file locked
	for _, size := range []int64{0, 1, 100, int64(pageSize), int64(2 * pageSize), int64(2*pageSize + 10), used / 2, used - int64(pageSize), used - 1} {
		dir := t.TempDir()
		path := filepath.Join(dir, FileName)
		copyFile(t, orig, path)
		if err := os.Truncate(path, size); err != nil {
			t.Fatal(err)
		}
		_, err := Open(dir)
		wantDamaged(t, err, path, fmt.Sprintf("truncated to %d of %d bytes", size, used))
		_, err = Open(dir) // again, in the same process
		wantDamaged(t, err, path, fmt.Sprintf("truncated to %d of %d bytes, opened again", size, used))
		if st, err := os.Stat(path); err != nil || st.Size() != size {
			t.Errorf("opening a damaged file changed it: %v, %v", st, err)
		}
	}
}

func mustOpen(t *testing.T, dir string) *Store {
	t.Helper()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestReset moves a damaged file aside, keeps it, and leaves sound ones.
func TestReset(t *testing.T) {
	dir := t.TempDir()
	fillStore(t, dir)
	sound := filepath.Join(dir, "scim-entra.db")
	copyFile(t, filepath.Join(dir, FileName), sound)
	if err := os.Truncate(filepath.Join(dir, FileName), 0); err != nil {
		t.Fatal(err)
	}
	broken := filepath.Join(dir, "scim-okta.db")
	if err := os.WriteFile(broken, []byte("not a database at all, but long enough to hold two pages?"), 0o600); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 7, 1, 2, 3, 0, time.UTC)
	moved, err := Reset(dir, now)
	if err != nil {
		t.Fatal(err)
	}
	if len(moved) != 2 {
		t.Fatalf("moved %+v, want syncd.db and scim-okta.db", moved)
	}
	for _, m := range moved {
		if !strings.HasSuffix(m.To, ".damaged-20261207T010203Z") {
			t.Errorf("moved to %s", m.To)
		}
		if _, err := os.Stat(m.To); err != nil {
			t.Errorf("the damaged file is gone: %v", err)
		}
		if _, err := os.Stat(m.From); err == nil {
			t.Errorf("%s still there", m.From)
		}
	}
	if _, err := os.Stat(sound); err != nil {
		t.Errorf("a sound file was moved: %v", err)
	}
	s := mustOpen(t, dir)
	if len(s.Ledger()) != 0 {
		t.Error("a reset store is not fresh")
	}
	// The same second again: the name does not clash.
	if err := os.Truncate(filepath.Join(dir, FileName), 0); err != nil {
		t.Fatal(err)
	}
	moved, err = Reset(dir, now)
	if err != nil || len(moved) != 1 || !strings.HasSuffix(moved[0].To, "-2") {
		t.Errorf("second reset: %+v, %v", moved, err)
	}
}

// TestOpenDir: no dir is a store in memory; a damaged file fails the open
// (naming --reset-state) unless reset, which moves it aside and says so.
func TestOpenDir(t *testing.T) {
	now := time.Date(2026, 12, 7, 1, 2, 3, 0, time.UTC)
	s, moved, err := OpenDir("", true, now)
	if err != nil || s.Persistent() || moved != nil {
		t.Errorf("no state dir: %v, persistent %v, moved %v; want a store in memory", err, s.Persistent(), moved)
	}
	dir := t.TempDir()
	fillStore(t, dir)
	if err := os.Truncate(filepath.Join(dir, FileName), 100); err != nil {
		t.Fatal(err)
	}
	if _, _, err := OpenDir(dir, false, now); !IsDamaged(err) || !strings.Contains(err.Error(), "--reset-state") {
		t.Errorf("damaged, no reset: %v", err)
	}
	s, moved, err = OpenDir(dir, true, now)
	if err != nil || !s.Persistent() || len(moved) != 1 || moved[0].From != filepath.Join(dir, FileName) {
		t.Fatalf("reset: %v, moved %+v", err, moved)
	}
	if len(s.Runs()) != 0 {
		t.Error("the reset store is not fresh")
	}
}

// A kept report is checked on open by its sum, not parsed: a value changed
// behind syncd's back is damage, and the bucket holding it may hold
// nothing else.
func TestKeptValuesCheckedBySum(t *testing.T) {
	for _, tc := range []struct {
		name   string
		tamper func(b *bolt.Bucket) error
	}{
		{"value changed", func(b *bolt.Bucket) error { return b.Put(keptValue, []byte(`{"n":2}`)) }},
		{"sum changed", func(b *bolt.Bucket) error { return b.Put(keptSum, []byte("12345")) }},
		{"key added", func(b *bolt.Bucket) error { return b.Put([]byte("other"), []byte(`1`)) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			s := mustOpen(t, dir)
			at := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
			if err := s.AddReport(at, []byte(`{"n":1}`)); err != nil {
				t.Fatal(err)
			}
			mustOpen(t, dir) // sound as written
			path := filepath.Join(dir, FileName)
			db, err := bolt.Open(path, 0o600, nil)
			if err != nil {
				t.Fatal(err)
			}
			err = db.Update(func(tx *bolt.Tx) error {
				return tc.tamper(tx.Bucket(bucketReportBuckets).Bucket([]byte(timeKey(at))))
			})
			db.Close()
			if err != nil {
				t.Fatal(err)
			}
			_, err = Open(dir)
			wantDamaged(t, err, path, tc.name)
		})
	}
}

// A write transaction maps the file with room to spare (mmapHeadroom);
// the file itself must still grow with what it holds, not by the 16 MiB
// bbolt adds to a file mapped that large.
func TestFileGrowsWithItsContents(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		users := map[string]User{}
		for j := range 2000 {
			users[fmt.Sprintf("person-%d-%d@example.com", i, j)] = User{ID: i*10_000 + j, Name: "Some Person"}
		}
		if err := s.PutUsers(users); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(dir, FileName)
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var used int64
	if err := db.View(func(tx *bolt.Tx) error { used = tx.Size(); return nil }); err != nil {
		t.Fatal(err)
	}
	if limit := 2*used + 1<<20; st.Size() > limit {
		t.Errorf("the file is %d bytes long for %d bytes of pages; want at most %d", st.Size(), used, limit)
	}
	t.Logf("file %d bytes, pages %d bytes", st.Size(), used)
}

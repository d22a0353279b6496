package scimserver

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/syncd/syncd/internal/state"
)

// filledStore is a receiver's store file with enough users and groups to
// span many pages; it returns the file and what reading it gives.
func filledStore(t *testing.T) (string, map[Kind]map[string]*record) {
	t.Helper()
	dir := t.TempDir()
	rc := newReceiverAt(t, dir)
	var uids []string
	for i := range 300 {
		body := fmt.Sprintf(`{"userName": "u%03d@x.com", "emails": [{"value": "u%03d@x.com"}], "displayName": %q}`, i, i, strings.Repeat("n", 40))
		uids = append(uids, str(rc.must(201, "POST", "/Users", body).body, "id"))
	}
	for g := range 10 {
		var members []string
		for _, u := range uids[g*30 : g*30+30] {
			members = append(members, `{"value": "`+u+`"}`)
		}
		rc.must(201, "POST", "/Groups", fmt.Sprintf(`{"displayName": "g%d", "members": [%s]}`, g, strings.Join(members, ",")))
	}
	rc.srv.Close()
	path := StorePath(dir, "entra")
	want, err := readFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return path, want
}

func usedSize(t *testing.T, path string) int {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int64
	_ = db.View(func(tx *bolt.Tx) error { n = tx.Size(); return nil })
	return int(n)
}

func wantDamaged(t *testing.T, err error, path, what string) {
	t.Helper()
	if !state.IsDamaged(err) {
		t.Fatalf("%s: got %v, want a DamagedError", what, err)
	}
	if msg := err.Error(); !strings.Contains(msg, path) || !strings.Contains(msg, "--reset-state") {
		t.Errorf("%s: the message must name %s and --reset-state: %s", what, path, msg)
	}
}

// TestDamagedStore overwrites each page of a receiver's file in turn:
// opening it (the daemon) and reading it (a sync in another process) give
// a DamagedError naming the file, or exactly what was stored; never a
// panic, never less.
func TestDamagedStore(t *testing.T) {
	orig, want := filledStore(t)
	db, err := bolt.Open(orig, 0o600, &bolt.Options{ReadOnly: true, PreLoadFreelist: true})
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	_ = db.View(func(tx *bolt.Tx) error {
		for id := 0; ; id++ {
			p, _ := tx.Page(id)
			if p == nil {
				return nil
			}
			types = append(types, p.Type)
		}
	})
	pageSize := db.Info().PageSize
	db.Close()
	data, err := os.ReadFile(orig)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	detected := 0
	for id, typ := range types {
		path := filepath.Join(t.TempDir(), "scim-entra.db")
		damaged := append([]byte(nil), data...)
		for i := id * pageSize; i < (id+1)*pageSize; i++ {
			damaged[i] = byte(rng.UintN(256))
		}
		if err := os.WriteFile(path, damaged, 0o600); err != nil {
			t.Fatal(err)
		}
		got, readErr := readFile(path)
		_, openErr := OpenStore(path)
		if readErr == nil && openErr == nil {
			if typ == "leaf" || typ == "branch" || !reflect.DeepEqual(got, want) {
				t.Errorf("page %d (%s) overwritten: the store opened and reads %v", id, typ, reflect.DeepEqual(got, want))
			}
			continue
		}
		detected++
		wantDamaged(t, openErr, path, fmt.Sprintf("open, page %d (%s)", id, typ))
		wantDamaged(t, readErr, path, fmt.Sprintf("read, page %d (%s)", id, typ))
	}
	if detected == 0 {
		t.Fatal("no damage detected at all")
	}
}

// TestEmptyOrTruncatedStore: an emptied or cut file is damaged, never a
// new, empty receiver (that would lose what the identity provider was
// told was stored); a missing one is new.
func TestEmptyOrTruncatedStore(t *testing.T) {
	orig, _ := filledStore(t)
	data, err := os.ReadFile(orig)
	if err != nil {
		t.Fatal(err)
	}
	used := usedSize(t, orig) // the file may be longer than the pages in use
	for _, size := range []int{0, 4096, used / 2, used - 4096, used - 1} {
		path := filepath.Join(t.TempDir(), "scim-entra.db")
		if err := os.WriteFile(path, data[:size], 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := OpenStore(path)
		wantDamaged(t, err, path, fmt.Sprintf("open, %d of %d bytes", size, len(data)))
		src := &Source{name: "entra", path: path}
		_, err = src.Read(context.Background())
		wantDamaged(t, err, path, fmt.Sprintf("read, %d of %d bytes", size, len(data)))
		if st, _ := os.Stat(path); st.Size() != int64(size) {
			t.Errorf("%d bytes: the damaged file was changed", size)
		}
	}
}

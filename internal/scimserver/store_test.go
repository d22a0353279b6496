package scimserver

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestStoreDurable(t *testing.T) {
	dir := t.TempDir()
	rc := newReceiverAt(t, dir)
	uid := str(rc.must(201, "POST", "/Users", `{"userName": "a@x.com", "emails": [{"value": "a@x.com"}]}`).body, "id")
	gid := str(rc.must(201, "POST", "/Groups", `{"displayName": "g", "members": [{"value": "`+uid+`"}]}`).body, "id")
	rc.srv.Close()

	// A new daemon on the same state dir serves what the first received.
	rc2 := newReceiverAt(t, dir)
	r := rc2.must(200, "GET", "/Groups/"+gid, "")
	if got := memberValues(r.body); len(got) != 1 || got[0] != uid {
		t.Fatalf("after reopen: %s", r.raw)
	}
	// New resources keep listing after the old ones (the sequence survived).
	rc2.must(201, "POST", "/Users", `{"userName": "b@x.com"}`)
	r = rc2.must(200, "GET", "/Users", "")
	if res := resources(r); len(res) != 2 || str(res[0], "userName") != "a@x.com" {
		t.Errorf("order after reopen: %s", r.raw)
	}
}

func TestSourceWithoutData(t *testing.T) {
	src, err := NewSource("entra", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := src.Read(context.Background()); !errors.Is(err, ErrNoData) {
		t.Errorf("Read before anything was received = %v, want ErrNoData", err)
	}
	if _, err := NewSource("entra", ""); err == nil || !strings.Contains(err.Error(), "state_dir") {
		t.Errorf("NewSource without state dir = %v", err)
	}
}

// TestTwoStoresOneFile: a write by another Store on the same file (another
// process, by mistake) is seen before the next write, never overwritten.
func TestTwoStoresOneFile(t *testing.T) {
	path := StorePath(t.TempDir(), "x")
	a, err := OpenStore(path)
	if err != nil {
		t.Fatal(err)
	}
	b, err := OpenStore(path)
	if err != nil {
		t.Fatal(err)
	}
	put := func(s *Store, name string) {
		t.Helper()
		_, err := s.update(func(t *txn) error {
			t.put(Users, &record{ID: name, Seq: t.nextSeq(), Attrs: object{"userName": name}})
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	put(a, "one")
	put(b, "two")
	put(a, "three")
	data, err := readFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(data[Users]) != 3 {
		t.Errorf("file has %d users, want 3", len(data[Users]))
	}
	seqs := map[uint64]bool{}
	for _, r := range data[Users] {
		seqs[r.Seq] = true
	}
	if len(seqs) != 3 {
		t.Errorf("sequence numbers reused: %v", seqs)
	}
}

// TestReadWhileReceiving reads the store from other processes (as `syncd
// sync` and `syncd source dump` do) while the receiver keeps writing: no
// read blocks for long or fails, and every read sees a consistent state.
func TestReadWhileReceiving(t *testing.T) {
	rc := newReceiver(t)
	var uids []string
	for i := range 20 {
		uids = append(uids, str(rc.must(201, "POST", "/Users", fmt.Sprintf(`{"userName": "u%d@x.com"}`, i)).body, "id"))
	}
	gid := str(rc.must(201, "POST", "/Groups", `{"displayName": "g"}`).body, "id")

	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	writes := 0
	go func() { // the IdP: add and remove members without pause
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			op := "Add"
			if i%2 == 1 {
				op = "Remove"
			}
			body := fmt.Sprintf(`{"Operations": [{"op": %q, "path": "members", "value": [{"value": %q}]}]}`, op, uids[(i/2)%len(uids)])
			if r := rc.do("PATCH", "/Groups/"+gid, body); r.status != 204 {
				t.Errorf("PATCH during reads: %d %s", r.status, r.raw)
				return
			}
			writes++
		}
	}()
	for range 5 {
		start := time.Now()
		cmd := exec.Command(os.Args[0], "-test.run=^TestHelperReadStore$")
		cmd.Env = append(os.Environ(), "SCIMSERVER_HELPER_DIR="+rc.stateDir)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("reader process: %v\n%s", err, out)
		}
		// The group holds at most one member at any committed state.
		if !strings.Contains(string(out), "users=20 groups=1 members<=1") {
			t.Errorf("reader process saw: %s", out)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("a read took %v while the receiver was writing", d)
		}
		// And in this process, through another file handle.
		if d := readSource(t, rc); len(d.Users) != 20 {
			t.Errorf("in-process read: %d users", len(d.Users))
		}
	}
	close(stop)
	wg.Wait()
	if writes == 0 {
		t.Error("no writes happened during the reads")
	}
	t.Logf("%d PATCH requests served during 5 cross-process reads", writes)
}

// TestHelperReadStore is the reader process of TestReadWhileReceiving.
func TestHelperReadStore(t *testing.T) {
	dir := os.Getenv("SCIMSERVER_HELPER_DIR")
	if dir == "" {
		t.Skip("helper process only")
	}
	src, err := NewSource("entra", dir)
	if err != nil {
		t.Fatal(err)
	}
	d, err := src.Read(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	max := 0
	for _, g := range d.Groups {
		max = len(g.Members)
	}
	rel := "<=1"
	if max > 1 {
		rel = "=" + strconv.Itoa(max)
	}
	fmt.Printf("users=%d groups=%d members%s\n", len(d.Users), len(d.Groups), rel)
}

// TestConcurrentWrites: parallel creates and membership changes (committed
// in groups) all land, each exactly once, and uniqueness holds across a batch.
func TestConcurrentWrites(t *testing.T) {
	rc := newReceiver(t)
	gid := str(rc.must(201, "POST", "/Groups", `{"displayName": "shared"}`).body, "id")
	const workers, each = 8, 10
	var wg sync.WaitGroup
	conflicts := make([]int, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				r := rc.do("POST", "/Users", fmt.Sprintf(`{"userName": "w%d-%d@x.com"}`, w, i))
				if r.status != 201 {
					t.Errorf("create: %d %s", r.status, r.raw)
					return
				}
				body := fmt.Sprintf(`{"Operations": [{"op": "add", "path": "members", "value": [{"value": %q}]}]}`, str(r.body, "id"))
				if r := rc.do("PATCH", "/Groups/"+gid, body); r.status != 204 {
					t.Errorf("patch: %d %s", r.status, r.raw)
				}
				// Everyone races for the same name: exactly one wins.
				if r := rc.do("POST", "/Groups", fmt.Sprintf(`{"displayName": "race-%d"}`, i)); r.status == 409 {
					conflicts[w]++
				}
			}
		}()
	}
	wg.Wait()
	r := rc.must(200, "GET", "/Groups/"+gid, "")
	if got := len(memberValues(r.body)); got != workers*each {
		t.Errorf("shared group has %d members, want %d", got, workers*each)
	}
	total := 0
	for _, c := range conflicts {
		total += c
	}
	if total != (workers-1)*each {
		t.Errorf("%d conflicts, want %d", total, (workers-1)*each)
	}
	// What the file holds equals what the daemon serves.
	d := readSource(t, rc)
	if len(d.Users) != workers*each || len(d.Groups) != 1+each {
		t.Errorf("stored: %d users, %d groups", len(d.Users), len(d.Groups))
	}
}

// TestGroupMembersDurable: members are stored one key each; after adds,
// removals, a replace, a user's deletion and a group's deletion, a reopened
// store and a read-only reader see exactly what the daemon served.
func TestGroupMembersDurable(t *testing.T) {
	dir := t.TempDir()
	rc := newReceiverAt(t, dir)
	var uids []string
	for i := range 6 {
		uids = append(uids, str(rc.must(201, "POST", "/Users", fmt.Sprintf(`{"userName": "m%d@x.com"}`, i)).body, "id"))
	}
	mem := func(ids ...string) string {
		var parts []string
		for _, id := range ids {
			parts = append(parts, fmt.Sprintf(`{"value": %q, "display": "d-%s"}`, id, id))
		}
		return "[" + strings.Join(parts, ",") + "]"
	}
	g1 := str(rc.must(201, "POST", "/Groups", `{"displayName": "one", "members": `+mem(uids[0], uids[1], uids[2])+`}`).body, "id")
	g2 := str(rc.must(201, "POST", "/Groups", `{"displayName": "two", "members": `+mem(uids[3])+`}`).body, "id")
	g3 := str(rc.must(201, "POST", "/Groups", `{"displayName": "three", "members": `+mem(uids[4])+`}`).body, "id")
	rc.must(204, "PATCH", "/Groups/"+g1, `{"Operations": [{"op": "remove", "path": "members[value eq \"`+uids[1]+`\"]"},
		{"op": "add", "path": "members", "value": `+mem(uids[4], uids[5])+`},
		{"op": "replace", "path": "members[value eq \"`+uids[0]+`\"].display", "value": "renamed"}]}`)
	for range 2 { // the second PUT changes nothing
		rc.must(200, "PUT", "/Groups/"+g2, `{"displayName": "two", "members": `+mem(uids[5], uids[2])+`}`)
	}
	rc.must(204, "DELETE", "/Users/"+uids[2], "")
	rc.must(204, "DELETE", "/Groups/"+g3, "")

	served := map[string]object{}
	for _, g := range []string{g1, g2} {
		served[g] = rc.must(200, "GET", "/Groups/"+g, "").body
	}
	rc.srv.Close()
	rc2 := newReceiverAt(t, dir)
	for _, g := range []string{g1, g2} {
		got := rc2.must(200, "GET", "/Groups/"+g, "").body
		if !sameMembers(got, served[g]) {
			t.Errorf("group %s after reopen:\n got %v\nwant %v", g, got["members"], served[g]["members"])
		}
	}
	rc2.must(404, "GET", "/Groups/"+g3, "")
	for _, el := range elements(served[g1]["members"]) {
		if k, _ := valueKey(el); k == uids[0] && str(el.(object), "display") != "renamed" {
			t.Errorf("member sub-attribute replace lost: %v", el)
		}
	}
	d := readSource(t, rc2)
	want := map[string][]string{"one": sortedCopy(uids[0], uids[4], uids[5]), "two": sortedCopy(uids[5])}
	for name, w := range want {
		if g := d.Group(name); g == nil || !slices.Equal(g.Members, w) {
			t.Errorf("source group %s = %+v, want %v", name, g, w)
		}
	}
	if d.Group("three") != nil {
		t.Error("deleted group three still read")
	}
}

func sameMembers(a, b object) bool {
	index := func(o object) map[string]any {
		m := map[string]any{}
		for _, el := range elements(o["members"]) {
			k, _ := valueKey(el)
			m[k] = el
		}
		return m
	}
	return reflect.DeepEqual(index(a), index(b))
}

func sortedCopy(s ...string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return out
}

// The store knows its size and when a change was last stored, across a
// restart; Inspect tells another process whether anything was received.
func TestStoreSizeAndLastChange(t *testing.T) {
	dir := t.TempDir()
	if _, err := Inspect(dir, "entra"); !errors.Is(err, ErrNoData) {
		t.Errorf("Inspect without a store = %v, want ErrNoData", err)
	}
	rc := newReceiverAt(t, dir)
	if sum, err := Inspect(dir, "entra"); err != nil || sum.Received() {
		t.Errorf("Inspect of a store nothing was pushed to = %+v, %v; want nothing received", sum, err)
	}
	if u, g := rc.store.Size(); u != 0 || g != 0 || !rc.store.LastChange().IsZero() {
		t.Errorf("empty store: size %d/%d, last change %v", u, g, rc.store.LastChange())
	}
	before := time.Now().Add(-time.Second)
	rc.must(201, "POST", "/Users", `{"userName": "a@x.com"}`)
	rc.must(201, "POST", "/Users", `{"userName": "b@x.com"}`)
	rc.must(201, "POST", "/Groups", `{"displayName": "g"}`)
	changed := rc.store.LastChange()
	if u, g := rc.store.Size(); u != 2 || g != 1 || changed.Before(before) {
		t.Errorf("after pushes: size %d/%d, last change %v", u, g, changed)
	}
	rc.srv.Close()
	sum, err := Inspect(dir, "entra")
	if err != nil || !sum.Received() || sum.Users != 2 || sum.Groups != 1 || !sum.LastChange.Equal(changed.Truncate(time.Second)) {
		t.Errorf("Inspect = %+v, %v; want 2 users, 1 group, last change %v", sum, err, changed)
	}
	rc2 := newReceiverAt(t, dir)
	if got := rc2.store.LastChange(); !got.Equal(changed.Truncate(time.Second)) {
		t.Errorf("last change after reopen = %v, want %v", got, changed)
	}
}

// TestSourceBeforeFirstPush: a receiver that started but was never sent
// anything has a store with nothing in it. That is not an empty directory
// (every group its mappings name would look deleted): it is no data yet.
func TestSourceBeforeFirstPush(t *testing.T) {
	dir := t.TempDir()
	if _, err := OpenStore(StorePath(dir, "entra")); err != nil {
		t.Fatal(err)
	}
	src, err := NewSource("entra", dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := src.Read(context.Background()); !errors.Is(err, ErrNoData) {
		t.Errorf("Read of a store never pushed to = %v, want ErrNoData", err)
	}
}

// TestReadWhileStoreIsBorn: a `syncd sync` reading while the daemon
// creates the receiver's store (its first start) finds no store or an
// empty one, never a damaged file.
func TestReadWhileStoreIsBorn(t *testing.T) {
	for i := range 20 {
		dir := t.TempDir()
		src, err := NewSource("entra", dir)
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan error)
		go func() {
			_, err := OpenStore(StorePath(dir, "entra"))
			done <- err
		}()
		for opened := false; !opened; {
			select {
			case err := <-done:
				if err != nil {
					t.Fatal(err)
				}
				opened = true
			default:
			}
			if _, err := src.Read(context.Background()); !errors.Is(err, ErrNoData) {
				t.Fatalf("round %d: Read while the store is created = %v, want ErrNoData", i, err)
			}
			time.Sleep(100 * time.Microsecond) // a reader, not a lock holder the store waits for
		}
	}
}

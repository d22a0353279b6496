package state

import (
	"bytes"
	"fmt"
	"reflect"
	"runtime"
	"testing"
	"time"
)

// stores runs a test against the file store (reopened to prove it
// persists), the in-memory store and checks the nil store is harmless.
func TestStores(t *testing.T) {
	dir := t.TempDir()
	file, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	exercise(t, file)
	file.Close()
	again, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	if got := again.Users([]string{"a@x.io"}); got["a@x.io"].ID != 17 {
		t.Errorf("reopened store lost the cache: got %v", got)
	}
	exercise(t, Memory())

	var none *Store
	if err := none.PutUsers(map[string]User{"a@x.io": {ID: 1}}); err != nil {
		t.Fatal(err)
	}
	if got := none.Users([]string{"a@x.io"}); len(got) != 0 || none.TagID("go") != 0 || none.Ledger() == nil {
		t.Errorf("nil store: got %v", got)
	}
}

func exercise(t *testing.T, s *Store) {
	t.Helper()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	if err := s.PutPending([]string{"a@x.io", "b@x.io"}, now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if got := s.Pending([]string{"a@x.io", "b@x.io", "c@x.io"}, now); len(got) != 2 {
		t.Errorf("pending: got %v, want a and b", got)
	}
	if got := s.Pending([]string{"a@x.io"}, now.Add(2*time.Hour)); len(got) != 0 {
		t.Errorf("expired pending mark still returned: %v", got)
	}
	if err := s.PutUsers(map[string]User{"a@x.io": {ID: 17, Name: "A", Seen: now}}); err != nil {
		t.Fatal(err)
	}
	if got := s.Pending([]string{"a@x.io", "b@x.io"}, now); len(got) != 1 {
		t.Errorf("a match must clear the pending mark: got %v", got)
	}
	if got := s.Users([]string{"a@x.io", "b@x.io"}); !reflect.DeepEqual(got, map[string]User{"a@x.io": {ID: 17, Name: "A", Seen: now}}) {
		t.Errorf("users: got %v", got)
	}
	if err := s.PutTagID("go", 42); err != nil || s.TagID("go") != 42 {
		t.Errorf("tag id: got %d, %v", s.TagID("go"), err)
	}
	err := s.RecordLedger([]LedgerChange{{Key: "group:7", Added: []int{5, 3}}, {Key: "group:8", Added: []int{1}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.RecordLedger([]LedgerChange{{Key: "group:7", Added: []int{9}, Removed: []int{3}}, {Key: "group:8", Removed: []int{1}}}); err != nil {
		t.Fatal(err)
	}
	if got := s.Ledger(); !reflect.DeepEqual(got, map[string][]int{"group:7": {5, 9}}) {
		t.Errorf("ledger: got %v", got)
	}
	if err := s.PutSizes(map[string]int{"corp\x00cn=a": 40}); err != nil || s.Sizes()["corp\x00cn=a"] != 40 {
		t.Errorf("sizes: got %v, %v", s.Sizes(), err)
	}
	// Counts kept, changed (to fewer digits too) and new, among keys that
	// sort before, between and after the stored ones.
	if err := s.PutSizes(map[string]int{"corp\x00cn=b": 1000, "corp\x00cn=c": 7, "corp\x00cn=e": 0}); err != nil {
		t.Fatal(err)
	}
	if err := s.PutSizes(map[string]int{"corp\x00cn=0": 2, "corp\x00cn=a": 40, "corp\x00cn=b": 999, "corp\x00cn=d": 3, "corp\x00cn=e": 0, "corp\x00cn=f": 10}); err != nil {
		t.Fatal(err)
	}
	wantSizes := map[string]int{"corp\x00cn=0": 2, "corp\x00cn=a": 40, "corp\x00cn=b": 999, "corp\x00cn=c": 7, "corp\x00cn=d": 3, "corp\x00cn=e": 0, "corp\x00cn=f": 10}
	if got := s.Sizes(); !reflect.DeepEqual(got, wantSizes) {
		t.Errorf("sizes: got %v, want %v", got, wantSizes)
	}
	for i := range KeepReports + 3 {
		if err := s.AddReport(now.Add(time.Duration(i)*time.Second), []byte{'"', byte('a' + i), '"'}); err != nil {
			t.Fatal(err)
		}
		if err := s.AddRun(Run{StartedAt: now.Add(time.Duration(i) * time.Second), ExitCode: i % 2}); err != nil {
			t.Fatal(err)
		}
	}
	if got := s.Reports(); len(got) != KeepReports || got[0][1] != 'd' || string(s.LatestReport()) != `"`+string(rune('a'+KeepReports+2))+`"` {
		t.Errorf("reports: got %d, first %q", len(got), got[0])
	}
}

// Looking many keys up at once walks the bucket and the sorted keys
// together: every key the bucket holds is found, whether the keys asked
// for are dense or far apart, unsorted, repeated or absent.
func TestLookupsOfManyKeys(t *testing.T) {
	for _, s := range []*Store{mustOpen(t, t.TempDir()), Memory()} {
		users := map[string]User{}
		for i := 0; i < 3000; i += 3 {
			users[fmt.Sprintf("p%05d@x.io", i)] = User{ID: 2 + i}
		}
		if err := s.PutUsers(users); err != nil {
			t.Fatal(err)
		}
		for _, step := range []int{1, 2, 7, 50, 997} {
			var ask []string
			want := map[string]int{}
			for i := 2999; i >= 0; i -= step { // in reverse: the store sorts them
				e := fmt.Sprintf("p%05d@x.io", i)
				ask = append(ask, e, e)
				if u, ok := users[e]; ok {
					want[e] = u.ID
				}
			}
			ask = append(ask, "a@before.io", "zz@after.io")
			if got := s.UserIDs(ask); !reflect.DeepEqual(got, want) {
				t.Errorf("step %d: got %d ids, want %d", step, len(got), len(want))
			}
			if got := s.Users(ask); len(got) != len(want) {
				t.Errorf("step %d: got %d users, want %d", step, len(got), len(want))
			}
		}
	}
}

// A cached match is read by its id alone when it was written as
// json.Marshal writes it, and through json.Unmarshal otherwise.
func TestUserID(t *testing.T) {
	for v, want := range map[string]int{
		`{"id":17,"name":"A","seen":"2026-01-02T03:04:05Z"}`: 17,
		`{"id":18}`:                18,
		`{ "name":"B", "id": 19 }`: 19,
		`{"ID":20}`:                20,
		`{"id":-1,"seen":"x"}`:     -1,
	} {
		if got, ok := userID([]byte(v)); !ok || got != want {
			t.Errorf("userID(%s) = %d, %v; want %d", v, got, ok, want)
		}
	}
	for _, v := range []string{`{"id":"17"}`, `not json`, `{"id":1.5}`} {
		if got, ok := userID([]byte(v)); ok {
			t.Errorf("userID(%s) = %d, want none", v, got)
		}
	}
}

// A first apply of 10,000 groups keeps a report of 67 MB, and the next
// runs keep it among their last KeepReports. Recording a run and reading
// the latest report must not copy the big ones: the daemon reads the
// latest on start, every run trims the kept ones, and both held every
// kept report in memory at once before.
func TestBigReportsAreNotCopied(t *testing.T) {
	s := mustOpen(t, t.TempDir())
	now := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
	const big = 8 << 20
	for i := range 3 {
		data := append(append([]byte{'"'}, bytes.Repeat([]byte{'x'}, big)...), '"')
		if err := s.AddReport(now.Add(time.Duration(i)*time.Minute), data); err != nil {
			t.Fatal(err)
		}
	}
	allocated := allocatedBy(func() {
		if err := s.AddReport(now.Add(time.Hour), []byte(`"small"`)); err != nil {
			t.Fatal(err)
		}
		if got := string(s.LatestReport()); got != `"small"` || !s.HasReports() {
			t.Errorf("latest report %q", got)
		}
	})
	if allocated > big/2 {
		t.Errorf("recording a small report and reading it back allocated %d MB beside 3 kept reports of %d MB", allocated>>20, big>>20)
	}
	var n int
	for data := range s.ReportsNewestFirst() {
		if n++; n > 1 && len(data) != big+2 {
			t.Errorf("report %d has %d bytes", n, len(data))
		}
	}
	if n != 4 {
		t.Errorf("%d reports kept, want 4", n)
	}
}

// allocatedBy is how many bytes fn allocated on the heap.
func allocatedBy(fn func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	fn()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// Reports kept by an earlier syncd, as plain values of the reports
// bucket, are read, and trimmed, beside those kept in buckets of their own.
func TestReportsKeptAsPlainValuesStillRead(t *testing.T) {
	s := mustOpen(t, t.TempDir())
	now := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
	err := s.update(func(x kv) error { return x.put(bucketReports, timeKey(now), []byte(`"old"`)) })
	if err != nil {
		t.Fatal(err)
	}
	if err := s.AddReport(now.Add(time.Minute), []byte(`"new"`)); err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprintf("%s", s.Reports()); got != `["old" "new"]` {
		t.Fatalf("reports %s", got)
	}
	// An earlier syncd run again on this state sees the reports bucket
	// alone, all of it plain values it can read and delete.
	var plain []string
	_ = s.view(func(x kv) error {
		x.each(bucketReports, func(k string, v []byte) { plain = append(plain, string(v)) })
		return nil
	})
	if fmt.Sprint(plain) != `["old"]` {
		t.Errorf("the bucket an earlier syncd reads holds %q, want the old report alone", plain)
	}
	for i := range KeepReports {
		if err := s.AddReport(now.Add(time.Duration(2+i)*time.Minute), []byte(`"later"`)); err != nil {
			t.Fatal(err)
		}
	}
	if got := s.Reports(); len(got) != KeepReports || string(got[0]) != `"later"` {
		t.Errorf("after %d more reports, %d kept, the oldest %s", KeepReports, len(got), got[0])
	}
	if _, err := Open(s.dir); err != nil {
		t.Errorf("the file does not pass the check on open: %v", err)
	}
}

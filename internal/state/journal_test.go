package state

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 12, 7, 1, 2, 3, 0, time.UTC)

func addWrite(run string, seqHint int, added, removed []int) Write {
	return Write{
		RunID: run, Target: "site-a", Call: "PUT /user-groups/10",
		Lines: []AuditLine{
			{Kind: "add_members", Group: "Platform", Users: []AuditUser{{ID: 2, Email: "alice@example.com"}}},
			{Kind: "remove_members", Group: "Platform", Users: []AuditUser{{ID: 7, Email: "frank@example.com"}}},
		},
		Ledger: []LedgerChange{{Key: "group:10", Added: added, Removed: removed}},
	}
}

func mustBegin(t *testing.T, s *Store, w Write) *Recorded {
	t.Helper()
	r, err := s.Begin(w, t0)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func wantLedger(t *testing.T, s *Store, want map[string][]int) {
	t.Helper()
	if got := s.Ledger(); !reflect.DeepEqual(got, want) {
		t.Errorf("ledger = %v, want %v", got, want)
	}
}

func wantAudit(t *testing.T, dir string, want ...string) []AuditLine {
	t.Helper()
	lines, err := ReadAudit(dir, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, l := range lines {
		got = append(got, l.Kind+":"+l.Result)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("audit (newest first) = %v, want %v", got, want)
	}
	return lines
}

// TestRecordWrite: additions are owned from before the write is sent;
// removals stop being owned once applied; a failed write gives back only
// what it newly owned; an unknown outcome keeps the additions.
func TestRecordWrite(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir)
	if err := s.RecordLedger([]LedgerChange{{Key: "group:10", Added: []int{5, 7}}}); err != nil {
		t.Fatal(err)
	}
	r := mustBegin(t, s, addWrite("run-1", 1, []int{2, 5}, []int{7}))
	wantLedger(t, s, map[string][]int{"group:10": {2, 5, 7}}) // owned before sending
	if err := s.Finish(r, Outcome{Result: ResultApplied}, t0); err != nil {
		t.Fatal(err)
	}
	wantLedger(t, s, map[string][]int{"group:10": {2, 5}})
	lines := wantAudit(t, dir, "remove_members:applied", "add_members:applied")
	if l := lines[0]; l.RunID != "run-1" || l.Seq != 1 || l.Call != "PUT /user-groups/10" || l.Group != "Platform" || l.Users[0].Email != "frank@example.com" {
		t.Errorf("audit line: %+v", l)
	}

	r = mustBegin(t, s, addWrite("run-1", 2, []int{3, 5}, []int{2}))
	wantLedger(t, s, map[string][]int{"group:10": {2, 3, 5}})
	if err := s.Finish(r, Outcome{Result: ResultFailed, Err: errors.New("teams: 400 bad request")}, t0); err != nil {
		t.Fatal(err)
	}
	wantLedger(t, s, map[string][]int{"group:10": {2, 5}}) // 3 given back, 5 was owned before, 2 not removed
	lines = wantAudit(t, dir, "remove_members:failed", "add_members:failed", "remove_members:applied", "add_members:applied")
	if lines[0].Error != "teams: 400 bad request" || lines[0].Seq != 2 {
		t.Errorf("failed line: %+v", lines[0])
	}

	r = mustBegin(t, s, addWrite("run-1", 3, []int{4}, []int{2}))
	if err := s.Finish(r, Outcome{Result: ResultUnknown, Err: errors.New("connection reset")}, t0); err != nil {
		t.Fatal(err)
	}
	wantLedger(t, s, map[string][]int{"group:10": {2, 4, 5}}) // 4 may have been added; 2 may not be gone
}

// TestRecordCreate: the members of a group being created are owned by its
// name until the id is known; a lost answer keeps them there for Adopt.
func TestRecordCreate(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir)
	create := func(name string) Write {
		return Write{RunID: "run-1", Target: "site-a", Call: "POST /user-groups",
			Lines:  []AuditLine{{Kind: "create_group", Group: name}},
			Create: &Create{Name: name, UserIDs: []int{4, 5}}}
	}
	r := mustBegin(t, s, create("Data"))
	if got := s.Adoptions(); !reflect.DeepEqual(got, map[string][]int{"data": {4, 5}}) {
		t.Errorf("adoptions before the answer: %v", got)
	}
	err := s.Finish(r, Outcome{Result: ResultApplied, Created: &LedgerChange{Key: "group:12", Added: []int{4, 5}}}, t0)
	if err != nil {
		t.Fatal(err)
	}
	wantLedger(t, s, map[string][]int{"group:12": {4, 5}})
	if got := s.Adoptions(); len(got) != 0 {
		t.Errorf("adoptions after the answer: %v", got)
	}

	r = mustBegin(t, s, create("Ops"))
	if err := s.Finish(r, Outcome{Result: ResultFailed}, t0); err != nil {
		t.Fatal(err)
	}
	if got := s.Adoptions(); len(got) != 0 {
		t.Errorf("a failed create still owns: %v", got)
	}

	r = mustBegin(t, s, create("Ops"))
	if err := s.Finish(r, Outcome{Result: ResultUnknown}, t0); err != nil {
		t.Fatal(err)
	}
	if err := s.Adopt(map[string]string{"ops": "group:13", "nothing": "group:99"}); err != nil {
		t.Fatal(err)
	}
	wantLedger(t, s, map[string][]int{"group:12": {4, 5}, "group:13": {4, 5}})
	if got := s.Adoptions(); len(got) != 0 {
		t.Errorf("adopted names still pending: %v", got)
	}
}

// TestRecover: writes a crash left under way become "unknown" audit lines
// once, or take the result already logged; other sites' writes wait.
func TestRecover(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir)
	mustBegin(t, s, addWrite("run-1", 1, []int{2}, []int{7}))      // crash before the answer
	logged := mustBegin(t, s, addWrite("run-1", 2, []int{3}, nil)) // crash after its audit line
	other := addWrite("run-9", 3, []int{8}, nil)
	other.Target = "site-b"
	mustBegin(t, s, other)
	if err := appendAudit(dir, auditLines(logged.entry, ResultFailed, "400", t0)); err != nil {
		t.Fatal(err)
	}
	wantLedger(t, s, map[string][]int{"group:10": {2, 3, 8}})

	// A second process (after a restart) recovers.
	s2 := mustOpen(t, dir)
	n, err := s2.Recover("site-a", t0)
	if err != nil || n != 2 {
		t.Fatalf("recovered %d, %v; want 2", n, err)
	}
	wantLedger(t, s2, map[string][]int{"group:10": {2, 8}}) // 3 given back (failed), 2 kept (unknown), 7 never owned
	lines := wantAudit(t, dir, "remove_members:unknown", "add_members:unknown", "remove_members:failed", "add_members:failed")
	if l := lines[0]; l.RunID != "run-1" || l.Seq != 1 || !strings.Contains(l.Error, "stopped") {
		t.Errorf("recovered line: %+v", l)
	}
	if n, err := s2.Recover("site-a", t0); n != 0 || err != nil {
		t.Errorf("second recover: %d, %v", n, err)
	}
	// site-a's run is told what only site-b's can settle.
	if other, err := s2.UnderWayElsewhere("site-a"); err != nil || len(other) != 1 || other["site-b"] != 1 {
		t.Errorf("under way elsewhere: %v, %v; want site-b: 1", other, err)
	}
	if n, err := s2.Recover("site-b", t0); n != 1 || err != nil {
		t.Errorf("site-b: %d, %v", n, err)
	}
	if other, _ := s2.UnderWayElsewhere("site-a"); len(other) != 0 {
		t.Errorf("under way elsewhere after site-b settled: %v", other)
	}
}

// TestSettleWithTheNextWrite: a write whose outcome Log put in the audit
// log is settled by the next write's BeginAfter, in its transaction; a
// crash before that leaves it to Recover, which takes the logged result
// and adds no line of its own.
func TestSettleWithTheNextWrite(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir)
	if err := s.RecordLedger([]LedgerChange{{Key: "group:10", Added: []int{7}}}); err != nil {
		t.Fatal(err)
	}
	r1 := mustBegin(t, s, addWrite("run-1", 1, []int{2}, []int{7}))
	if err := s.Log(r1, Outcome{Result: ResultApplied}, t0); err != nil {
		t.Fatal(err)
	}
	wantAudit(t, dir, "remove_members:applied", "add_members:applied")
	wantLedger(t, s, map[string][]int{"group:10": {2, 7}}) // logged, not settled yet

	r2, err := s.BeginAfter(r1, addWrite("run-1", 2, []int{3}, nil), t0)
	if err != nil {
		t.Fatal(err)
	}
	wantLedger(t, s, map[string][]int{"group:10": {2, 3}}) // 7 removed by write 1, 3 owned for write 2
	if err := s.Log(r2, Outcome{Result: ResultFailed, Err: errors.New("400")}, t0); err != nil {
		t.Fatal(err)
	}
	if err := s.Settle(r1); err != nil { // settled already: nothing to do
		t.Fatal(err)
	}

	// A crash now: write 2 is logged, its ledger not settled.
	s2 := mustOpen(t, dir)
	if n, err := s2.Recover("site-a", t0); n != 1 || err != nil {
		t.Fatalf("recovered %d, %v; want write 2 alone", n, err)
	}
	wantLedger(t, s2, map[string][]int{"group:10": {2}}) // 3 given back: write 2 failed
	wantAudit(t, dir, "remove_members:failed", "add_members:failed", "remove_members:applied", "add_members:applied")
}

// TestTornAuditLine: a line cut by a crash does not swallow the next one.
func TestTornAuditLine(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir)
	if err := os.WriteFile(filepath.Join(dir, AuditFile), []byte(`{"time":"2026-12-07T01:02:03Z","run_id":"r","kind":"add_me`), 0o600); err != nil {
		t.Fatal(err)
	}
	r := mustBegin(t, s, addWrite("run-1", 1, []int{2}, nil))
	if err := s.Finish(r, Outcome{Result: ResultApplied}, t0); err != nil {
		t.Fatal(err)
	}
	wantAudit(t, dir, "remove_members:applied", "add_members:applied")
}

// TestRecordingFails: a store whose file went away refuses to record, so
// the write is never sent.
func TestRecordingFails(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir)
	if err := os.Remove(filepath.Join(dir, FileName)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Begin(addWrite("run-1", 1, []int{2}, nil), t0); !IsDamaged(err) {
		t.Errorf("Begin on a removed file: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, FileName)); err == nil {
		t.Error("a missing state file was created again behind the store's back")
	}
	if !IsDamaged(s.TakeErr()) || s.Err() != nil {
		t.Error("the failure is not kept for the run, or not forgotten once taken")
	}
}

// TestDamagedWhileOpen: damage after Open surfaces as an error of the
// transaction, never as a panic, and is kept for the run.
func TestDamagedWhileOpen(t *testing.T) {
	dir := t.TempDir()
	fillStore(t, dir)
	s := mustOpen(t, dir)
	path := filepath.Join(dir, FileName)
	types, pageSize := pageInfo(t, path)
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	for id, typ := range types {
		if typ == "leaf" || typ == "branch" {
			if _, err := f.WriteAt(make([]byte, pageSize), int64(id*pageSize)); err != nil {
				t.Fatal(err)
			}
		}
	}
	f.Close()
	_ = s.AllUsers()
	if err := s.TakeErr(); !IsDamaged(err) {
		t.Errorf("read of a damaged file: %v", err)
	}
	if err := os.Truncate(path, 0); err != nil {
		t.Fatal(err)
	}
	if err := s.PutMeta("x", 1); !IsDamaged(err) {
		t.Errorf("write to an emptied file: %v", err)
	}
	if st, _ := os.Stat(path); st.Size() != 0 {
		t.Error("an emptied file was silently initialised again")
	}
}

// own adds only ids not held (once each, whatever their order), disown
// takes ids away and deletes an entry it empties; a list stored out of
// order is read as a set.
func TestOwnDisown(t *testing.T) {
	s := Memory()
	err := s.update(func(t kv) error { return t.put(bucketLedger, "g", []byte("[7,5]")) })
	if err != nil {
		t.Fatal(err)
	}
	var fresh []int
	err = s.update(func(t kv) error {
		var err error
		fresh, err = own(t, bucketLedger, "g", []int{9, 2, 5, 2})
		return err
	})
	if err != nil || !reflect.DeepEqual(fresh, []int{2, 9}) {
		t.Errorf("own gave %v, %v; want [2 9]", fresh, err)
	}
	wantLedger(t, s, map[string][]int{"g": {2, 5, 7, 9}})
	if err := s.update(func(t kv) error { return disown(t, bucketLedger, "g", []int{7, 2, 100}) }); err != nil {
		t.Fatal(err)
	}
	wantLedger(t, s, map[string][]int{"g": {5, 9}})
	if err := s.update(func(t kv) error { return disown(t, bucketLedger, "g", []int{9, 5}) }); err != nil {
		t.Fatal(err)
	}
	wantLedger(t, s, map[string][]int{})
}

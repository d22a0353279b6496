package state

import (
	"crypto/sha256"
	"errors"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// A store opened read-only reads what was kept, keeps nothing new of what
// it remembers (silently, as a nil store), refuses whatever records a
// write, an approval or a recovery, and leaves the state dir as it was.
func TestReadOnlyStore(t *testing.T) {
	dir := t.TempDir()
	rw, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := rw.PutUsers(map[string]User{"ann@example.com": {ID: 3}}); err != nil {
		t.Fatal(err)
	}
	if err := rw.AddRun(Run{RunID: "run-1", StartedAt: t0, Mode: "apply"}); err != nil {
		t.Fatal(err)
	}
	if err := rw.AddReport(t0, []byte(`{"run_id":"run-1"}`)); err != nil {
		t.Fatal(err)
	}
	mustFinish(t, rw, addWrite("run-1", 1, []int{2}, nil))
	if err := rw.Approve([]Approval{{ID: "abc", At: t0, Expires: t0.Add(time.Minute)}}); err != nil {
		t.Fatal(err)
	}
	before := fileSums(t, dir)

	ro, err := OpenReadOnly(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !ro.ReadOnly() || rw.ReadOnly() {
		t.Fatalf("ReadOnly: %v for OpenReadOnly, %v for Open", ro.ReadOnly(), rw.ReadOnly())
	}
	if got := ro.Users([]string{"ann@example.com"}); got["ann@example.com"].ID != 3 {
		t.Errorf("cached users read: %v", got)
	}
	if runs := ro.Runs(); len(runs) != 1 || runs[0].RunID != "run-1" {
		t.Errorf("runs read: %v", runs)
	}
	if rep := ro.LatestReport(); string(rep) != `{"run_id":"run-1"}` {
		t.Errorf("report read: %s", rep)
	}
	if l := ro.Ledger(); len(l["group:10"]) != 1 {
		t.Errorf("ledger read: %v", l)
	}

	// What a run remembers is dropped without an error.
	remembered := map[string]error{
		"PutUsers":   ro.PutUsers(map[string]User{"bob@example.com": {ID: 4}}),
		"PutPending": ro.PutPending([]string{"carl@example.com"}, t0.Add(time.Hour)),
		"PutTagID":   ro.PutTagID("go", 9),
		"PutSizes":   ro.PutSizes(map[string]int{"corp/platform": 2}),
		"PutMeta":    ro.PutMeta("teams_users", 2),
		"AddRun":     ro.AddRun(Run{RunID: "run-2", StartedAt: t0.Add(time.Hour)}),
		"AddReport":  ro.AddReport(t0.Add(time.Hour), []byte(`{}`)),
	}
	for name, err := range remembered {
		if err != nil {
			t.Errorf("%s on a read-only store: %v, want it dropped", name, err)
		}
	}
	if got := ro.Users([]string{"bob@example.com"}); len(got) != 0 {
		t.Errorf("a read-only store kept a user: %v", got)
	}

	// What records is refused.
	_, beginErr := ro.Begin(addWrite("run-2", 1, []int{5}, nil), t0)
	_, recoverErr := ro.Recover("site-a", t0)
	_, expireErr := ro.ExpireApprovals(t0.Add(time.Hour))
	_, rotateErr := ro.RotateAudit(t0.Add(time.Hour), time.Hour)
	refused := map[string]error{
		"Begin":           beginErr,
		"Log":             ro.Log(&Recorded{}, Outcome{Result: ResultApplied}, t0),
		"Recover":         recoverErr,
		"RecordLedger":    ro.RecordLedger([]LedgerChange{{Key: "group:10", Added: []int{6}}}),
		"Adopt":           ro.Adopt(map[string]string{"platform": "group:10"}),
		"Approve":         ro.Approve([]Approval{{ID: "def", At: t0, Expires: t0.Add(time.Minute)}}),
		"UseApprovals":    ro.UseApprovals([]string{"abc"}),
		"ExpireApprovals": expireErr,
		"RotateAudit":     rotateErr,
	}
	for name, err := range refused {
		if !errors.Is(err, ErrReadOnly) {
			t.Errorf("%s on a read-only store: %v, want ErrReadOnly", name, err)
		}
	}
	if err := ro.Err(); err != nil {
		t.Errorf("Err after dropped and refused writes: %v (a dry run would fail)", err)
	}
	if after := fileSums(t, dir); !maps.Equal(before, after) {
		t.Errorf("the state dir changed:\nbefore %v\nafter  %v", before, after)
	}
}

func TestOpenReadOnlyNeedsAStore(t *testing.T) {
	if _, err := OpenReadOnly(t.TempDir()); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("no state file: %v, want ErrNotExist", err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, FileName), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenReadOnly(dir); !IsDamaged(err) {
		t.Errorf("an empty state file: %v, want it damaged", err)
	}
}

func mustFinish(t *testing.T, s *Store, w Write) {
	t.Helper()
	r := mustBegin(t, s, w)
	if err := s.Log(r, Outcome{Result: ResultApplied}, t0); err != nil {
		t.Fatal(err)
	}
	if err := s.Settle(r); err != nil {
		t.Fatal(err)
	}
}

// fileSums returns the SHA-256 of each file in dir, by name.
func fileSums(t *testing.T, dir string) map[string][32]byte {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][32]byte{}
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out[e.Name()] = sha256.Sum256(data)
	}
	return out
}

// Names and sizes are written only when they change: a steady run that
// changes none costs no transaction (two fsyncs) to say so.
func TestUnchangedIntsCostNoCommit(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]int{"platform": 7, "data": 9}
	if err := s.PutGroupIDs(ids); err != nil {
		t.Fatal(err)
	}
	if err := s.PutSizes(map[string]int{"corp/platform": 3}); err != nil {
		t.Fatal(err)
	}
	if got := s.GroupIDs(); !maps.Equal(got, ids) {
		t.Errorf("GroupIDs %v, want %v", got, ids)
	}
	before := fileSums(t, dir)
	if err := s.PutGroupIDs(map[string]int{"platform": 7}); err != nil {
		t.Fatal(err)
	}
	if err := s.PutSizes(map[string]int{"corp/platform": 3}); err != nil {
		t.Fatal(err)
	}
	if after := fileSums(t, dir); !maps.Equal(before, after) {
		t.Error("writing unchanged names and sizes changed the state file")
	}
	if err := s.PutGroupIDs(map[string]int{"platform": 8}); err != nil {
		t.Fatal(err)
	}
	if got := s.GroupIDs(); got["platform"] != 8 || got["data"] != 9 {
		t.Errorf("GroupIDs %v after a change, want platform 8 and data kept", got)
	}
}

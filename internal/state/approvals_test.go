package state

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// TestApprovals: recorded approvals are read back until they expire, each
// approval and expiry is an audit line, a used one is forgotten, and the
// command and the daemon (two stores on one dir) see each other's.
func TestApprovals(t *testing.T) {
	dir := t.TempDir()
	cli, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	daemon, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)
	a := Approval{ID: "aaaaaaaaaaaa", Target: "site", Kind: "remove_members", Group: "Platform", Reason: "over budget",
		Users: []AuditUser{{ID: 17, Email: "alice@example.com"}}, RunID: "run-1", By: "bob", At: now, Expires: now.Add(24 * time.Hour)}
	b := a
	b.ID, b.Group, b.Expires = "bbbbbbbbbbbb", "SRE", now.Add(time.Hour)
	if err := cli.Approve([]Approval{a, b}); err != nil {
		t.Fatal(err)
	}
	if got := daemon.Approvals(now.Add(time.Minute)); len(got) != 2 || got[a.ID].By != "bob" || got[a.ID].Users[0].Email != "alice@example.com" {
		t.Fatalf("approvals seen by another store: %+v", got)
	}
	later := now.Add(2 * time.Hour)
	if got := daemon.Approvals(later); len(got) != 1 || got[a.ID].ID == "" {
		t.Errorf("after an hour: %+v, want only %s", got, a.ID)
	}
	gone, err := daemon.ExpireApprovals(later)
	if err != nil || len(gone) != 1 || gone[0].ID != b.ID {
		t.Errorf("ExpireApprovals = %+v, %v; want %s", gone, err, b.ID)
	}
	if err := daemon.UseApprovals([]string{a.ID}); err != nil {
		t.Fatal(err)
	}
	if got := cli.Approvals(now); len(got) != 0 {
		t.Errorf("after expiry and use: %+v, want none", got)
	}
	lines, err := ReadAuditSince(dir, time.Time{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, l := range lines {
		kinds = append(kinds, l.Kind+":"+l.Approval+":"+l.Result)
		if l.Expires == nil || l.By != "bob" || l.RunID != "run-1" || l.Reason != "over budget" {
			t.Errorf("audit line lacks who, why, until when or the run: %+v", l)
		}
	}
	slices.Sort(kinds[1:]) // the two approvals share a time
	want := []string{"approval_expired:bbbbbbbbbbbb:expired", "approve:aaaaaaaaaaaa:approved", "approve:bbbbbbbbbbbb:approved"}
	if !slices.Equal(kinds, want) {
		t.Errorf("audit lines newest first %v, want %v", kinds, want)
	}
}

// TestApprovalNotKeptWhenTheAuditLogFails: no approval works unrecorded.
func TestApprovalNotKeptWhenTheAuditLogFails(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, AuditFile), 0o700); err != nil { // cannot be opened for appending
		t.Fatal(err)
	}
	now := time.Now()
	err = s.Approve([]Approval{{ID: "cccccccccccc", By: "bob", At: now, Expires: now.Add(time.Hour)}})
	if err == nil {
		t.Fatal("Approve succeeded without an audit log")
	}
	if got := s.Approvals(now); len(got) != 0 {
		t.Errorf("approval kept without its audit line: %+v", got)
	}
}

package state

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func auditAt(t *testing.T, dir string, at time.Time, run string, emails ...string) {
	t.Helper()
	var users []AuditUser
	for i, e := range emails {
		users = append(users, AuditUser{ID: 10 + i, Email: e})
	}
	if err := appendAudit(dir, []AuditLine{{Time: at, RunID: run, Kind: "remove_members", Group: "Platform", Users: users, Result: ResultApplied}}); err != nil {
		t.Fatal(err)
	}
}

func runsOf(lines []AuditLine) []string {
	var out []string
	for _, l := range lines {
		out = append(out, l.RunID)
	}
	return out
}

// TestAuditRotationKeepsTheRetention: a year and a half of monthly runs,
// rotated at every run: the live file stays small, old segments are
// compressed, and history finds every line within the retention (and
// nothing is deleted that is within it), newest first.
func TestAuditRotationKeepsTheRetention(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)
	const retention = 400 * 24 * time.Hour
	var last time.Time
	var deleted []string
	for month := range 18 {
		at := start.AddDate(0, month, 0)
		r, err := s.RotateAudit(at, retention)
		if err != nil {
			t.Fatalf("month %d: %v", month, err)
		}
		deleted = append(deleted, r.Deleted...)
		auditAt(t, dir, at.Add(time.Minute), at.Format("2006-01"), "alice@example.com")
		last = at
	}
	now := last.Add(2 * time.Hour)
	r, err := s.RotateAudit(now, retention)
	if err != nil {
		t.Fatal(err)
	}
	gz, _ := filepath.Glob(filepath.Join(dir, "audit-*.jsonl.gz"))
	plain, _ := filepath.Glob(filepath.Join(dir, "audit-*.jsonl"))
	for _, p := range plain {
		if filepath.Base(p) != r.Rotated {
			t.Errorf("segment %s is not compressed, over an hour after its rotation", filepath.Base(p))
		}
	}
	if len(gz) == 0 || len(append(deleted, r.Deleted...)) == 0 {
		t.Errorf("%d segments compressed, %v deleted; want some of each", len(gz), append(deleted, r.Deleted...))
	}
	lines, err := ReadAuditSince(dir, now.Add(-retention), nil)
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for month := 17; month >= 0; month-- {
		at := start.AddDate(0, month, 0).Add(time.Minute)
		if !at.Before(now.Add(-retention)) {
			want = append(want, at.Format("2006-01"))
		}
	}
	if got := runsOf(lines); !slices.Equal(got, want) {
		t.Errorf("history within the retention:\n got %v\nwant %v", got, want)
	}
	all, err := ReadAuditSince(dir, time.Time{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) >= 18 || len(all) < len(want) {
		t.Errorf("%d lines kept in all, want the %d within the retention and at most a month more (old segments deleted)", len(all), len(want))
	}
	if st, err := os.Stat(filepath.Join(dir, AuditFile)); err == nil && st.Size() > 1000 {
		t.Errorf("the live file holds %d bytes: it was not rotated", st.Size())
	}
}

// TestAuditRotationWaitsForWritesUnderWay: a write recorded as under way
// may be settled from the live file's tail, so nothing rotates meanwhile.
func TestAuditRotationWaitsForWritesUnderWay(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	old := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	auditAt(t, dir, old, "r1", "a@example.com")
	if _, err := s.Begin(Write{RunID: "r2", Target: "site", Call: "DELETE x"}, old); err != nil {
		t.Fatal(err)
	}
	r, err := s.RotateAudit(old.AddDate(0, 2, 0), 400*24*time.Hour)
	if err != nil || r.Rotated != "" {
		t.Errorf("rotation with a write under way: %+v, %v; want none", r, err)
	}
}

// TestReadAuditSinceReadsHalfCompressedSegments: a compression stopped
// before removing the plain file leaves both; the lines come once.
func TestReadAuditSinceReadsHalfCompressedSegments(t *testing.T) {
	dir := t.TempDir()
	at := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	auditAt(t, dir, at, "r1", "a@example.com")
	seg := filepath.Join(dir, "audit-20250302T000000Z.jsonl")
	if err := os.Rename(filepath.Join(dir, AuditFile), seg); err != nil {
		t.Fatal(err)
	}
	if err := writeGzip(seg, seg+".gz"); err != nil {
		t.Fatal(err)
	}
	auditAt(t, dir, at.AddDate(0, 0, 2), "r2", "b@example.com")
	lines, err := ReadAuditSince(dir, time.Time{}, func(l *AuditLine) bool { return l.Kind != "" })
	if err != nil {
		t.Fatal(err)
	}
	if got := runsOf(lines); !slices.Equal(got, []string{"r2", "r1"}) {
		t.Errorf("got runs %v, want r2, r1", got)
	}
	only, _ := ReadAuditSince(dir, time.Time{}, func(l *AuditLine) bool { return strings.HasPrefix(l.Users[0].Email, "a@") })
	if len(only) != 1 {
		t.Errorf("filtered lines: %v, want 1", only)
	}
}

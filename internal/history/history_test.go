package history

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/syncd/syncd/internal/state"
)

var t0 = time.Date(2026, 12, 7, 1, 0, 0, 0, time.UTC)

// auditDir is a state dir whose audit log tells a story: alice was added
// to Platform, bob removed from SRE, then a held removal of alice and
// carl from Platform was approved by bob and applied.
func auditDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	s, err := state.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	write := func(at time.Time, run, kind, group string, approval string, emails ...string) {
		t.Helper()
		var users []state.AuditUser
		for i, e := range emails {
			users = append(users, state.AuditUser{ID: 17 + i, Email: e})
		}
		rec, err := s.Begin(state.Write{RunID: run, Target: "site", Call: "PUT /user-groups/10",
			Lines: []state.AuditLine{{Kind: kind, Group: group, Users: users, Approval: approval}}}, at)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Finish(rec, state.Outcome{Result: state.ResultApplied}, at); err != nil {
			t.Fatal(err)
		}
	}
	write(t0.Add(-40*24*time.Hour), "run-0", "add_members", "Platform", "", "alice@example.com")
	write(t0.Add(-time.Hour), "run-1", "remove_members", "SRE", "", "bob@example.com")
	approvedAt := t0.Add(-30 * time.Minute)
	err = s.Approve([]state.Approval{{ID: "3a29a11f2e96", Target: "site", Kind: "remove_members", Group: "Platform", RunID: "run-1",
		Users:  []state.AuditUser{{ID: 17, Email: "alice@example.com"}, {ID: 18, Email: "carl@example.com"}},
		Reason: "removing 2 of 3 (67%) exceeds max_removal_percent 25", By: "bob (syncd approve)", At: approvedAt, Expires: approvedAt.Add(24 * time.Hour)}})
	if err != nil {
		t.Fatal(err)
	}
	write(t0, "run-2", "remove_members", "Platform", "3a29a11f2e96", "alice@example.com", "carl@example.com")
	return dir
}

// TestWhoRemovedAliceFromPlatform is the question history exists for:
// one command gives who, when, in which run and why.
func TestWhoRemovedAliceFromPlatform(t *testing.T) {
	dir := auditDir(t)
	entries, err := Read(dir, Query{Since: t0.Add(-7 * 24 * time.Hour), Email: "ALICE@example.com", Group: "platform"})
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 2 {
		t.Fatalf("got %d entries, want the removal and its approval (the addition is older than 7 days): %+v", len(entries), entries)
	}
	removal, approval := entries[0], entries[1]
	if removal.RunID != "run-2" || removal.Approved == nil || removal.Approved.By != "bob (syncd approve)" {
		t.Errorf("newest entry %+v: want run-2's removal, approved by bob", removal)
	}
	if approval.Kind != state.AuditApprove {
		t.Errorf("second entry is %q, want the approval", approval.Kind)
	}
	var buf bytes.Buffer
	if err := WriteText(&buf, entries); err != nil {
		t.Fatal(err)
	}
	text := buf.String()
	for _, want := range []string{
		"2026-12-07 01:00:00 UTC  Removed 2 users from user group \"Platform\": <alice@example.com>, <carl@example.com>",
		"run run-2 · PUT /user-groups/10",
		"why: held change 3a29a11f2e96, approved by bob (syncd approve) at 2026-12-07 00:30:00 UTC; it had been held because removing 2 of 3 (67%) exceeds max_removal_percent 25",
		"Approved: remove 2 users from user group \"Platform\"",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("text lacks %q:\n%s", want, text)
		}
	}
	if strings.Index(text, "Removed 2 users") > strings.Index(text, "Approved:") {
		t.Error("entries are not newest first")
	}

	buf.Reset()
	if err := WriteJSON(&buf, entries); err != nil {
		t.Fatal(err)
	}
	var got []map[string]any
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"time", "run_id", "kind", "group", "tag", "users", "groups", "result", "error", "why", "approved", "approval"} {
		if _, ok := got[0][k]; !ok {
			t.Errorf("JSON entry lacks %q: %v", k, got[0])
		}
	}
}

func TestHistoryFilters(t *testing.T) {
	dir := auditDir(t)
	all, err := Read(dir, Query{})
	if err != nil || len(all) != 4 {
		t.Fatalf("everything: %d entries, %v; want 4", len(all), err)
	}
	if all[3].RunID != "run-0" || !strings.Contains(all[3].Why, "that no safety rule held") {
		t.Errorf("oldest entry %+v: want run-0's plain change", all[3])
	}
	sre, _ := Read(dir, Query{Group: "SRE"})
	if len(sre) != 1 || sre[0].Users[0].Email != "bob@example.com" {
		t.Errorf("--group SRE: %+v", sre)
	}
	carl, _ := Read(dir, Query{Email: "carl@example.com", Since: t0.Add(-time.Minute)})
	if len(carl) != 1 || carl[0].RunID != "run-2" {
		t.Errorf("--email carl --since 1m: %+v, want only the removal", carl)
	}
}

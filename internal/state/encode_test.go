package state

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"
)

// The hand-written encodings give exactly encoding/json's bytes, for
// every field set and unset.
func TestEncodingLikeJSON(t *testing.T) {
	exp := time.Date(2026, 12, 8, 1, 2, 3, 500, time.UTC)
	lines := []AuditLine{
		{},
		{Time: t0, RunID: "run-1", Kind: "add_members", Group: "Platform <&>", Tag: "go", Result: ResultApplied, Seq: 7,
			Users: []AuditUser{{ID: 4, Email: "a@x.org"}, {ID: -1, Email: "\u2028\xff"}}, Groups: []string{"G", ""}},
		{Time: t0.In(time.FixedZone("", -7200)), Kind: "remove_members", Users: []AuditUser{}, Groups: []string{},
			Result: ResultFailed, Error: "teams: 400 \"bad\"\n", Call: "DELETE /x", Approval: "h-1", By: "ann", Reason: "budget", Expires: &exp},
	}
	for _, l := range lines {
		want, err := json.Marshal(l)
		if err != nil {
			t.Fatal(err)
		}
		if got := appendAuditLine(nil, &l); !bytes.Equal(got, want) {
			t.Errorf("audit line:\n got %s\nwant %s", got, want)
		}
	}
	for _, e := range []journalEntry{
		{},
		{Seq: 3, RunID: "r", Target: "site\x00", Call: "POST /user-groups", Started: t0, Lines: lines,
			Ledger: []ledgerDelta{{Key: "group:1", New: []int{1, 2}}, {Key: "tag-users:5", Removed: []int{3}}, {Key: "k", New: []int{}}},
			Create: &ledgerDelta{Key: "data"}},
		{Lines: []AuditLine{}, Ledger: []ledgerDelta{}},
	} {
		want, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		if got := appendJournalEntry(nil, &e); !bytes.Equal(got, want) {
			t.Errorf("journal entry:\n got %s\nwant %s", got, want)
		}
	}
}

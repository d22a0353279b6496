package state

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/syncd/syncd/internal/jsonenc"
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
	for _, u := range []User{{}, {ID: 7, Name: "Ann \"A\" <a>", Seen: t0}, {ID: -3, Seen: t0.In(time.FixedZone("", 3600))}} {
		want, err := json.Marshal(u)
		if err != nil {
			t.Fatal(err)
		}
		if got := appendUser(nil, &u); !bytes.Equal(got, want) {
			t.Errorf("user:\n got %s\nwant %s", got, want)
		}
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
		e.users = encodeUsers(e.Lines) // as Begin encodes them, once for the audit log too
		if got := appendJournalEntry(nil, &e); !bytes.Equal(got, want) {
			t.Errorf("journal entry with its users encoded before:\n got %s\nwant %s", got, want)
		}
	}
	// The audit log gets the same lines whether the users come encoded.
	for i, users := range [][][]byte{nil, encodeUsers(lines)} {
		dir := t.TempDir()
		if err := writeAudit(dir, lines, users); err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile(filepath.Join(dir, AuditFile))
		if err != nil {
			t.Fatal(err)
		}
		var want []byte
		for _, l := range lines {
			if l.Users == nil {
				l.Users = []AuditUser{}
			}
			if l.Groups == nil {
				l.Groups = []string{}
			}
			j, _ := json.Marshal(l)
			want = append(append(want, j...), '\n')
		}
		if !bytes.Equal(data, want) {
			t.Errorf("audit log %d:\n got %s\nwant %s", i, data, want)
		}
	}
}

// Lists of ids read back as encoding/json reads them, whatever the bytes.
func FuzzParseInts(f *testing.F) {
	for _, s := range []string{"[]", "[1,2,3]", "[-4]", "[01]", "[1,]", "[ 1]", "[1e3]", "null", "[+1]", "[-0]", "[9223372036854775808]"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := parseInts([]byte(s))
		if !ok {
			return // encoding/json decides
		}
		var want []int
		if err := json.Unmarshal([]byte(s), &want); err != nil {
			t.Fatalf("parseInts(%q) = %v, but encoding/json refuses it: %v", s, got, err)
		}
		if len(got) != len(want) || (len(got) > 0 && !equalInts(got, want)) {
			t.Errorf("parseInts(%q) = %v, encoding/json %v", s, got, want)
		}
		if enc, _ := json.Marshal(want); string(jsonenc.Ints(nil, got)) != string(enc) {
			t.Errorf("Ints(%v) = %s, json.Marshal %s", got, jsonenc.Ints(nil, got), enc)
		}
	})
}

func equalInts(a, b []int) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

package state

import (
	"fmt"
	"slices"
	"testing"
	"time"
)

// BenchmarkRecordWrite is the cost of recording one write the way the
// applier does (DESIGN.md §8 rule 8): BeginAfter (one bbolt commit, which
// also settles the write before), then Log (an fsynced audit line), on a
// store in a state dir that already holds 3,000 cached users and a ledger.
func BenchmarkRecordWrite(b *testing.B) {
	dir := b.TempDir()
	fillStore(b, dir)
	s, err := Open(dir)
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	i := 0
	var prev *Recorded
	for b.Loop() {
		i++
		w := Write{RunID: "bench", Target: "site", Call: "POST /user-groups/7/members",
			Lines:  []AuditLine{{Kind: "add_members", Group: "Platform", Users: []AuditUser{{ID: 5000 + i, Email: fmt.Sprintf("p%d@example.com", i)}}}},
			Ledger: []LedgerChange{{Key: fmt.Sprintf("group:%d", i%50), Added: []int{5000 + i}}}}
		r, err := s.BeginAfter(prev, w, now)
		if err != nil {
			b.Fatal(err)
		}
		if err := s.Log(r, Outcome{Result: ResultApplied}, now); err != nil {
			b.Fatal(err)
		}
		prev = r
	}
	if err := s.Settle(prev); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkReadTransaction is one read of the store, which opens the bbolt
// file for the transaction (so that other processes are never locked out
// for longer than one transaction).
func BenchmarkReadTransaction(b *testing.B) {
	dir := b.TempDir()
	fillStore(b, dir)
	s, err := Open(dir)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if len(s.Ledger()) == 0 {
			b.Fatal("empty ledger")
		}
	}
}

// BenchmarkPutUsers caches 100,000 matches at once, as a cold run with
// 100,000 directory people does after one listing of the Teams users.
func BenchmarkPutUsers(b *testing.B) {
	users := make(map[string]User, 100_000)
	for i := range 100_000 {
		users[fmt.Sprintf("person%06d@example.com", (i*7919)%100_000)] = User{ID: i + 2, Name: "P", Seen: time.Unix(0, 0)}
	}
	emails := make([]string, 0, len(users))
	for e := range users {
		emails = append(emails, e)
	}
	for b.Loop() {
		b.StopTimer()
		s, err := Open(b.TempDir())
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if err := s.PutUsers(users); err != nil {
			b.Fatal(err)
		}
		if err := s.PutPending(emails, time.Unix(1, 0)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCachedUsers looks up 100,000 addresses in a state dir that
// caches them all, with their pending marks, as every run of a sync of
// 100,000 people does before it plans.
func BenchmarkCachedUsers(b *testing.B) {
	users := make(map[string]User, 100_000)
	emails := make([]string, 0, 100_000)
	for i := range 100_000 {
		e := fmt.Sprintf("person%06d@example.com", (i*7919)%100_000)
		users[e] = User{ID: i + 2, Name: fmt.Sprintf("Person %d", i), Seen: time.Unix(1_700_000_000, 123)}
		emails = append(emails, e)
	}
	s, err := Open(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	if err := s.PutUsers(users); err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	slices.Sort(emails) // as the engine does, once for both
	for b.Loop() {
		if got := s.UserIDs(emails); len(got) != len(users) {
			b.Fatalf("%d cached users, want %d", len(got), len(users))
		}
		if got := s.Pending(emails, now); len(got) != 0 {
			b.Fatalf("%d pending", len(got))
		}
	}
}

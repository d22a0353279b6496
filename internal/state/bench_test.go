package state

import (
	"fmt"
	"testing"
	"time"
)

// BenchmarkRecordWrite is the cost of recording one write the way the
// applier does (DESIGN.md §8 rule 8): Begin (one bbolt commit), then
// Finish (an fsynced audit line and a second commit), on a store in a
// state dir that already holds 3,000 cached users and a ledger.
func BenchmarkRecordWrite(b *testing.B) {
	dir := b.TempDir()
	fillStore(b, dir)
	s, err := Open(dir)
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	i := 0
	for b.Loop() {
		i++
		w := Write{RunID: "bench", Target: "site", Call: "POST /user-groups/7/members",
			Lines:  []AuditLine{{Kind: "add_members", Group: "Platform", Users: []AuditUser{{ID: 5000 + i, Email: fmt.Sprintf("p%d@example.com", i)}}}},
			Ledger: []LedgerChange{{Key: fmt.Sprintf("group:%d", i%50), Added: []int{5000 + i}}}}
		r, err := s.Begin(w, now)
		if err != nil {
			b.Fatal(err)
		}
		if err := s.Finish(r, Outcome{Result: ResultApplied}, now); err != nil {
			b.Fatal(err)
		}
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

package state

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Recording writes (DESIGN.md §8 rule 8: every write is recorded before
// the next one is sent, and the record survives a crash at any point).
//
// Each write goes through three durable steps:
//
//  1. Begin, one transaction before the write is sent: the people the
//     write adds become owned in the ledger at once (owning someone we are
//     about to add is the safe side: at worst managed mode may later remove
//     a person it tried to add), and a journal entry keeps the whole write:
//     its audit lines, its ledger changes, and which ids were not owned
//     before.
//  2. The write is sent. Then Log appends its audit lines with the result
//     to audit.jsonl and fsyncs them: from here the outcome is durable.
//  3. A transaction settles the ledger (removals take effect once applied;
//     additions of a write that certainly failed are owned no more) and
//     deletes the journal entry. An applier makes it the first half of the
//     next write's step 1 (BeginAfter), so that a write costs one commit,
//     not two, and settles its last write with Settle; Finish is steps 2
//     and 3 at once.
//
// A kill -9 between 1 and 3 leaves the journal entry. The next applying
// run for the same Teams site calls Recover before it plans: an entry
// whose audit lines made it to the log is settled with the result logged
// there; any other becomes audit lines with result "unknown", its
// additions stay owned and its removals wait for the next plan. A crash
// during Recover is recovered the same way (the audit tail de-duplicates).
// Between 2 and 3 the log holds the outcome, so a crash there loses
// nothing but, for a create, the new group's id: its members stay owned
// by its name, as when the answer is lost, until Adopt finds it.
//
// A group create cannot be keyed by group id before it is answered, so
// step 1 owns its members by group name (the adopt bucket); once the id is
// known they move to the ledger, and if the answer was lost, Adopt moves
// them when a later run finds the group by name.

// Write is one write syncd is about to send.
type Write struct {
	RunID  string
	Target string // the Teams site (a key): Recover settles only its own site's writes
	Call   string // e.g. "POST /user-groups/10/members"
	Lines  []AuditLine
	Ledger []LedgerChange // Added: owned before sending; Removed: no longer owned once applied
	Create *Create        // a user group this write creates
}

// Create is a user group a write creates, with its first members.
type Create struct {
	Name    string
	UserIDs []int
}

// Outcome is what became of a sent write.
type Outcome struct {
	Result string // ResultApplied, ResultFailed or ResultUnknown
	Err    error
	// Created is, for an applied create, the ledger entry of the new group
	// (its key, now that its id is known, and the members it was created with).
	Created *LedgerChange
}

// Recorded is a write recorded as under way.
type Recorded struct {
	key   string
	entry journalEntry
	// outcome is set by Log; the write waits for its settling (step 3).
	outcome *Outcome
}

// Seq is the write's number in this state dir.
func (r *Recorded) Seq() uint64 { return r.entry.Seq }

type journalEntry struct {
	Seq     uint64        `json:"seq"`
	RunID   string        `json:"run_id"`
	Target  string        `json:"target"`
	Call    string        `json:"call"`
	Started time.Time     `json:"started"`
	Lines   []AuditLine   `json:"lines"`
	Ledger  []ledgerDelta `json:"ledger,omitempty"`
	Create  *ledgerDelta  `json:"create,omitempty"` // Key is the lower-case group name
	// users is the JSON of each line's users, encoded once for the
	// journal and the audit log; nil after a decode.
	users [][]byte
}

// usersOf returns the encoded users of line i, nil when not encoded.
func (e *journalEntry) usersOf(i int) []byte {
	if i < len(e.users) {
		return e.users[i]
	}
	return nil
}

// ledgerDelta is one ledger change with the ids it newly owned, so that a
// write that failed gives back exactly those.
type ledgerDelta struct {
	Key     string `json:"key"`
	New     []int  `json:"new,omitempty"`
	Removed []int  `json:"removed,omitempty"`
}

const metaWriteSeq = "write_seq"

// Begin records w before it is sent. An error means it must not be sent.
func (s *Store) Begin(w Write, now time.Time) (*Recorded, error) { return s.BeginAfter(nil, w, now) }

// BeginAfter is Begin that first settles prev, a write whose outcome Log
// recorded, in the same transaction: the applier's one commit per write.
// On an error nothing was recorded, prev included: w must not be sent,
// and prev is still to be settled.
func (s *Store) BeginAfter(prev *Recorded, w Write, now time.Time) (*Recorded, error) {
	if s == nil {
		return &Recorded{}, nil
	}
	r := &Recorded{}
	err := s.update(func(t kv) error {
		if err := settleLogged(t, prev); err != nil {
			return err
		}
		var seq uint64
		getJSON(t, bucketMeta, metaWriteSeq, &seq)
		seq++
		if err := putJSON(t, bucketMeta, metaWriteSeq, seq); err != nil {
			return err
		}
		e := journalEntry{Seq: seq, RunID: w.RunID, Target: w.Target, Call: w.Call, Started: now.UTC(), Lines: w.Lines}
		for _, c := range w.Ledger {
			n, err := own(t, bucketLedger, c.Key, c.Added)
			if err != nil {
				return err
			}
			e.Ledger = append(e.Ledger, ledgerDelta{Key: c.Key, New: n, Removed: slices.Clone(c.Removed)})
		}
		if c := w.Create; c != nil {
			key := strings.ToLower(c.Name)
			n, err := own(t, bucketAdopt, key, c.UserIDs)
			if err != nil {
				return err
			}
			e.Create = &ledgerDelta{Key: key, New: n}
		}
		r.key, r.entry = journalKey(w.Target, seq), e
		if !s.Persistent() {
			// Kept for settling; in memory it could never be recovered.
			return nil
		}
		r.entry.users = encodeUsers(w.Lines)
		return t.put(bucketJournal, r.key, appendJournalEntry(nil, &r.entry))
	})
	if err != nil {
		return nil, fmt.Errorf("record the write before sending it: %w", err)
	}
	if prev != nil {
		prev.outcome = nil
	}
	return r, nil
}

// Finish records the outcome of a write recorded by Begin: audit lines
// first (fsynced), then the ledger. An error means the next write must
// not be sent.
func (s *Store) Finish(r *Recorded, o Outcome, now time.Time) error {
	if err := s.Log(r, o, now); err != nil {
		return err
	}
	return s.Settle(r)
}

// Log records the outcome of a write recorded by Begin in the audit log
// (fsynced) and keeps it in r, for BeginAfter or Settle to settle the
// ledger. An error means the next write must not be sent; r is then left
// for Recover.
func (s *Store) Log(r *Recorded, o Outcome, now time.Time) error {
	if s == nil {
		return nil
	}
	if s.ReadOnly() {
		return ErrReadOnly
	}
	msg := ""
	if o.Err != nil {
		msg = o.Err.Error()
	}
	if s.dir != "" {
		if err := writeAudit(s.dir, auditLines(r.entry, o.Result, msg, now), r.entry.users); err != nil {
			return fmt.Errorf("record the outcome of write %d: %w", r.entry.Seq, err)
		}
	}
	r.outcome = &o
	return nil
}

// Settle settles, in a transaction of its own, the ledger of a write
// whose outcome Log recorded (nil, or one already settled: nothing to do).
func (s *Store) Settle(r *Recorded) error {
	if s == nil || r == nil || r.outcome == nil {
		return nil
	}
	if err := s.update(func(t kv) error { return settleLogged(t, r) }); err != nil {
		return fmt.Errorf("record the outcome of write %d: %w", r.entry.Seq, err)
	}
	r.outcome = nil
	return nil
}

// settleLogged settles r in t if Log recorded its outcome and it was not
// settled yet.
func settleLogged(t kv, r *Recorded) error {
	if r == nil || r.outcome == nil {
		return nil
	}
	return settle(t, r.key, r.entry, *r.outcome)
}

func auditLines(e journalEntry, result, msg string, now time.Time) []AuditLine {
	out := make([]AuditLine, len(e.Lines))
	for i, l := range e.Lines {
		l.Time, l.RunID, l.Seq, l.Result, l.Error = now.UTC(), e.RunID, e.Seq, result, msg
		if l.Call == "" {
			l.Call = e.Call
		}
		out[i] = l
	}
	return out
}

// settle applies an outcome to the ledger and closes the journal entry.
func settle(t kv, key string, e journalEntry, o Outcome) error {
	switch o.Result {
	case ResultApplied:
		for _, d := range e.Ledger {
			if err := disown(t, bucketLedger, d.Key, d.Removed); err != nil {
				return err
			}
		}
		if o.Created != nil {
			if _, err := own(t, bucketLedger, o.Created.Key, o.Created.Added); err != nil {
				return err
			}
		}
		if o.Created != nil && e.Create != nil {
			// Any earlier create of this name whose answer was lost did
			// not land (the listing before this one showed no such group).
			if err := t.del(bucketAdopt, e.Create.Key); err != nil {
				return err
			}
		}
	case ResultFailed:
		for _, d := range e.Ledger {
			if err := disown(t, bucketLedger, d.Key, d.New); err != nil {
				return err
			}
		}
		if e.Create != nil {
			if err := disown(t, bucketAdopt, e.Create.Key, e.Create.New); err != nil {
				return err
			}
		}
	}
	// Unknown: the additions stay owned, the removals wait for the next
	// plan, which sees whether they happened.
	return t.del(bucketJournal, key)
}

// Recover settles the writes for target that a crash left under way (see
// the comment at the top of this file) and returns how many. Call it
// while holding the writer lock for target, before planning.
func (s *Store) Recover(target string, now time.Time) (int, error) {
	if !s.Persistent() {
		return 0, nil
	}
	if s.ReadOnly() {
		return 0, ErrReadOnly
	}
	var left []journalEntry
	var keys []string
	err := s.view(func(t kv) error {
		t.each(bucketJournal, func(k string, v []byte) {
			var e journalEntry
			if strings.HasPrefix(k, target+"\x00") && json.Unmarshal(v, &e) == nil {
				left, keys = append(left, e), append(keys, k)
			}
		})
		return nil
	})
	if err != nil || len(left) == 0 {
		return 0, err
	}
	logged, err := loggedResults(s.dir)
	if err != nil {
		return 0, fmt.Errorf("read the audit log: %w", err)
	}
	for i, e := range left {
		res, ok := logged[writeID{e.RunID, e.Seq}]
		if !ok {
			res = ResultUnknown
			lines := auditLines(e, res, "syncd stopped before the outcome of this write was recorded", now)
			if err := appendAudit(s.dir, lines); err != nil {
				return i, fmt.Errorf("recover write %d: %w", e.Seq, err)
			}
		}
		if err := s.update(func(t kv) error { return settle(t, keys[i], e, Outcome{Result: res}) }); err != nil {
			return i, fmt.Errorf("recover write %d: %w", e.Seq, err)
		}
	}
	return len(left), nil
}

// UnderWayElsewhere counts, by Teams site, the writes a crashed run left
// under way to sites other than target: only a run to that site settles
// them, so a teams.url changed after a crash (another host name, a proxy)
// would leave them out of the audit log in silence.
func (s *Store) UnderWayElsewhere(target string) (map[string]int, error) {
	if !s.Persistent() {
		return nil, nil
	}
	out := map[string]int{}
	err := s.view(func(t kv) error {
		t.each(bucketJournal, func(k string, _ []byte) {
			if site, _, ok := strings.Cut(k, "\x00"); ok && site != target {
				out[site]++
			}
		})
		return nil
	})
	return out, err
}

type writeID struct {
	run string
	seq uint64
}

// auditTail is how much of the audit log Recover reads back: far more than
// the lines of the few writes a crash can leave under way.
const auditTail = 4 << 20

func loggedResults(dir string) (map[writeID]string, error) {
	lines, err := ReadAudit(dir, auditTail)
	out := map[writeID]string{}
	for _, l := range lines {
		if _, seen := out[writeID{l.RunID, l.Seq}]; !seen {
			out[writeID{l.RunID, l.Seq}] = l.Result
		}
	}
	return out, err
}

func journalKey(target string, seq uint64) string { return fmt.Sprintf("%s\x00%020d", target, seq) }

// Adoptions returns the members of groups syncd created whose ids it never
// learned (the create's answer was lost), by lower-case group name.
func (s *Store) Adoptions() map[string][]int {
	out := map[string][]int{}
	_ = s.view(func(t kv) error {
		t.each(bucketAdopt, func(k string, v []byte) {
			var ids []int
			if json.Unmarshal(v, &ids) == nil {
				out[k] = ids
			}
		})
		return nil
	})
	return out
}

// Adopt moves the members of created groups found again (lower-case name
// -> ledger key of the group) from their name to their ledger entry.
func (s *Store) Adopt(found map[string]string) error {
	if len(found) == 0 {
		return nil
	}
	return s.update(func(t kv) error {
		for name, key := range found {
			var ids []int
			if !getJSON(t, bucketAdopt, name, &ids) {
				continue
			}
			if _, err := own(t, bucketLedger, key, ids); err != nil {
				return err
			}
			if err := t.del(bucketAdopt, name); err != nil {
				return err
			}
		}
		return nil
	})
}

// own adds ids to the entry key of bucket and returns those it did not
// hold before.
func own(t kv, bucket []byte, key string, ids []int) ([]int, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	cur, _ := getInts(t, bucket, key)
	cur = sortedInts(cur)
	add := slices.Compact(sortedInts(slices.Clone(ids)))
	if len(cur) == 0 {
		// A new entry (every group a cold run creates): all of add is
		// fresh, and the whole entry.
		return add, putInts(t, bucket, key, add)
	}
	fresh := make([]int, 0, len(add))
	i := 0
	for _, id := range add {
		for i < len(cur) && cur[i] < id {
			i++
		}
		if i == len(cur) || cur[i] != id {
			fresh = append(fresh, id)
		}
	}
	if len(fresh) == 0 {
		return nil, nil
	}
	return fresh, putInts(t, bucket, key, mergeSorted(cur, fresh))
}

// sortedInts returns ids sorted (in place; the lists the store writes
// already are), for the merges of own and disown.
func sortedInts(ids []int) []int {
	if !slices.IsSorted(ids) {
		slices.Sort(ids)
	}
	return ids
}

// mergeSorted merges two sorted lists without common ids.
func mergeSorted(a, b []int) []int {
	out := make([]int, 0, len(a)+len(b))
	for len(a) > 0 && len(b) > 0 {
		if a[0] < b[0] {
			out, a = append(out, a[0]), a[1:]
		} else {
			out, b = append(out, b[0]), b[1:]
		}
	}
	return append(append(out, a...), b...)
}

// disown removes ids from the entry key of bucket, deleting it once empty.
func disown(t kv, bucket []byte, key string, ids []int) error {
	if len(ids) == 0 {
		return nil
	}
	cur, ok := getInts(t, bucket, key)
	if !ok {
		return nil
	}
	gone := sortedInts(slices.Clone(ids))
	cur = slices.DeleteFunc(cur, func(id int) bool {
		_, found := slices.BinarySearch(gone, id)
		return found
	})
	if len(cur) == 0 {
		return t.del(bucket, key)
	}
	return putInts(t, bucket, key, cur)
}

package state

import (
	"bytes"
	"encoding/json"
	"fmt"
	"iter"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
)

// User is a cached e-mail -> Teams user match.
type User struct {
	ID   int       `json:"id"`
	Name string    `json:"name,omitempty"`
	Seen time.Time `json:"seen"` // when the API last confirmed it
}

// Users returns the cached matches among emails (normalised addresses).
func (s *Store) Users(emails []string) map[string]User {
	out := map[string]User{}
	emails = sorted(emails)
	_ = s.view(func(t kv) error {
		t.some(bucketUsers, emails, func(e string, v []byte) {
			var u User
			if json.Unmarshal(v, &u) == nil {
				out[e] = u
			}
		})
		return nil
	})
	return out
}

// UserIDs returns the cached Teams ids of those of emails (normalised
// addresses) that have one: what a run matches people by, read without
// the rest of each record.
func (s *Store) UserIDs(emails []string) map[string]int {
	out := make(map[string]int, len(emails))
	emails = sorted(emails)
	_ = s.view(func(t kv) error {
		t.some(bucketUsers, emails, func(e string, v []byte) {
			if id, ok := userID(v); ok {
				out[e] = id
			}
		})
		return nil
	})
	return out
}

// userID reads the id of a User record: at its start, as json.Marshal
// writes it, else (a record written otherwise) through json.Unmarshal.
func userID(v []byte) (int, bool) {
	if rest, ok := bytes.CutPrefix(v, []byte(`{"id":`)); ok {
		end := bytes.IndexAny(rest, ",}")
		if id, err := strconv.Atoi(string(rest[:max(end, 0)])); end > 0 && err == nil {
			return id, true
		}
	}
	var u User
	if json.Unmarshal(v, &u) != nil {
		return 0, false
	}
	return u.ID, true
}

// sorted returns keys in order, for kv.some: keys itself when they are
// (a caller that looks up the same keys twice sorts them once).
func sorted(keys []string) []string {
	if slices.IsSorted(keys) {
		return keys
	}
	return slices.Sorted(slices.Values(keys))
}

// AllUsers returns every cached match (for explain and reverse lookups).
func (s *Store) AllUsers() map[string]User {
	out := map[string]User{}
	_ = s.view(func(t kv) error {
		t.each(bucketUsers, func(k string, v []byte) {
			var u User
			if json.Unmarshal(v, &u) == nil {
				out[k] = u
			}
		})
		return nil
	})
	return out
}

// PutUsers caches matches and clears their pending marks, in one transaction.
//
// Keys are written in order: bbolt splits pages as it goes, and keys in
// random map order touch and rewrite a page per key (100,000 matches took
// 17.8 s that way, 0.7 s sorted, with as many pending marks).
func (s *Store) PutUsers(users map[string]User) error {
	emails := slices.Sorted(maps.Keys(users))
	return s.remember(func(t kv) error {
		// One buffer for every value, each slice of it left untouched
		// after: bbolt holds on to a value until the commit.
		buf := make([]byte, 0, 64*len(emails))
		for _, e := range emails {
			u, start := users[e], len(buf)
			buf = appendUser(buf, &u)
			if err := t.put(bucketUsers, e, buf[start:len(buf):len(buf)]); err != nil {
				return err
			}
		}
		for _, e := range emails {
			if err := t.del(bucketPending, e); err != nil {
				return err
			}
		}
		return nil
	})
}

// ForgetUsers drops cached matches (a write answered 404: the id is stale).
func (s *Store) ForgetUsers(emails []string) error {
	return s.remember(func(t kv) error {
		for _, e := range emails {
			if err := t.del(bucketUsers, e); err != nil {
				return err
			}
		}
		return nil
	})
}

// Pending returns, for the addresses known to have no Teams account, the
// time until which they need not be asked again (expired marks left out).
func (s *Store) Pending(emails []string, now time.Time) map[string]time.Time {
	out := map[string]time.Time{}
	emails = sorted(emails)
	_ = s.view(func(t kv) error {
		t.some(bucketPending, emails, func(e string, v []byte) {
			var until time.Time
			if json.Unmarshal(v, &until) == nil && until.After(now) {
				out[e] = until
			}
		})
		return nil
	})
	return out
}

// PutPending marks addresses as having no Teams account until the time given.
func (s *Store) PutPending(emails []string, until time.Time) error {
	emails = slices.Sorted(slices.Values(emails)) // in order, as PutUsers says why
	return s.remember(func(t kv) error {
		for _, e := range emails {
			if err := putJSON(t, bucketPending, e, until); err != nil {
				return err
			}
		}
		return nil
	})
}

// ClearPending forgets every pending mark (the Teams user count changed:
// someone may have signed in).
func (s *Store) ClearPending() error {
	return s.remember(func(t kv) error {
		var keys []string
		t.each(bucketPending, func(k string, _ []byte) { keys = append(keys, k) })
		for _, k := range keys {
			if err := t.del(bucketPending, k); err != nil {
				return err
			}
		}
		return nil
	})
}

// TagID returns the cached id of a tag (lower-case name), or 0.
func (s *Store) TagID(name string) int {
	var id int
	_ = s.view(func(t kv) error {
		getJSON(t, bucketTags, name, &id)
		return nil
	})
	return id
}

// TagIDs returns the cached ids of the tags (lower-case names) that have
// one, in one transaction.
func (s *Store) TagIDs(names []string) map[string]int {
	out := make(map[string]int, len(names))
	names = sorted(names)
	_ = s.view(func(t kv) error {
		t.some(bucketTags, names, func(name string, v []byte) {
			var id int
			if json.Unmarshal(v, &id) == nil && id != 0 {
				out[name] = id
			}
		})
		return nil
	})
	return out
}

// PutTagID caches a tag id; id 0 forgets it.
func (s *Store) PutTagID(name string, id int) error {
	return s.remember(func(t kv) error {
		if id == 0 {
			return t.del(bucketTags, name)
		}
		return putJSON(t, bucketTags, name, id)
	})
}

// Ledger returns every ledger entry: by key, the ids syncd added.
func (s *Store) Ledger() map[string][]int {
	out := map[string][]int{}
	_ = s.view(func(t kv) error {
		t.each(bucketLedger, func(k string, v []byte) {
			var ids []int
			if json.Unmarshal(v, &ids) == nil {
				out[k] = ids
			}
		})
		return nil
	})
	return out
}

// LedgerChange is what one write did to one ledger entry.
type LedgerChange struct {
	Key     string
	Added   []int
	Removed []int
}

// RecordLedger applies changes to the ledger in one transaction.
func (s *Store) RecordLedger(changes []LedgerChange) error {
	return s.update(func(t kv) error {
		for _, c := range changes {
			var ids []int
			getJSON(t, bucketLedger, c.Key, &ids)
			ids = append(ids, c.Added...)
			slices.Sort(ids)
			ids = slices.Compact(ids)
			ids = slices.DeleteFunc(ids, func(id int) bool { return slices.Contains(c.Removed, id) })
			var err error
			if len(ids) == 0 {
				err = t.del(bucketLedger, c.Key)
			} else {
				err = putJSON(t, bucketLedger, c.Key, ids)
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
}

// Sizes returns the last known member counts of directory groups.
func (s *Store) Sizes() map[string]int { return s.ints(bucketSizes) }

// ints reads a bucket of decimal numbers.
func (s *Store) ints(bucket []byte) map[string]int {
	out := map[string]int{}
	_ = s.view(func(t kv) error {
		t.each(bucket, func(k string, v []byte) {
			if n, err := strconv.Atoi(string(v)); err == nil {
				out[k] = n
			}
		})
		return nil
	})
	return out
}

// PutSizes records member counts after a successful read. Only the counts
// that changed are written: a steady run of 10,000 groups changes few or
// none, and writing them all again dirtied every page of the bucket, to be
// copied and written to disk on each run.
func (s *Store) PutSizes(sizes map[string]int) error {
	return s.putChangedInts(bucketSizes, sizes)
}

// putChangedInts writes vals (decimal numbers) to bucket in key order (as
// PutUsers says why), only those not already stored, and without a
// transaction (two fsyncs) when none changed: the steady runs that write
// them change few or none, and writing them all again dirtied every page
// of the bucket.
func (s *Store) putChangedInts(bucket []byte, vals map[string]int) error {
	keys := slices.Sorted(maps.Keys(vals))
	var changed []string
	_ = s.view(func(t kv) error {
		same := make(map[string]bool, len(keys))
		t.some(bucket, keys, func(k string, v []byte) {
			same[k] = string(v) == strconv.Itoa(vals[k])
		})
		for _, k := range keys {
			if !same[k] {
				changed = append(changed, k)
			}
		}
		return nil
	})
	if len(changed) == 0 {
		return nil
	}
	return s.remember(func(t kv) error {
		for _, k := range changed {
			if err := t.put(bucket, k, []byte(strconv.Itoa(vals[k]))); err != nil {
				return err
			}
		}
		return nil
	})
}

// GroupIDs returns, by lower-case name, the Teams user groups that
// carried the names syncd keeps in step at the runs before: a name no
// group carries now, whose group is there under another name, was
// renamed in Teams (plan.RenamedError).
func (s *Store) GroupIDs() map[string]int { return s.ints(bucketGroupIDs) }

// PutGroupIDs records which Teams group carries each name (lower case);
// names not given keep what they had. Only what changed is written.
func (s *Store) PutGroupIDs(ids map[string]int) error {
	return s.putChangedInts(bucketGroupIDs, ids)
}

// ForgetGroupIDs forgets the groups behind names no longer kept in step.
func (s *Store) ForgetGroupIDs(names []string) error {
	if len(names) == 0 {
		return nil
	}
	names = slices.Sorted(slices.Values(names)) // in order, as PutUsers says why
	return s.remember(func(t kv) error {
		for _, n := range names {
			if err := t.del(bucketGroupIDs, n); err != nil {
				return err
			}
		}
		return nil
	})
}

// Meta returns a stored counter (e.g. the Teams user count), or 0.
func (s *Store) Meta(key string) int {
	var n int
	_ = s.view(func(t kv) error {
		getJSON(t, bucketMeta, key, &n)
		return nil
	})
	return n
}

// PutMeta stores a counter.
func (s *Store) PutMeta(key string, n int) error {
	return s.remember(func(t kv) error { return putJSON(t, bucketMeta, key, n) })
}

// Run is one entry of the run history.
type Run struct {
	RunID      string         `json:"run_id,omitempty"` // as in the audit log and the report
	StartedAt  time.Time      `json:"started_at"`
	FinishedAt time.Time      `json:"finished_at"`
	Mode       string         `json:"mode"`
	ExitCode   int            `json:"exit_code"`
	Summary    map[string]int `json:"summary,omitempty"`
	Errors     int            `json:"errors"`
}

// AddRun appends a run to the history, keeping the last KeepRuns.
func (s *Store) AddRun(r Run) error {
	return s.remember(func(t kv) error {
		if err := putJSON(t, bucketRuns, timeKey(r.StartedAt), r); err != nil {
			return err
		}
		return trim(t, bucketRuns, KeepRuns)
	})
}

// Runs returns the history, oldest first.
func (s *Store) Runs() []Run {
	var out []Run
	_ = s.view(func(t kv) error {
		t.each(bucketRuns, func(_ string, v []byte) {
			var r Run
			if json.Unmarshal(v, &r) == nil {
				out = append(out, r)
			}
		})
		return nil
	})
	return out
}

// Reports are kept in bucketReportBuckets, each in a bucket of its own
// (kv.keep): a report can be tens of megabytes, and bbolt rewrites a leaf
// whole when one of its keys changes. syncd before this kept them as plain
// values of bucketReports; those are still read and trimmed with the
// others, and an earlier syncd run again on this state keeps using that
// bucket alone, never meeting a report it cannot delete.

// reportAt is where a kept report is: its key and its bucket.
type reportAt struct {
	key    string
	bucket []byte
}

// reportKeys lists the kept reports, oldest first, without reading them.
func reportKeys(t kv) []reportAt {
	var out []reportAt
	for _, b := range [][]byte{bucketReports, bucketReportBuckets} {
		t.each(b, func(k string, _ []byte) { out = append(out, reportAt{k, b}) })
	}
	slices.SortStableFunc(out, func(a, b reportAt) int { return strings.Compare(a.key, b.key) })
	return out
}

// KeepNoReports makes AddReport keep nothing: for the in-memory store of
// a one-shot command without a state dir, which takes its run's report
// from the run itself. Call it before the store is shared.
func (s *Store) KeepNoReports() { s.noReports = true }

// KeepsReports tells whether AddReport keeps what it is given: not for a
// read-only store nor after KeepNoReports, where encoding a report for it
// is waste (a first apply of 10,000 groups makes one of 67 MB).
func (s *Store) KeepsReports() bool { return !s.readOnly && !s.noReports }

// AddReport keeps a report (JSON) of a run started at t; the last
// KeepReports are kept. The store takes reportJSON over: the caller must
// not change it afterwards.
func (s *Store) AddReport(t time.Time, reportJSON []byte) error {
	if s.noReports {
		return nil
	}
	return s.remember(func(x kv) error {
		if err := x.keep(bucketReportBuckets, timeKey(t), reportJSON); err != nil {
			return err
		}
		kept := reportKeys(x)
		for _, r := range kept[:max(0, len(kept)-KeepReports)] {
			if err := x.del(r.bucket, r.key); err != nil {
				return err
			}
		}
		return nil
	})
}

// Reports returns the kept reports, oldest first.
func (s *Store) Reports() [][]byte {
	out := slices.Collect(s.ReportsNewestFirst())
	slices.Reverse(out)
	return out
}

// ReportsNewestFirst yields the kept reports, newest first, each read in
// a transaction of its own as it is asked for: a report can be tens of
// megabytes (a first apply of 10,000 groups makes one of 67 MB), so a
// caller that stops early reads no more of them, one that goes on holds
// one at a time, and no transaction keeps the file while a caller works.
func (s *Store) ReportsNewestFirst() iter.Seq[[]byte] {
	return func(yield func([]byte) bool) {
		var kept []reportAt
		_ = s.view(func(t kv) error {
			kept = reportKeys(t)
			return nil
		})
		for _, r := range slices.Backward(kept) {
			var data []byte
			_ = s.view(func(t kv) error {
				data = t.get(r.bucket, r.key)
				return nil
			})
			if data != nil && !yield(data) {
				return
			}
		}
	}
}

// HasReports tells whether a report is kept, without reading one.
func (s *Store) HasReports() bool {
	found := false
	_ = s.view(func(t kv) error {
		found = len(reportKeys(t)) > 0
		return nil
	})
	return found
}

// LatestReport returns the newest kept report, or nil.
func (s *Store) LatestReport() []byte {
	for data := range s.ReportsNewestFirst() {
		return data
	}
	return nil
}

// timeKey sorts chronologically as bytes (fixed-width UTC).
func timeKey(t time.Time) string { return fmt.Sprintf("%020d", t.UTC().UnixNano()) }

// trim deletes the oldest keys of a bucket beyond keep.
func trim(t kv, bucket []byte, keep int) error {
	var keys []string
	t.each(bucket, func(k string, _ []byte) { keys = append(keys, k) })
	for len(keys) > keep {
		if err := t.del(bucket, keys[0]); err != nil {
			return err
		}
		keys = keys[1:]
	}
	return nil
}

package state

import (
	"encoding/json"
	"strconv"

	"github.com/syncd/syncd/internal/jsonenc"
)

// The audit log and the journal get a line and an entry per write: they
// are appended field by field, the bytes encoding/json would write for
// them (TestEncodingLikeJSON), without its reflection (half the cost of
// recording a write of a hundred people).

// appendUser appends u as json.Marshal writes it: a first run caches a
// match for each of 100,000 people.
func appendUser(b []byte, u *User) []byte {
	b = append(b, `{"id":`...)
	b = jsonenc.Int(b, u.ID)
	b = optString(b, `,"name":`, u.Name)
	b = append(b, `,"seen":`...)
	b = jsonenc.Time(b, u.Seen)
	return append(b, '}')
}

// appendAuditLine appends l as json.Marshal writes it.
func appendAuditLine(b []byte, l *AuditLine) []byte { return appendAuditLineWith(b, l, nil) }

// appendAuditLineWith is appendAuditLine with l's users already encoded
// (nil: encode them): a write's people go to the journal and then to the
// audit log, and are encoded once for both (encodeUsers).
func appendAuditLineWith(b []byte, l *AuditLine, users []byte) []byte {
	b = append(b, `{"time":`...)
	b = jsonenc.Time(b, l.Time)
	b = append(b, `,"run_id":`...)
	b = jsonenc.String(b, l.RunID)
	b = append(b, `,"kind":`...)
	b = jsonenc.String(b, l.Kind)
	b = append(b, `,"group":`...)
	b = jsonenc.String(b, l.Group)
	b = append(b, `,"tag":`...)
	b = jsonenc.String(b, l.Tag)
	b = append(b, `,"users":`...)
	if users != nil {
		b = append(b, users...)
	} else {
		b = appendAuditUsers(b, l.Users)
	}
	b = append(b, `,"groups":`...)
	b = jsonenc.Strings(b, l.Groups)
	b = append(b, `,"result":`...)
	b = jsonenc.String(b, l.Result)
	b = append(b, `,"error":`...)
	b = jsonenc.String(b, l.Error)
	b = append(b, `,"seq":`...)
	b = jsonenc.Int(b, l.Seq)
	b = optString(b, `,"call":`, l.Call)
	b = optString(b, `,"approval":`, l.Approval)
	b = optString(b, `,"by":`, l.By)
	b = optString(b, `,"reason":`, l.Reason)
	if l.Expires != nil {
		b = append(b, `,"expires":`...)
		b = jsonenc.Time(b, *l.Expires)
	}
	return append(b, '}')
}

// encodeUsers encodes the users of each line that has a list (nil for
// one without).
func encodeUsers(lines []AuditLine) [][]byte {
	out := make([][]byte, len(lines))
	for i, l := range lines {
		if l.Users != nil {
			size := 2
			for _, u := range l.Users {
				size += 24 + len(u.Email)
			}
			out[i] = appendAuditUsers(make([]byte, 0, size), l.Users)
		}
	}
	return out
}

func appendAuditUsers(b []byte, users []AuditUser) []byte {
	if users == nil {
		return append(b, "null"...)
	}
	b = append(b, '[')
	for i, u := range users {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"id":`...)
		b = jsonenc.Int(b, u.ID)
		b = append(b, `,"email":`...)
		b = jsonenc.String(b, u.Email)
		b = append(b, '}')
	}
	return append(b, ']')
}

// optString appends a field with omitempty.
func optString(b []byte, field, s string) []byte {
	if s == "" {
		return b
	}
	return jsonenc.String(append(b, field...), s)
}

// appendJournalEntry appends e as json.Marshal writes it.
func appendJournalEntry(b []byte, e *journalEntry) []byte {
	b = append(b, `{"seq":`...)
	b = jsonenc.Int(b, e.Seq)
	b = append(b, `,"run_id":`...)
	b = jsonenc.String(b, e.RunID)
	b = append(b, `,"target":`...)
	b = jsonenc.String(b, e.Target)
	b = append(b, `,"call":`...)
	b = jsonenc.String(b, e.Call)
	b = append(b, `,"started":`...)
	b = jsonenc.Time(b, e.Started)
	b = append(b, `,"lines":`...)
	if e.Lines == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i := range e.Lines {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendAuditLineWith(b, &e.Lines[i], e.usersOf(i))
		}
		b = append(b, ']')
	}
	if len(e.Ledger) > 0 {
		b = append(b, `,"ledger":[`...)
		for i := range e.Ledger {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendLedgerDelta(b, &e.Ledger[i])
		}
		b = append(b, ']')
	}
	if e.Create != nil {
		b = appendLedgerDelta(append(b, `,"create":`...), e.Create)
	}
	return append(b, '}')
}

func appendLedgerDelta(b []byte, d *ledgerDelta) []byte {
	b = append(b, `{"key":`...)
	b = jsonenc.String(b, d.Key)
	if len(d.New) > 0 {
		b = jsonenc.Ints(append(b, `,"new":`...), d.New)
	}
	if len(d.Removed) > 0 {
		b = jsonenc.Ints(append(b, `,"removed":`...), d.Removed)
	}
	return append(b, '}')
}

// getInts reads a list of ids as getJSON does: its form as putInts (or
// json.Marshal) writes it, [1,2,3], is read without reflection; anything
// else goes through encoding/json. ok is false when the key holds none.
func getInts(t kv, bucket []byte, key string) (ids []int, ok bool) {
	v := t.get(bucket, key)
	if v == nil {
		return nil, false
	}
	if ids, ok := parseInts(v); ok {
		return ids, true
	}
	return ids, json.Unmarshal(v, &ids) == nil
}

// putInts writes a list of ids as putJSON does.
func putInts(t kv, bucket []byte, key string, ids []int) error {
	return t.put(bucket, key, jsonenc.Ints(make([]byte, 0, 2+8*len(ids)), ids))
}

// parseInts parses exactly "[" decimal ("," decimal)* "]" or "[]".
func parseInts(v []byte) ([]int, bool) {
	if len(v) < 2 || v[0] != '[' || v[len(v)-1] != ']' {
		return nil, false
	}
	body := v[1 : len(v)-1]
	out := make([]int, 0, len(body)/4+1)
	for len(body) > 0 {
		end := 0
		for end < len(body) && body[end] != ',' {
			end++
		}
		if !plainInt(body[:end]) {
			return nil, false // not as json.Marshal writes it: let encoding/json judge
		}
		n, err := strconv.Atoi(string(body[:end]))
		if err != nil {
			return nil, false
		}
		out = append(out, n)
		if end == len(body) {
			break
		}
		body = body[end+1:]
		if len(body) == 0 {
			return nil, false // a trailing comma
		}
	}
	return out, true
}

// plainInt reports an optional minus and digits without a leading zero
// (or a lone 0), as json.Marshal writes an integer.
func plainInt(b []byte) bool {
	if len(b) > 0 && b[0] == '-' {
		b = b[1:]
	}
	if len(b) == 0 || (b[0] == '0' && len(b) > 1) {
		return false
	}
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

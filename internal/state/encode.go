package state

import "github.com/syncd/syncd/internal/jsonenc"

// The audit log and the journal get a line and an entry per write: they
// are appended field by field, the bytes encoding/json would write for
// them (TestEncodingLikeJSON), without its reflection (half the cost of
// recording a write of a hundred people).

// appendAuditLine appends l as json.Marshal writes it.
func appendAuditLine(b []byte, l *AuditLine) []byte {
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
	b = appendAuditUsers(b, l.Users)
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
			b = appendAuditLine(b, &e.Lines[i])
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

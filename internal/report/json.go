package report

import (
	"bytes"
	"encoding/json"
	"io"
	"time"

	"github.com/syncd/syncd/internal/jsonenc"
)

// MarshalJSON writes the contract JSON of DESIGN.md §6: every array present
// (an empty list is [], never null) and times in RFC 3339 to the second.
// Defined on the value so that json.Marshal gives the same bytes for a
// Report and a *Report, wherever the engine stores or serves one.
//
// It appends the document field by field (appendJSON), the bytes the
// reflection of encoding/json gave (reflectJSON, TestJSONLikeReflection):
// a cold run's report names a million people, 67 MB of JSON, which
// reflection took half a second to write.
func (r Report) MarshalJSON() ([]byte, error) {
	if !r.approvalTimesValid() {
		return r.reflectJSON() // for its error, which appendJSON would not give
	}
	return r.appendJSON(make([]byte, 0, r.sizeHint())), nil
}

// reflectJSON is MarshalJSON through encoding/json.
func (r Report) reflectJSON() ([]byte, error) {
	type plain Report // no methods: avoids recursing into MarshalJSON
	out := struct {
		plain
		StartedAt  string `json:"started_at"`
		FinishedAt string `json:"finished_at"`
	}{plain: plain(r.normalized()), StartedAt: rfc3339(r.StartedAt), FinishedAt: rfc3339(r.FinishedAt)}
	return json.Marshal(out)
}

func rfc3339(t time.Time) string { return t.Format(time.RFC3339) }

// normalized returns a copy whose nil slices are empty, so they encode as [].
func (r Report) normalized() Report {
	r.Changes = nonNil(r.Changes)
	r.Pending = nonNil(r.Pending)
	r.Errors = nonNil(r.Errors)
	changes := make([]Change, len(r.Changes))
	for i, c := range r.Changes {
		c.Users = nonNil(c.Users)
		c.Groups = nonNil(c.Groups)
		changes[i] = c
	}
	r.Changes = changes
	pending := make([]Pending, len(r.Pending))
	for i, p := range r.Pending {
		p.Groups = nonNil(p.Groups)
		pending[i] = p
	}
	r.Pending = pending
	return r
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// renderJSON writes the contract JSON indented, as json.Encoder with an
// indent writes it, without its copies: the encoder checks and copies
// what MarshalJSON made, then indents it into a buffer it grows from
// nothing (870 MB allocated for the 117 MB of a first apply's report).
func renderJSON(w io.Writer, r *Report) error {
	data, err := r.MarshalJSON()
	if err != nil {
		return err
	}
	var out bytes.Buffer
	out.Grow(2*len(data) + 1)
	if err := json.Indent(&out, data, "", "  "); err != nil {
		return err
	}
	out.WriteByte('\n')
	_, err = out.WriteTo(w)
	return err
}

// appendJSON appends the report as reflectJSON writes it: the fields in
// their order, the times of the run as strings beside them.
func (r Report) appendJSON(b []byte) []byte {
	b = append(b, `{"mode":`...)
	b = jsonenc.String(b, r.Mode)
	b = appendSummary(append(b, `,"summary":`...), &r.Summary)
	b = append(b, `,"changes":[`...)
	for i := range r.Changes {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendChange(b, &r.Changes[i])
	}
	b = append(b, `],"pending":[`...)
	for i, p := range r.Pending {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"email":`...)
		b = jsonenc.String(b, p.Email)
		b = jsonenc.Strings(append(b, `,"groups":`...), nonNil(p.Groups))
		b = append(b, '}')
	}
	b = jsonenc.Strings(append(b, `],"errors":`...), nonNil(r.Errors))
	b = jsonenc.Bool(append(b, `,"nothing_compared":`...), r.NothingCompared)
	if r.RunID != "" {
		b = jsonenc.String(append(b, `,"run_id":`...), r.RunID)
	}
	b = jsonenc.String(append(b, `,"started_at":`...), rfc3339(r.StartedAt))
	b = jsonenc.String(append(b, `,"finished_at":`...), rfc3339(r.FinishedAt))
	return append(b, '}')
}

func appendSummary(b []byte, s *Summary) []byte {
	b = jsonenc.Int(append(b, `{"source_groups":`...), s.SourceGroups)
	b = jsonenc.Int(append(b, `,"source_users":`...), s.SourceUsers)
	b = jsonenc.Int(append(b, `,"matched_users":`...), s.MatchedUsers)
	b = jsonenc.Int(append(b, `,"pending_users":`...), s.PendingUsers)
	b = jsonenc.Int(append(b, `,"changes_planned":`...), s.ChangesPlanned)
	b = jsonenc.Int(append(b, `,"changes_applied":`...), s.ChangesApplied)
	b = jsonenc.Int(append(b, `,"changes_failed":`...), s.ChangesFailed)
	b = jsonenc.Int(append(b, `,"changes_held":`...), s.ChangesHeld)
	b = jsonenc.Int(append(b, `,"api_calls":`...), s.APICalls)
	return append(b, '}')
}

func appendChange(b []byte, c *Change) []byte {
	b = append(b, `{"kind":`...)
	b = jsonenc.String(b, c.Kind)
	b = jsonenc.String(append(b, `,"group":`...), c.Group)
	b = jsonenc.String(append(b, `,"tag":`...), c.Tag)
	b = append(b, `,"users":[`...)
	for i, u := range c.Users {
		if i > 0 {
			b = append(b, ',')
		}
		b = jsonenc.Int(append(b, `{"id":`...), u.ID)
		b = jsonenc.String(append(b, `,"email":`...), u.Email)
		b = jsonenc.String(append(b, `,"name":`...), u.Name)
		b = append(b, '}')
	}
	b = jsonenc.Strings(append(b, `],"groups":`...), nonNil(c.Groups))
	b = jsonenc.String(append(b, `,"status":`...), c.Status)
	b = jsonenc.String(append(b, `,"error":`...), c.Error)
	if c.Reason != "" {
		b = jsonenc.String(append(b, `,"reason":`...), c.Reason)
	}
	if d := c.Description; d != nil {
		b = jsonenc.String(append(b, `,"description":{"old":`...), d.Old)
		b = jsonenc.String(append(b, `,"new":`...), d.New)
		b = append(b, '}')
	}
	if c.ID != "" {
		b = jsonenc.String(append(b, `,"id":`...), c.ID)
	}
	if a := c.Approval; a != nil {
		b = jsonenc.String(append(b, `,"approval":{"by":`...), a.By)
		b = jsonenc.Time(append(b, `,"at":`...), a.At)
		b = jsonenc.Time(append(b, `,"expires":`...), a.Expires)
		if a.Reason != "" {
			b = jsonenc.String(append(b, `,"reason":`...), a.Reason)
		}
		b = append(b, '}')
	}
	return append(b, '}')
}

// approvalTimesValid tells whether every approval's times are ones
// encoding/json writes (years 0 to 9999); it refuses others.
func (r Report) approvalTimesValid() bool {
	ok := func(t time.Time) bool { return t.Year() >= 0 && t.Year() <= 9999 }
	for _, c := range r.Changes {
		if a := c.Approval; a != nil && (!ok(a.At) || !ok(a.Expires)) {
			return false
		}
	}
	return true
}

// sizeHint is about the length of the report's JSON, so that it is
// built in one allocation: a cold run's is tens of megabytes.
func (r Report) sizeHint() int {
	n := 512 + 64*len(r.Pending) + 128*len(r.Errors)
	for _, c := range r.Changes {
		n += 192 + 32*len(c.Groups) + len(c.Error)
		for _, u := range c.Users {
			n += 40 + len(u.Email) + len(u.Name) // {"id":…,"email":"","name":""}, with room for escapes
		}
	}
	return n
}

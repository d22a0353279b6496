package report

import (
	"encoding/json"
	"io"
	"time"
)

// MarshalJSON writes the contract JSON of DESIGN.md §6: every array present
// (an empty list is [], never null) and times in RFC 3339 to the second.
// Defined on the value so that json.Marshal gives the same bytes for a
// Report and a *Report, wherever the engine stores or serves one.
func (r Report) MarshalJSON() ([]byte, error) {
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

func renderJSON(w io.Writer, r *Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

package report

import "github.com/syncd/syncd/internal/plural"

// failures is what a report opens with when its run is not a complete
// comparison or not a complete apply: a heading, a sentence on what that
// means, and every failure, before any list of changes. A reader who looks
// no further must not take such a run for agreement.
type failures struct {
	Title   string // "Failed: nothing was compared", "Incomplete: 1 error", ...
	Note    string
	Errors  []string
	Changes []failedChange
}

// failedChange is a change the apply could not make.
type failedChange struct {
	Where, What, Error string
}

// Notes under the heading.
const (
	noteNothingCompared = "The run stopped before it could compare the directory with Teams: " +
		"nothing was planned or changed, and the report says nothing about what differs."
	noteIncomplete = "Some of the directory or of Teams could not be read or planned completely: " +
		"nothing is removed where that applies; the rest of the report stands."
)

// failures returns the report's failures, or nil when there are none.
func (r *Report) failures() *failures {
	f := &failures{Errors: r.Errors}
	for _, c := range r.Changes {
		if c.Status == StatusFailed {
			f.Changes = append(f.Changes, failedChange{Where: sectionName(c), What: whatOf(c), Error: c.Error})
		}
	}
	errs := plural.Count(len(r.Errors), "error")
	switch {
	case r.NothingCompared:
		f.Title, f.Note = "Failed: nothing was compared", noteNothingCompared
	case len(f.Changes) > 0:
		f.Title = "Failed: " + plural.Of(len(f.Changes), "change could not be applied", "changes could not be applied")
		if len(r.Errors) > 0 {
			f.Title += "; " + errs
			f.Note = noteIncomplete
		}
	case len(r.Errors) > 0:
		f.Title, f.Note = "Incomplete: "+errs, noteIncomplete
	default:
		return nil
	}
	return f
}

// whatOf says what one change does: "add 2 people", "create 1 group".
func whatOf(c Change) string {
	var w Work
	w.count(c)
	return w.Phrase(false)
}

// noChangesText is what a report without changes says instead of a list.
func (r *Report) noChangesText() string {
	switch {
	case r.NothingCompared:
		return "Nothing was compared: the run stopped before planning (see the errors above)."
	case len(r.Errors) > 0:
		return "No changes in what could be read, but the comparison is incomplete (see the errors above)."
	}
	return "No changes: Teams matches the directory."
}

package report

import (
	"strings"

	"github.com/syncd/syncd/internal/plural"
)

// One counting unit everywhere: a *change* is a logical change, one entry
// of the JSON report's changes (as summary.changes_planned counts them).
// What a change does to people and user groups is counted apart and always
// named: "3 changes (add 10 people, remove 1 person)", never a bare "10".

// Entries counts the people and user groups (SME groups) of changes.
type Entries struct{ People, Groups int }

func (e Entries) zero() bool { return e.People == 0 && e.Groups == 0 }

// String names the entries: "5 people and 1 user group", "1 person".
func (e Entries) String() string {
	var parts []string
	if e.People > 0 || e.Groups == 0 {
		parts = append(parts, plural.Of(e.People, "person", "people"))
	}
	if e.Groups > 0 {
		parts = append(parts, plural.Count(e.Groups, "user group"))
	}
	return strings.Join(parts, " and ")
}

// Work is what a set of changes does.
type Work struct {
	Changes     int
	Create      int // Teams groups created (their first members count in Add)
	Add, Remove Entries
	Update      int // descriptions
}

func (w *Work) count(c Change) {
	w.Changes++
	n := Entries{People: len(c.Users), Groups: len(c.Groups)}
	switch signOf(c.Kind) {
	case "-":
		w.Remove.People += n.People
		w.Remove.Groups += n.Groups
	case "~":
		w.Update++
	default:
		w.Add.People += n.People
		w.Add.Groups += n.Groups
	}
	if c.Kind == KindCreateGroup {
		w.Create++
	}
}

// Phrase says what the changes do, in the present ("create 1 group, add
// 5 people") or the past ("created 1 group, added 5 people").
func (w Work) Phrase(past bool) string {
	verb := func(present, done string) string {
		if past {
			return done + " "
		}
		return present + " "
	}
	var parts []string
	if w.Create > 0 {
		parts = append(parts, verb("create", "created")+plural.Count(w.Create, "group"))
	}
	if !w.Add.zero() {
		parts = append(parts, verb("add", "added")+w.Add.String())
	}
	if !w.Remove.zero() {
		parts = append(parts, verb("remove", "removed")+w.Remove.String())
	}
	if w.Update > 0 {
		parts = append(parts, verb("update", "updated")+plural.Count(w.Update, "description"))
	}
	return strings.Join(parts, ", ")
}

// counted is "3 changes (add 10 people)", the changes and what they do.
func (w Work) counted(past bool) string {
	s := plural.Count(w.Changes, "change")
	if p := w.Phrase(past); p != "" {
		s += " (" + p + ")"
	}
	return s
}

// Tally is what a run's changes do, by status.
type Tally struct {
	Planned Work // still planned: a dry run, or not attempted by an apply
	Applied Work
	Failed  Work
	Held    Work
	Pending int // people without a Teams account yet
	Errors  int
}

// Tally counts the report's changes.
func (r *Report) Tally() Tally {
	t := tallyOf(r.Changes)
	t.Pending = max(len(r.Pending), r.Summary.PendingUsers)
	t.Errors = len(r.Errors)
	return t
}

func tallyOf(changes []Change) Tally {
	var t Tally
	for _, c := range changes {
		t = t.with(c)
	}
	return t
}

// with returns t with c counted under its status.
func (t Tally) with(c Change) Tally {
	switch c.Status {
	case StatusApplied:
		t.Applied.count(c)
	case StatusFailed:
		t.Failed.count(c)
	case StatusHeld:
		t.Held.count(c)
	default:
		t.Planned.count(c)
	}
	return t
}

// SummaryLine is the run in one line, the closing line of the text report
// and the verdict at the top of the others:
//
//	Plan: 7 changes (create 1 group, add 5 people, remove 2 people); 1 change held (remove 3 people), 2 people pending — dry run, nothing was changed.
//	Applied: 3 changes (added 3 people, removed 1 person); 1 change failed (add 1 user group) — 13 API calls.
//	No changes: Teams matches the directory — dry run.
//	Incomplete: no changes in what could be read; 1 error — dry run.
//	Nothing was compared: the run stopped before planning, with 2 errors; nothing was changed.
func (r *Report) SummaryLine() string {
	t := r.Tally()
	switch {
	case r.NothingCompared:
		return "Nothing was compared: the run stopped before planning, with " + plural.Count(t.Errors, "error") +
			"; nothing was changed."
	case !r.HasChanges():
		return noChangesLine(r, t)
	case r.Mode == ModeApply:
		return applyLine(r, t)
	}
	return planLine(t)
}

func noChangesLine(r *Report, t Tally) string {
	var parts []string
	head := "No changes: Teams matches the directory"
	if t.Errors > 0 {
		head = "Incomplete: no changes in what could be read"
		parts = append(parts, plural.Count(t.Errors, "error"))
	}
	parts = append(parts, t.extras()...)
	if r.Mode == ModeApply && r.Summary.APICalls > 0 {
		parts = append(parts, plural.Count(r.Summary.APICalls, "API call"))
	}
	if len(parts) > 0 {
		head += "; " + strings.Join(parts, ", ")
	}
	if r.Mode != ModeApply {
		head += " — dry run"
	}
	return head + "."
}

// extras are the people pending, the common tail of every summary.
func (t Tally) extras() []string {
	if t.Pending == 0 {
		return nil
	}
	return []string{plural.Of(t.Pending, "person pending", "people pending")}
}

func planLine(t Tally) string {
	var rest []string
	if t.Held.Changes > 0 {
		rest = append(rest, t.Held.heldPhrase())
	}
	rest = append(rest, t.extras()...)
	if t.Errors > 0 {
		rest = append(rest, plural.Count(t.Errors, "error"))
	}
	return "Plan: " + t.Planned.counted(false) + tail(rest) + " — dry run, nothing was changed."
}

func applyLine(r *Report, t Tally) string {
	var rest []string
	if t.Failed.Changes > 0 {
		rest = append(rest, withPhrase(plural.Of(t.Failed.Changes, "change failed", "changes failed"), t.Failed.Phrase(false)))
	}
	if t.Held.Changes > 0 {
		rest = append(rest, t.Held.heldPhrase())
	}
	if t.Planned.Changes > 0 {
		rest = append(rest, withPhrase(plural.Of(t.Planned.Changes, "change not attempted", "changes not attempted"), t.Planned.Phrase(false)))
	}
	rest = append(rest, t.extras()...)
	if t.Errors > 0 {
		rest = append(rest, plural.Count(t.Errors, "error"))
	}
	return "Applied: " + t.Applied.counted(true) + tail(rest) + " — " + plural.Count(r.Summary.APICalls, "API call") + "."
}

func (w Work) heldPhrase() string {
	return withPhrase(plural.Of(w.Changes, "change held", "changes held"), w.Phrase(false))
}

func withPhrase(s, phrase string) string {
	if phrase == "" {
		return s
	}
	return s + " (" + phrase + ")"
}

func tail(parts []string) string {
	if len(parts) == 0 {
		return ""
	}
	return "; " + strings.Join(parts, ", ")
}

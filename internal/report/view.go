package report

import (
	"fmt"
	"strings"
	"time"
)

// This file turns the flat list of changes into what a person reads: one
// section per Teams group and per tag, each holding its changes as +/- lines.
// The text, Markdown and HTML forms all render this same view, so they show
// the same content in the same order.

// Section kinds.
const (
	sectionGroup = "group"
	sectionTag   = "tag"
)

// section gathers the changes of one Teams group or one tag.
type section struct {
	Kind    string // sectionGroup | sectionTag
	Name    string
	Create  *Change // the create_group change, when the group is new
	Changes []changeView
}

// Title is the section heading without markup.
func (s section) Title() string {
	if s.Kind == sectionTag {
		return fmt.Sprintf("Tag %q subject-matter experts", s.Name)
	}
	return fmt.Sprintf("Teams group %q", s.Name)
}

// CreateNote says what happens to a new group, for the heading.
func (s section) CreateNote() string {
	if s.Create == nil {
		return ""
	}
	switch s.Create.Status {
	case StatusApplied:
		return "created"
	case StatusFailed:
		return "creation failed"
	case StatusHeld:
		return "creation held"
	}
	return "will be created"
}

// changeView is one change with its lines.
type changeView struct {
	Change
	Lines []line
}

// Detail is the error or hold reason to show under the change, if any.
func (c changeView) Detail() string {
	switch c.Status {
	case StatusFailed:
		if c.Error == "" {
			return "failed"
		}
		return "failed: " + c.Error
	case StatusHeld:
		if c.Reason == "" {
			return "held"
		}
		return "held: " + c.Reason
	}
	return ""
}

// heldLinesShown caps the lines of a held change in the text and Markdown
// forms: a directory group that lost thousands of members would otherwise
// bury the rest of the plan under lines that will not be applied anyway.
const heldLinesShown = 10

// shownLines returns the lines to print of c and how many were left out.
func shownLines(c changeView) ([]line, int) {
	if c.Status != StatusHeld || len(c.Lines) <= heldLinesShown+1 {
		return c.Lines, 0
	}
	return c.Lines[:heldLinesShown], len(c.Lines) - heldLinesShown
}

// line is one "+ Name <email>" / "- group X" / "~ description" entry.
type line struct {
	Sign  string // "+", "-" or "~"
	User  *User  // set for a person
	Group string // set for an SME user group
	Note  string // set for a description update
}

// Label is the line's subject in plain text: "Name <email>", "group X", ...
func (l line) Label() string {
	switch {
	case l.User != nil:
		return userLabel(*l.User)
	case l.Note != "":
		return l.Note
	}
	return "group " + l.Group
}

func userLabel(u User) string {
	switch {
	case u.Name != "" && u.Email != "":
		return u.Name + " <" + u.Email + ">"
	case u.Email != "":
		return "<" + u.Email + ">"
	case u.Name != "":
		return fmt.Sprintf("%s (#%d)", u.Name, u.ID)
	}
	return fmt.Sprintf("user #%d", u.ID)
}

// signOf tells whether a kind adds, removes or updates.
func signOf(kind string) string {
	switch kind {
	case KindRemoveMembers, KindRemoveSMEUsers, KindRemoveSMEGroups:
		return "-"
	case KindUpdateGroup:
		return "~"
	}
	return "+"
}

func linesOf(c Change) []line {
	sign := signOf(c.Kind)
	if c.Kind == KindUpdateGroup {
		return []line{{Sign: sign, Note: "description updated"}}
	}
	out := make([]line, 0, len(c.Users)+len(c.Groups))
	for i := range c.Users {
		out = append(out, line{Sign: sign, User: &c.Users[i]})
	}
	for _, g := range c.Groups {
		out = append(out, line{Sign: sign, Group: g})
	}
	return out
}

// sections groups the changes: Teams groups first, then tags, each in the
// order the engine listed them (the engine sorts; we keep its order).
func (r *Report) sections() []section {
	var groups, tags []*section
	index := map[string]*section{}
	for _, c := range r.Changes {
		kind, name := sectionGroup, c.Group
		if c.Tag != "" {
			kind, name = sectionTag, c.Tag
		}
		s := index[kind+"\x00"+name]
		if s == nil {
			s = &section{Kind: kind, Name: name}
			index[kind+"\x00"+name] = s
			if kind == sectionTag {
				tags = append(tags, s)
			} else {
				groups = append(groups, s)
			}
		}
		if c.Kind == KindCreateGroup {
			create := c
			s.Create = &create
		}
		s.Changes = append(s.Changes, changeView{Change: c, Lines: linesOf(c)})
	}
	out := make([]section, 0, len(groups)+len(tags))
	for _, s := range append(groups, tags...) {
		out = append(out, *s)
	}
	return out
}

// held lists the held changes, for the "held" section.
func (r *Report) held() []changeView {
	var out []changeView
	for _, c := range r.Changes {
		if c.Status == StatusHeld {
			out = append(out, changeView{Change: c, Lines: linesOf(c)})
		}
	}
	return out
}

// Tally counts what a run plans or did, entry by entry (a change adding
// three people counts three), which is what a reader wants in the summary
// line. The contract's Summary counts logical changes instead.
type Tally struct {
	ToCreate, ToAdd, ToRemove, ToUpdate int // still planned (dry run, or not attempted)
	Created, Added, Removed, Updated    int // applied
	Failed, Held                        int // entries failed / held back
	PlannedChanges, FailedChanges       int // changes, not entries
	HeldChanges                         int
	Pending, Errors                     int
}

// Tally counts the report's changes.
func (r *Report) Tally() Tally {
	var t Tally
	for _, c := range r.Changes {
		t.count(c)
	}
	t.Pending = max(len(r.Pending), r.Summary.PendingUsers)
	t.Errors = len(r.Errors)
	return t
}

func (t *Tally) count(c Change) {
	n := len(c.Users) + len(c.Groups)
	if c.Kind == KindUpdateGroup {
		n = 1
	}
	switch c.Status {
	case StatusApplied:
		t.applied(c, n)
	case StatusFailed:
		t.Failed += n
		t.FailedChanges++
	case StatusHeld:
		t.Held += n
		t.HeldChanges++
	default:
		t.planned(c, n)
	}
}

func (t *Tally) planned(c Change, n int) {
	t.PlannedChanges++
	switch signOf(c.Kind) {
	case "-":
		t.ToRemove += n
	case "~":
		t.ToUpdate++
	default:
		t.ToAdd += n
	}
	if c.Kind == KindCreateGroup {
		t.ToCreate++
	}
}

func (t *Tally) applied(c Change, n int) {
	switch signOf(c.Kind) {
	case "-":
		t.Removed += n
	case "~":
		t.Updated++
	default:
		t.Added += n
	}
	if c.Kind == KindCreateGroup {
		t.Created++
	}
}

// HasChanges reports whether the run planned or attempted any change.
func (r *Report) HasChanges() bool { return len(r.Changes) > 0 }

// Duration is how long the run took (zero when a time is missing).
func (r *Report) Duration() time.Duration {
	if r.StartedAt.IsZero() || r.FinishedAt.IsZero() || r.FinishedAt.Before(r.StartedAt) {
		return 0
	}
	return r.FinishedAt.Sub(r.StartedAt)
}

// SummaryLine is the closing line of the text report, also fit for a log:
//
//	Plan: 1 group to create, 3 to add, 1 to remove; 2 held, 4 pending — dry run, nothing was changed.
//	Applied: 3 added, 1 removed; 1 failed, 2 held, 4 pending — 7 API calls.
//	No changes. 4 pending.
func (r *Report) SummaryLine() string {
	t := r.Tally()
	if !r.HasChanges() {
		return noChangesLine(r, t)
	}
	if r.Mode == ModeApply {
		return applyLine(r, t)
	}
	return planLine(t)
}

func noChangesLine(r *Report, t Tally) string {
	var parts []string
	if t.Pending > 0 {
		parts = append(parts, fmt.Sprintf("%d pending", t.Pending))
	}
	if t.Errors > 0 {
		parts = append(parts, plural(t.Errors, "error", "errors"))
	}
	if r.Mode == ModeApply && r.Summary.APICalls > 0 {
		parts = append(parts, plural(r.Summary.APICalls, "API call", "API calls"))
	}
	if len(parts) == 0 {
		if r.Mode == ModeApply {
			return "No changes. Teams matches the directory."
		}
		return "No changes. Teams matches the directory — dry run."
	}
	return "No changes; " + strings.Join(parts, ", ") + "."
}

func planLine(t Tally) string {
	var first []string
	if t.ToCreate > 0 {
		first = append(first, plural(t.ToCreate, "group to create", "groups to create"))
	}
	first = append(first, fmt.Sprintf("%d to add", t.ToAdd), fmt.Sprintf("%d to remove", t.ToRemove))
	if t.ToUpdate > 0 {
		first = append(first, fmt.Sprintf("%d to update", t.ToUpdate))
	}
	second := []string{fmt.Sprintf("%d held", t.Held), fmt.Sprintf("%d pending", t.Pending)}
	if t.Errors > 0 {
		second = append(second, plural(t.Errors, "error", "errors"))
	}
	return "Plan: " + strings.Join(first, ", ") + "; " + strings.Join(second, ", ") +
		" — dry run, nothing was changed."
}

func applyLine(r *Report, t Tally) string {
	var first []string
	if t.Created > 0 {
		first = append(first, plural(t.Created, "group created", "groups created"))
	}
	first = append(first, fmt.Sprintf("%d added", t.Added), fmt.Sprintf("%d removed", t.Removed))
	if t.Updated > 0 {
		first = append(first, fmt.Sprintf("%d updated", t.Updated))
	}
	second := []string{fmt.Sprintf("%d failed", t.Failed), fmt.Sprintf("%d held", t.Held), fmt.Sprintf("%d pending", t.Pending)}
	if t.PlannedChanges > 0 {
		second = append(second, plural(t.PlannedChanges, "change not attempted", "changes not attempted"))
	}
	if t.Errors > 0 {
		second = append(second, plural(t.Errors, "error", "errors"))
	}
	return "Applied: " + strings.Join(first, ", ") + "; " + strings.Join(second, ", ") +
		" — " + plural(r.Summary.APICalls, "API call", "API calls") + "."
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

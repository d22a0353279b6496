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
	return "User group " + fmt.Sprintf("%q", s.Name)
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

// Detail is the error or hold reason to show under the change, if any,
// or who approved it.
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
	return c.ApprovalNote()
}

// ApprovalNote says who approved an approved held change, or "".
func (c Change) ApprovalNote() string {
	a := c.Approval
	if a == nil {
		return ""
	}
	note := fmt.Sprintf("approved held change %s, by %s at %s", c.ID, orSomeone(a.By), stamp(a.At))
	if a.Reason != "" {
		note += " (held because " + a.Reason + ")"
	}
	return note
}

func orSomeone(by string) string {
	if by == "" {
		return "an operator"
	}
	return by
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

// Summary says what the section's changes do, by status: "add 321
// people, remove 2 people; held: remove 3 people". In an apply, changes
// still planned were not attempted.
func (s section) Summary(mode string) string {
	var t Tally
	for _, c := range s.Changes {
		t = t.with(c.Change)
	}
	var parts []string
	if p := t.Planned.Phrase(false); p != "" {
		if mode == ModeApply {
			p = "not attempted: " + p
		}
		parts = append(parts, p)
	}
	if p := t.Applied.Phrase(true); p != "" {
		parts = append(parts, p)
	}
	if p := t.Failed.Phrase(false); p != "" {
		parts = append(parts, "failed: "+p)
	}
	if p := t.Held.Phrase(false); p != "" {
		parts = append(parts, "held: "+p)
	}
	return strings.Join(parts, "; ")
}

// Size is the number of lines the section shows.
func (s section) Size() int {
	n := 0
	for _, c := range s.Changes {
		n += max(1, len(c.Lines))
	}
	return n
}

// line is one "+ Name <email>" / "- group X" / "~ description" entry.
type line struct {
	Sign  string       // "+", "-" or "~"
	User  *User        // set for a person
	Group string       // set for an SME user group
	Note  string       // set for a description update
	Desc  *Description // its old and new text, when known
}

// Label is the line's subject in plain text: "Name <email>", "group X",
// `description "old" → "new"`.
func (l line) Label() string {
	switch {
	case l.User != nil:
		return UserLabel(*l.User)
	case l.Desc != nil:
		return "description " + quoted(l.Desc.Old) + " → " + quoted(l.Desc.New)
	case l.Note != "":
		return l.Note
	}
	return GroupLabel(l.Group)
}

// quoted shows a description in quotes, or that there is none.
func quoted(s string) string {
	if s == "" {
		return "(none)"
	}
	return "“" + s + "”"
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
		// A report from before descriptions were recorded has none.
		return []line{{Sign: sign, Note: "description updated", Desc: c.Description}}
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

// HasChanges reports whether the run planned or attempted any change.
func (r *Report) HasChanges() bool { return len(r.Changes) > 0 }

// Duration is how long the run took (zero when a time is missing).
func (r *Report) Duration() time.Duration {
	if r.StartedAt.IsZero() || r.FinishedAt.IsZero() || r.FinishedAt.Before(r.StartedAt) {
		return 0
	}
	return r.FinishedAt.Sub(r.StartedAt)
}

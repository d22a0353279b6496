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
	// Hidden counts the change's lines a page too long to show whole
	// leaves out (sectionsShowing).
	Hidden int
}

// Empty tells a change with no line at all: a group created without
// members.
func (c changeView) Empty() bool { return len(c.Lines) == 0 && c.Hidden == 0 }

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
		return c.Lines, c.Hidden
	}
	return c.Lines[:heldLinesShown], len(c.Lines) - heldLinesShown + c.Hidden
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

// Size is the number of lines the section has (shown or not): a change
// without any still takes one.
func (s section) Size() int {
	n := 0
	for _, c := range s.Changes {
		n += max(1, len(c.Lines)+c.Hidden)
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

// linesIn is how many lines change c has.
func linesIn(c Change) int {
	if c.Kind == KindUpdateGroup {
		return 1
	}
	return len(c.Users) + len(c.Groups)
}

// linesOf returns the first n lines of c (n at most linesIn(c)).
func linesOf(c Change, n int) []line {
	sign := signOf(c.Kind)
	if c.Kind == KindUpdateGroup {
		// A report from before descriptions were recorded has none.
		return []line{{Sign: sign, Note: "description updated", Desc: c.Description}}[:n]
	}
	out := make([]line, 0, n)
	for i := range c.Users[:min(n, len(c.Users))] {
		out = append(out, line{Sign: sign, User: &c.Users[i]})
	}
	for _, g := range c.Groups[:n-len(out)] {
		out = append(out, line{Sign: sign, Group: g})
	}
	return out
}

// sections groups the changes: Teams groups first, then tags, each in the
// order the engine listed them (the engine sorts; we keep its order).
func (r *Report) sections() []section {
	secs, _ := r.sectionsShowing(-1, -1)
	return secs
}

// pageLines and pageSections bound what the HTML form shows of a report:
// a first apply of 10,000 groups of 100 people has a million lines, which
// made an HTML page of 254 MB (2.3 GB allocated to render it, per view of
// /reports/latest) that no browser shows. The page keeps the first
// pageLines lines, and the headings (with their counts) of the first
// pageSections groups and tags. The text and JSON forms, for files and
// scripts, always list every line; the Markdown form has bounds of its own.
const (
	pageLines    = 20000
	pageSections = 1000
)

// omitted is what sectionsShowing left out: lines (of the sections shown
// and of those left out) and whole sections.
type omitted struct{ Lines, Sections int }

// sectionsShowing is sections with at most lines lines and sections
// sections in all (a negative bound: no bound), in order: once the lines
// are spent, the changes of the sections still shown keep none and count
// them in Hidden (a change without lines counts as one).
func (r *Report) sectionsShowing(lines, sections int) ([]section, omitted) {
	secs := r.grouped()
	var left omitted
	if sections >= 0 && len(secs) > sections {
		for _, s := range secs[sections:] {
			for _, c := range s.Changes {
				left.Lines += max(1, linesIn(c.Change))
			}
		}
		left.Sections, secs = len(secs)-sections, secs[:sections]
	}
	for i := range secs {
		for j := range secs[i].Changes {
			c := &secs[i].Changes[j]
			all := linesIn(c.Change)
			keep := all
			if lines >= 0 {
				keep = min(all, lines)
				lines -= min(lines, max(1, keep))
			}
			c.Lines, c.Hidden = linesOf(c.Change, keep), all-keep
			left.Lines += c.Hidden
		}
	}
	return secs, left
}

// grouped gathers the changes by section, without their lines.
func (r *Report) grouped() []section {
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
		s.Changes = append(s.Changes, changeView{Change: c})
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
			out = append(out, changeView{Change: c, Lines: linesOf(c, linesIn(c))})
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

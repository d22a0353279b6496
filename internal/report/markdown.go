package report

import (
	"bufio"
	"fmt"
	"io"
	"strings"

	"github.com/syncd/syncd/internal/termsafe"
)

// renderMarkdown writes r for pasting into a ticket: GitHub-flavoured
// Markdown with a table per group and tag, at most mdLines lines of them
// in all, in the first mdSections tables (a job summary on GitHub may not
// exceed 1 MiB).
func renderMarkdown(w io.Writer, r *Report) error {
	m := &textWriter{w: bufio.NewWriter(w)}
	mdHeader(m, r)
	secs, left := r.sectionsShowing(mdLines, mdSections)
	for _, s := range secs {
		mdSection(m, s)
	}
	if left.Lines > 0 {
		more := ""
		if left.Sections > 0 {
			more = fmt.Sprintf(", with %d groups and tags after the first %d", left.Sections, mdSections)
		}
		m.printf("*%d more lines are left out%s. The text and JSON forms of the report list every one.*\n\n", left.Lines, more)
	}
	mdHeld(m, r)
	mdPending(m, r)
	return m.w.Flush()
}

// The bounds of the Markdown form (see pageLines).
const (
	mdLines    = 2000
	mdSections = 300
)

func mdHeader(m *textWriter, r *Report) {
	mode := "dry run"
	if r.Mode == ModeApply {
		mode = "apply"
	}
	s := r.Summary
	m.printf("## syncd — %s\n\n", mode)
	m.printf("**%s**\n\n", mdEscape(r.SummaryLine()))
	mdFailures(m, r)
	m.printf("| Started | Finished | Duration |\n|---|---|---|\n| %s | %s | %s |\n\n",
		stamp(r.StartedAt), stamp(r.FinishedAt), duration(r.Duration()))
	m.printf("| Directory groups | Directory users | Matched | Pending | Changes planned | Applied | Failed | Held | API calls |\n")
	m.printf("|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	m.printf("| %d | %d | %d | %d | %d | %d | %d | %d | %d |\n\n", s.SourceGroups, s.SourceUsers,
		s.MatchedUsers, s.PendingUsers, s.ChangesPlanned, s.ChangesApplied, s.ChangesFailed, s.ChangesHeld, s.APICalls)
	if !r.HasChanges() {
		m.printf("%s\n\n", mdEscape(r.noChangesText()))
	}
}

// mdFailures opens the report with what failed, before any change.
func mdFailures(m *textWriter, r *Report) {
	f := r.failures()
	if f == nil {
		return
	}
	m.printf("### %s\n\n", mdEscape(f.Title))
	if f.Note != "" {
		m.printf("%s\n\n", mdEscape(f.Note))
	}
	for _, e := range f.Errors {
		m.printf("- %s\n", mdEscape(e))
	}
	for _, c := range f.Changes {
		m.printf("- %s: %s **failed**: %s\n", mdEscape(c.Where), c.What, mdEscape(orUnknown(c.Error)))
	}
	m.printf("\n")
}

func mdSection(m *textWriter, s section) {
	title := "User group “" + mdEscape(s.Name) + "”"
	if s.Kind == sectionTag {
		title = "Tag “" + mdEscape(s.Name) + "” subject-matter experts"
	}
	if note := s.CreateNote(); note != "" {
		title += " — " + note
	}
	m.printf("### %s\n\n", title)
	m.printf("| | Member | E-mail | Status |\n|:-:|---|---|---|\n")
	for _, c := range s.Changes {
		lines, more := shownLines(c)
		for i, l := range lines {
			name, email := mdLine(l)
			m.printf("| %s | %s | %s | %s |\n", mdSign(l.Sign), name, email, mdStatus(c, i == 0))
		}
		if more > 0 {
			m.printf("| %s | *… and %d more* | | %s |\n", mdSign(signOf(c.Kind)), more, mdStatus(c, len(lines) == 0))
		}
		if c.Kind == KindCreateGroup && c.Empty() {
			m.printf("| + | *(no members yet)* | | %s |\n", mdStatus(c, true))
		}
	}
	m.printf("\n")
}

func mdLine(l line) (name, email string) {
	switch {
	case l.User != nil && l.User.Name != "":
		return mdEscape(l.User.Name), mdEscape(l.User.Email)
	case l.User != nil:
		return fmt.Sprintf("user id %d", l.User.ID), mdEscape(l.User.Email)
	case l.Desc != nil:
		return "*description* " + mdEscape(quoted(l.Desc.Old)) + " → " + mdEscape(quoted(l.Desc.New)), ""
	case l.Note != "":
		return "*" + mdEscape(l.Note) + "*", ""
	}
	return "user group “" + mdEscape(l.Group) + "”", ""
}

// mdSign shows the direction; "-" alone in a cell would read as a bullet or
// an empty cell, so it is escaped.
func mdSign(sign string) string {
	switch sign {
	case "-":
		return "−"
	case "~":
		return "\\~"
	}
	return sign
}

// mdStatus gives a row's status; the error or reason of a change is told on
// its first row only.
func mdStatus(c changeView, first bool) string {
	switch {
	case c.Status == StatusFailed && first:
		return "**failed**" + mdDetail(c.Error)
	case c.Status == StatusHeld && first:
		return "**held**" + mdDetail(c.Reason)
	case c.Status == StatusFailed, c.Status == StatusHeld:
		return "**" + c.Status + "**"
	case c.Status == StatusApplied && first:
		return "applied" + mdDetail(c.ApprovalNote())
	case c.Status == StatusApplied:
		return "applied"
	case first:
		return "planned" + mdDetail(c.ApprovalNote())
	}
	return "planned"
}

// mdID shows a held change's id as code, to copy into syncd approve.
func mdID(id string) string {
	if id == "" {
		return ""
	}
	return " (id `" + id + "`)"
}

func mdDetail(s string) string {
	if s == "" {
		return ""
	}
	return ": " + mdEscape(s)
}

func mdHeld(m *textWriter, r *Report) {
	held := r.held()
	if len(held) == 0 {
		return
	}
	m.printf("### Held back\n\nNothing of this was changed:\n\n")
	for _, c := range held {
		m.printf("- %s: %s — %s%s\n", mdEscape(sectionName(c.Change)), whatOf(c.Change), mdEscape(heldReason(c.Change)), mdID(c.ID))
	}
	if hint := approveHint(held); hint != "" {
		m.printf("\n%s\n", mdEscape(hint))
	}
	m.printf("\n")
}

func mdPending(m *textWriter, r *Report) {
	if len(r.Pending) == 0 {
		return
	}
	m.printf("### Pending\n\nNo Teams account yet; added once they first sign in.\n\n")
	m.printf("| E-mail | Waiting for |\n|---|---|\n")
	for _, p := range r.Pending[:min(len(r.Pending), mdLines)] {
		groups := make([]string, len(p.Groups))
		for i, g := range p.Groups {
			groups[i] = mdEscape(g)
		}
		m.printf("| %s | %s |\n", mdEscape(p.Email), strings.Join(groups, ", "))
	}
	if more := len(r.Pending) - mdLines; more > 0 {
		m.printf("\n*… and %d more; the text and JSON forms of the report list every one.*\n", more)
	}
	m.printf("\n")
}

// mdSpecial are the characters that could start markup inside a line or a
// table cell. CommonMark lets any ASCII punctuation be backslash-escaped.
const mdSpecial = "\\`*_{}[]<>()#+-!|~&"

// mdEscape makes s literal text in Markdown: markup characters get a
// backslash, line breaks become spaces (a newline would end a table row).
func mdEscape(s string) string {
	s = termsafe.String(strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ").Replace(s))
	var b strings.Builder
	for _, r := range s {
		if r < 128 && strings.ContainsRune(mdSpecial, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

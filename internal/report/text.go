package report

import (
	"bufio"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/syncd/syncd/internal/plural"
	"github.com/syncd/syncd/internal/termsafe"
)

// ANSI colours for the text form on a terminal.
const (
	ansiReset  = "\x1b[0m"
	ansiBold   = "\x1b[1m"
	ansiRed    = "\x1b[31m"
	ansiGreen  = "\x1b[32m"
	ansiYellow = "\x1b[33m"
	ansiCyan   = "\x1b[36m"
	ansiDim    = "\x1b[2m"
)

// textWriter prints the text form; it keeps the first write error so the
// renderer reads as a straight sequence of lines.
type textWriter struct {
	w     *bufio.Writer
	color bool
}

func (t *textWriter) paint(code, s string) string {
	if !t.color || s == "" {
		return s
	}
	return code + s + ansiReset
}

func (t *textWriter) printf(format string, args ...any) {
	fmt.Fprintf(t.w, format, args...) // bufio keeps the first error for Flush
}

// renderText writes a `terraform plan`-like view of r.
func renderText(w io.Writer, r *Report, o Options) error {
	t := &textWriter{w: bufio.NewWriter(w), color: o.Color}
	t.header(r)
	t.failures(r)
	for _, s := range r.sections() {
		t.section(s)
	}
	t.heldSection(r)
	t.pendingSection(r)
	t.printf("%s\n", t.paint(ansiBold, termsafe.String(r.SummaryLine())))
	return t.w.Flush()
}

func (t *textWriter) header(r *Report) {
	mode := "dry run"
	if r.Mode == ModeApply {
		mode = "apply"
	}
	t.printf("%s\n", t.paint(ansiBold, "syncd — "+mode))
	t.printf("Started %s, finished %s (%s)%s\n", stamp(r.StartedAt), stamp(r.FinishedAt), duration(r.Duration()), runNote(r.RunID))
	s := r.Summary
	t.printf("Directory: %s, %s; %d matched to Teams users, %d pending\n",
		plural.Count(s.SourceGroups, "group"), plural.Count(s.SourceUsers, "user"), s.MatchedUsers, s.PendingUsers)
	switch {
	case r.NothingCompared:
		t.printf("Changes: none looked for; %s\n", plural.Count(s.APICalls, "API call"))
	case r.Mode == ModeApply:
		t.printf("Changes: %d planned, %d applied, %d failed, %d held; %s\n",
			s.ChangesPlanned, s.ChangesApplied, s.ChangesFailed, s.ChangesHeld, plural.Count(s.APICalls, "API call"))
	default:
		t.printf("Changes: %d planned, %d held; %s (reads only)\n",
			s.ChangesPlanned, s.ChangesHeld, plural.Count(s.APICalls, "API call"))
	}
	t.printf("\n")
}

func (t *textWriter) section(s section) {
	title := t.paint(ansiBold, termsafe.String(s.Title()))
	if note := s.CreateNote(); note != "" {
		title += " " + t.paint(ansiCyan, "("+note+")")
	}
	t.printf("%s\n", title)
	// Each label is made once, for the column of status marks and for
	// its line: a first apply's report has a million lines.
	labels := make([][]string, len(s.Changes))
	width := 0
	for i, c := range s.Changes {
		lines, _ := shownLines(c)
		labels[i] = make([]string, len(lines))
		for j, l := range lines {
			labels[i][j] = termsafe.String(l.Label())
			width = max(width, utf8.RuneCountInString(labels[i][j]))
		}
	}
	for i, c := range s.Changes {
		t.change(c, labels[i], width)
	}
	t.printf("\n")
}

// change writes the lines of c (labels: theirs, as shownLines gives
// them), piece by piece: a line is written without fmt.
func (t *textWriter) change(c changeView, labels []string, width int) {
	mark := statusMark(c.Status)
	lines, more := shownLines(c)
	for i, l := range lines {
		color := t.lineColor(l.Sign, c.Status)
		t.w.WriteString("  ")
		if t.color {
			t.w.WriteString(color)
		}
		t.w.WriteString(l.Sign)
		t.w.WriteByte(' ')
		t.w.WriteString(labels[i])
		if mark != "" {
			for pad := width - utf8.RuneCountInString(labels[i]); pad > 0; pad-- {
				t.w.WriteByte(' ')
			}
			t.w.WriteString("  [" + mark + "]")
		}
		if t.color {
			t.w.WriteString(ansiReset)
		}
		t.w.WriteByte('\n')
	}
	if more > 0 {
		t.printf("  %s\n", t.paint(ansiDim, fmt.Sprintf("… and %d more (all of them are in the JSON report)", more)))
	}
	if c.Kind == KindCreateGroup && c.Empty() {
		t.printf("  %s\n", t.paint(ansiDim, "(no members yet)"))
	}
	if d := c.Detail(); d != "" {
		t.printf("      %s\n", t.paint(t.lineColor("", c.Status), termsafe.String(d)))
	}
}

// statusMark is shown after a line whose change is not simply planned.
func statusMark(status string) string {
	switch status {
	case StatusApplied, StatusFailed, StatusHeld:
		return status
	}
	return ""
}

func (t *textWriter) lineColor(sign, status string) string {
	switch {
	case status == StatusFailed:
		return ansiRed
	case status == StatusHeld:
		return ansiYellow
	case sign == "+":
		return ansiGreen
	case sign == "-":
		return ansiRed
	case sign == "~":
		return ansiYellow
	}
	return ""
}

func (t *textWriter) heldSection(r *Report) {
	held := r.held()
	if len(held) == 0 {
		return
	}
	t.printf("%s\n", t.paint(ansiBold+ansiYellow, "Held back (nothing of this was changed):"))
	for _, c := range held {
		t.printf("  %s: %s — %s%s\n", termsafe.String(sectionName(c.Change)), whatOf(c.Change), termsafe.String(heldReason(c.Change)),
			idNote(c.ID))
	}
	if hint := approveHint(held); hint != "" {
		t.printf("  %s\n", t.paint(ansiDim, hint))
	}
	t.printf("\n")
}

// runNote names the run after its times.
func runNote(id string) string {
	if id == "" {
		return ""
	}
	return "; run " + termsafe.String(id)
}

// idNote shows a held change's id after its line.
func idNote(id string) string {
	if id == "" {
		return ""
	}
	return " [id " + id + "]"
}

// approveHint says how to let reviewed held changes through, when they
// have ids to approve.
func approveHint(held []changeView) string {
	for _, c := range held {
		if c.ID != "" {
			return "To apply a held change as it is, after checking it: syncd approve ID (or --all); the next run applies exactly that change."
		}
	}
	return ""
}

func heldReason(c Change) string {
	if c.Reason == "" {
		return "held by a safety rule"
	}
	return c.Reason
}

// sectionName names the group or tag of a change in one short phrase.
func sectionName(c Change) string {
	if c.Tag != "" {
		return fmt.Sprintf("tag %q", c.Tag)
	}
	return fmt.Sprintf("group %q", c.Group)
}

func (t *textWriter) pendingSection(r *Report) {
	if len(r.Pending) == 0 {
		return
	}
	t.printf("%s\n", t.paint(ansiBold, "Pending (no Teams account yet; added once they first sign in):"))
	width := 0
	for _, p := range r.Pending {
		width = max(width, len(termsafe.String(p.Email)))
	}
	for _, p := range r.Pending {
		groups := make([]string, len(p.Groups))
		for i, g := range p.Groups {
			groups[i] = termsafe.String(g)
		}
		t.printf("  %-*s  → %s\n", width, termsafe.String(p.Email), strings.Join(groups, ", "))
	}
	t.printf("\n")
}

// failures opens the report with what failed, before any change.
func (t *textWriter) failures(r *Report) {
	f := r.failures()
	if f == nil {
		return
	}
	t.printf("%s\n", t.paint(ansiBold+ansiRed, f.Title))
	if f.Note != "" {
		t.printf("  %s\n", f.Note)
	}
	for _, e := range f.Errors {
		t.printf("  %s %s\n", t.paint(ansiRed, "!"), termsafe.String(e))
	}
	for _, c := range f.Changes {
		t.printf("  %s %s: %s failed: %s\n", t.paint(ansiRed, "!"), termsafe.String(c.Where), c.What, termsafe.String(orUnknown(c.Error)))
	}
	t.printf("\n")
}

func orUnknown(err string) string {
	if err == "" {
		return "no reason given"
	}
	return err
}

// stamp prints a time in the zone the engine recorded it in.
func stamp(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Format("2006-01-02 15:04:05 MST")
}

func duration(d time.Duration) string {
	switch {
	case d >= time.Minute:
		return d.Round(time.Second).String()
	case d >= time.Second:
		return d.Round(10 * time.Millisecond).String()
	}
	return d.Round(time.Millisecond).String()
}

package report

import (
	_ "embed"
	"fmt"
	"html/template"
	"io"

	"github.com/syncd/syncd/internal/plural"
	"github.com/syncd/syncd/internal/termsafe"
	"github.com/syncd/syncd/internal/version"
)

//go:embed report.html.tmpl
var htmlSource string

// htmlTemplate is parsed once; html/template escapes every value by context.
var htmlTemplate = template.Must(template.New("report").Parse(htmlSource))

// htmlPage is what the template sees.
type htmlPage struct {
	R         *Report
	Mode      string // "Dry run" | "Apply"
	Line      string
	Tone      string // "bad", "warn" or "" for the summary line's border
	Started   string
	Finished  string
	Took      string
	Failures  *failures
	NoChanges string
	Sections  []htmlSection
	FoldNav   bool // many sections: the contents are folded too
	FoldPend  bool // many pending people: their list is folded
	Held      []htmlHeld
	HeldIDs   bool // the held changes have ids to approve
	Version   string
	// Omitted is what the page leaves out of a report too long to show
	// whole (pageLines); Pending then lists the first pageLines people of
	// PendingAll.
	Omitted      omitted
	PageLines    int
	PageSections int
	Pending      []Pending
	PendingAll   int
}

// A section with more lines than foldAfter starts folded (<details>
// without open): its header still says what it holds. Short ones start
// open, so a small report reads as it always did, unless the report has
// more than openRows lines in all: then every section starts folded and
// the page is one header per group and tag, however many people change.
const (
	foldAfter    = 12
	openRows     = 200
	navFoldAfter = 30
)

type htmlSection struct {
	section
	ID            string
	Adds, Removes int
	Summary       string
	Open          bool
	Rows          int
	RowsText      string // "1 row", "321 rows"
	Held, Failed  bool   // a badge says so on the folded header
}

type htmlHeld struct {
	Where, What, Reason, ID string
}

func renderHTML(w io.Writer, r *Report) error {
	r = r.cleaned()
	p := htmlPage{
		R: r, Mode: "Dry run", Line: r.SummaryLine(), Tone: tone(r),
		Started: stamp(r.StartedAt), Finished: stamp(r.FinishedAt), Took: duration(r.Duration()),
		Failures: r.failures(), NoChanges: r.noChangesText(), FoldPend: len(r.Pending) > foldAfter,
		Version: version.String(), PendingAll: len(r.Pending),
		Pending: cleanPending(r.Pending[:min(len(r.Pending), pageLines)]),
	}
	if r.Mode == ModeApply {
		p.Mode = "Apply"
	}
	secs, omitted := r.sectionsShowing(pageLines, pageSections)
	p.Omitted, p.PageLines, p.PageSections = omitted, pageLines, pageSections
	rows := 0 // every line of the sections shown, shown or not: a long report starts folded
	for i, s := range secs {
		cleanLines(s)
		p.Sections = append(p.Sections, htmlSectionOf(s, i, r.Mode))
		rows += s.Size()
	}
	for i := range p.Sections {
		p.Sections[i].Open = p.Sections[i].Rows <= foldAfter && rows <= openRows
	}
	p.FoldNav = len(p.Sections) > navFoldAfter
	for _, c := range r.held() {
		p.Held = append(p.Held, htmlHeld{Where: sectionName(c.Change), What: whatOf(c.Change), Reason: heldReason(c.Change), ID: c.ID})
		p.HeldIDs = p.HeldIDs || c.ID != ""
	}
	return htmlTemplate.Execute(w, p)
}

func htmlSectionOf(s section, i int, mode string) htmlSection {
	hs := htmlSection{section: s, ID: fmt.Sprintf("s%d", i+1), Summary: s.Summary(mode), Rows: s.Size()}
	hs.RowsText = plural.Count(hs.Rows, "row")
	for _, c := range s.Changes {
		hs.Held = hs.Held || c.Status == StatusHeld
		hs.Failed = hs.Failed || c.Status == StatusFailed
		switch signOf(c.Kind) {
		case "+":
			hs.Adds += linesIn(c.Change)
		case "-":
			hs.Removes += linesIn(c.Change)
		}
	}
	return hs
}

// tone colours the summary line: red when something failed or was not
// compared, yellow when removals were held.
func tone(r *Report) string {
	switch {
	case r.failures() != nil:
		return "bad"
	case r.Tally().Held.Changes > 0:
		return "warn"
	}
	return ""
}

// cleaned returns a copy of r whose strings carry no control characters:
// they are invalid in an HTML document, and would garble what a reader
// sees. The people of its changes are cleaned as their lines are shown
// (cleanLines), the pending people as they are listed (cleanPending): a
// report can name a million.
func (r *Report) cleaned() *Report {
	c := *r
	c.Changes = make([]Change, len(r.Changes))
	for i, ch := range r.Changes {
		ch.Group, ch.Tag, ch.Error, ch.Reason = termsafe.String(ch.Group), termsafe.String(ch.Tag), termsafe.String(ch.Error), termsafe.String(ch.Reason)
		ch.Groups = termsafe.Strings(ch.Groups)
		if d := ch.Description; d != nil {
			ch.Description = &Description{Old: termsafe.String(d.Old), New: termsafe.String(d.New)}
		}
		c.Changes[i] = ch
	}
	c.Errors = termsafe.Strings(r.Errors)
	return &c
}

// cleanLines gives the shown lines of s cleaned copies of their people.
func cleanLines(s section) {
	for _, c := range s.Changes {
		for i, l := range c.Lines {
			if u := l.User; u != nil {
				c.Lines[i].User = &User{ID: u.ID, Name: termsafe.String(u.Name), Email: termsafe.String(u.Email)}
			}
		}
	}
}

func cleanPending(ps []Pending) []Pending {
	out := make([]Pending, len(ps))
	for i, p := range ps {
		out[i] = Pending{Email: termsafe.String(p.Email), Groups: termsafe.Strings(p.Groups)}
	}
	return out
}

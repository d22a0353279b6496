package report

import (
	_ "embed"
	"fmt"
	"html/template"
	"io"

	"github.com/syncd/syncd/internal/termsafe"
	"github.com/syncd/syncd/internal/version"
)

//go:embed report.html.tmpl
var htmlSource string

// htmlTemplate is parsed once; html/template escapes every value by context.
var htmlTemplate = template.Must(template.New("report").Parse(htmlSource))

// htmlPage is what the template sees.
type htmlPage struct {
	R        *Report
	Mode     string // "Dry run" | "Apply"
	Line     string
	Started  string
	Finished string
	Took     string
	Sections []htmlSection
	Held     []htmlHeld
	Version  string
}

type htmlSection struct {
	section
	ID            string
	Adds, Removes int
}

type htmlHeld struct {
	Where, What, Reason string
}

func renderHTML(w io.Writer, r *Report) error {
	r = r.cleaned()
	p := htmlPage{
		R: r, Mode: "Dry run", Line: r.SummaryLine(),
		Started: stamp(r.StartedAt), Finished: stamp(r.FinishedAt), Took: duration(r.Duration()),
		Version: version.String(),
	}
	if r.Mode == ModeApply {
		p.Mode = "Apply"
	}
	for i, s := range r.sections() {
		hs := htmlSection{section: s, ID: fmt.Sprintf("s%d", i+1)}
		for _, c := range s.Changes {
			for _, l := range c.Lines {
				switch l.Sign {
				case "+":
					hs.Adds++
				case "-":
					hs.Removes++
				}
			}
		}
		p.Sections = append(p.Sections, hs)
	}
	for _, c := range r.held() {
		reason := c.Reason
		if reason == "" {
			reason = "held by a safety rule"
		}
		p.Held = append(p.Held, htmlHeld{Where: sectionName(c.Change),
			What: changeVerb(c.Kind) + " " + plural(len(c.Lines), "entry", "entries"), Reason: reason})
	}
	return htmlTemplate.Execute(w, p)
}

// cleaned returns a copy of r whose strings carry no control characters:
// they are invalid in an HTML document, and would garble what a reader sees.
func (r *Report) cleaned() *Report {
	c := *r
	c.Changes = make([]Change, len(r.Changes))
	for i, ch := range r.Changes {
		ch.Group, ch.Tag, ch.Error, ch.Reason = termsafe.String(ch.Group), termsafe.String(ch.Tag), termsafe.String(ch.Error), termsafe.String(ch.Reason)
		ch.Users = make([]User, len(r.Changes[i].Users))
		for j, u := range r.Changes[i].Users {
			ch.Users[j] = User{ID: u.ID, Name: termsafe.String(u.Name), Email: termsafe.String(u.Email)}
		}
		ch.Groups = termsafe.Strings(ch.Groups)
		c.Changes[i] = ch
	}
	c.Pending = make([]Pending, len(r.Pending))
	for i, p := range r.Pending {
		c.Pending[i] = Pending{Email: termsafe.String(p.Email), Groups: termsafe.Strings(p.Groups)}
	}
	c.Errors = termsafe.Strings(r.Errors)
	return &c
}

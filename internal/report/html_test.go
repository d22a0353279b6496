package report

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// element is one start tag seen while parsing the HTML report.
type element struct {
	name  string
	attrs map[string]string
}

// parseHTML reads the report as XML (the template writes well-formed
// markup, void elements self-closed), which checks that every element is
// closed and properly nested, and returns the elements and the text.
func parseHTML(t *testing.T, doc []byte) ([]element, string) {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(doc))
	d.Strict = true
	d.Entity = xml.HTMLEntity
	var els []element
	var text strings.Builder
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("HTML report does not parse: %v", err)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			e := element{name: tok.Name.Local, attrs: map[string]string{}}
			for _, a := range tok.Attr {
				e.attrs[a.Name.Local] = a.Value
			}
			els = append(els, e)
		case xml.CharData:
			text.Write(tok)
		}
	}
	return els, text.String()
}

func TestHTMLParsesAndIsSelfContained(t *testing.T) {
	for name, sample := range samples {
		t.Run(name, func(t *testing.T) {
			els, _ := parseHTML(t, render(t, sample(), FormatHTML, Options{}))
			if len(els) == 0 || els[0].name != "html" {
				t.Fatalf("first element is not <html>")
			}
			for _, e := range els {
				switch e.name {
				case "script", "link", "img", "iframe", "object", "embed":
					t.Errorf("<%s> element in the report (it must need nothing outside itself)", e.name)
				}
				for k, v := range e.attrs {
					if strings.HasPrefix(k, "on") {
						t.Errorf("<%s %s=%q>: event handler attribute", e.name, k, v)
					}
					if (k == "src" || k == "href") && !strings.HasPrefix(v, "#") {
						t.Errorf("<%s %s=%q>: only in-page links are allowed", e.name, k, v)
					}
				}
			}
		})
	}
}

func TestHTMLEscapesHostileNames(t *testing.T) {
	out := render(t, hostileReport(), FormatHTML, Options{})
	els, text := parseHTML(t, out)
	for _, e := range els {
		if e.name == "script" || e.name == "img" || e.name == "a" && e.attrs["href"] != "" && !strings.HasPrefix(e.attrs["href"], "#") {
			t.Errorf("a name became markup: <%s %v>", e.name, e.attrs)
		}
	}
	// The names are still shown, as text.
	for _, want := range []string{`<script>alert("x")</script>`, "Mallory <img src=x onerror=alert(1)>", `<a href="https://evil.example/">click</a>`, "<x>@example.com"} {
		if !strings.Contains(text, want) {
			t.Errorf("HTML text lacks %q", want)
		}
	}
	if bytes.Contains(out, []byte("https://")) || bytes.Contains(out, []byte("http://")) {
		// Present only inside escaped text is fine; an attribute is not.
		for _, e := range els {
			for k, v := range e.attrs {
				if strings.Contains(v, "http") {
					t.Errorf("<%s %s=%q> carries a URL", e.name, k, v)
				}
			}
		}
	}
}

func TestHTMLShowsEveryPart(t *testing.T) {
	_, text := parseHTML(t, render(t, dryRunReport(), FormatHTML, Options{}))
	text = strings.Join(strings.Fields(text), " ")
	for _, want := range []string{
		"Dry run", dryRunReport().SummaryLine(), "348 directory users", "Data Science", "will be created",
		"Ada Lovelace", "grace@example.com", "description: Platform team→Synced from LDAP group platform", "Team Payments",
		"held: removing 3 of 4 members (75%) exceeds max_removal_percent 25", "user group Platform",
		"former@example.com", "Pending people", "new.hire@example.com", "Platform, Data Science",
		"Incomplete: 1 error", "size limit exceeded",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("HTML report lacks %q", want)
		}
	}
	_, quiet := parseHTML(t, render(t, quietReport(), FormatHTML, Options{}))
	if !strings.Contains(quiet, "No changes") {
		t.Errorf("HTML report of a quiet run lacks \"No changes\"")
	}
}

// TestWriteSamples writes every sample in every format to
// $SYNCD_REPORT_SAMPLES (scripts/screenshot-report.sh looks at the HTML).
func TestWriteSamples(t *testing.T) {
	dir := os.Getenv("SYNCD_REPORT_SAMPLES")
	if dir == "" {
		t.Skip("set SYNCD_REPORT_SAMPLES=DIR to write sample reports")
	}
	ext := map[string]string{FormatText: "txt", FormatMarkdown: "md", FormatJSON: "json", FormatHTML: "html"}
	for name, sample := range samples {
		for _, f := range Formats {
			path := filepath.Join(dir, name+"."+ext[f])
			if err := os.WriteFile(path, render(t, sample(), f, Options{}), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// Each section is a <details> whose summary names the group and says what
// its changes do; a long one starts folded, a short one open.
func TestHTMLSectionsFoldWithSummary(t *testing.T) {
	els, text := parseHTML(t, render(t, applyReport(), FormatHTML, Options{}))
	var folds []element
	for _, e := range els {
		if e.name == "details" && e.attrs["class"] == "fold" {
			folds = append(folds, e)
		}
	}
	sections := applyReport().sections()
	if len(folds) != len(sections) {
		t.Fatalf("%d folding sections, want one per group and tag (%d)", len(folds), len(sections))
	}
	for i, s := range sections {
		_, open := folds[i].attrs["open"]
		if want := s.Size() <= foldAfter; open != want {
			t.Errorf("section %q (%d rows): open %v, want %v", s.Name, s.Size(), open, want)
		}
	}
	text = strings.Join(strings.Fields(text), " ")
	for _, want := range []string{"created 1 group, added 1 person", "added 2 people, removed 1 person",
		"held: remove 25 people", "25 rows", "1 row ", "failed: add 1 user group"} {
		if !strings.Contains(text, want) {
			t.Errorf("HTML report lacks the section summary %q", want)
		}
	}
}

// firstApply is the report of a first apply that creates groups of
// perGroup people each.
func firstApply(groups, perGroup int) *Report {
	r := &Report{Mode: ModeApply, RunID: "first"}
	for g := range groups {
		c := Change{Kind: KindCreateGroup, Group: fmt.Sprintf("Team %04d", g), Status: StatusApplied}
		for u := range perGroup {
			id := g*perGroup + u + 1
			c.Users = append(c.Users, User{ID: id, Email: fmt.Sprintf("p%d@example.com", id), Name: fmt.Sprintf("Person %d", id)})
		}
		r.Changes = append(r.Changes, c)
	}
	return r
}

// A report too long to show (a first apply of 10,000 groups of 100 made a
// 254 MB page, 2.3 GB allocated per view of /reports/latest) shows its
// first pageLines lines in its first pageSections sections, and says what
// it left out; the Markdown form is bounded the same way. What rendering
// allocates then hardly grows with the report.
func TestLongReportPagesAreBounded(t *testing.T) {
	r := firstApply(1200, 25) // 30,000 lines
	for i := range 25000 {
		r.Pending = append(r.Pending, Pending{Email: fmt.Sprintf("new%d@example.com", i), Groups: []string{"Team 0001"}})
	}
	page := render(t, r, FormatHTML, Options{})
	parseHTML(t, page)
	if n := bytes.Count(page, []byte(`<section class="card" id="s`)); n != pageSections {
		t.Errorf("%d sections on the page, want %d", n, pageSections)
	}
	if n := bytes.Count(page, []byte(`<td class="email">`)); n != 2*pageLines {
		t.Errorf("%d people on the page, want %d changed and %[2]d pending", n, pageLines)
	}
	for _, want := range []string{"This page shows the first 20000 lines of the report: 10000 more are left out, with 200 groups and tags after the first 1000.",
		`<h2><span class="kind">User group</span>Team 0999</h2>`, "Show the first 20000 of 25000</summary>", "… and 25 more, left out of this page", `<span class="counts"><span class="a">+25</span>`} {
		if !bytes.Contains(page, []byte(want)) {
			t.Errorf("the page does not say %q", want)
		}
	}
	md := render(t, r, FormatMarkdown, Options{})
	if want := "*28000 more lines are left out, with 900 groups and tags after the first 300. The text and JSON forms of the report list every one.*"; !bytes.Contains(md, []byte(want)) {
		t.Errorf("the Markdown form does not say %q", want)
	}
	if n := bytes.Count(md, []byte("@example.com")); n != 2*mdLines {
		t.Errorf("the Markdown form lists %d people, want %d changed and %[2]d pending", n, mdLines)
	}
	if want := "*… and 23000 more; the text and JSON forms of the report list every one.*"; !bytes.Contains(md, []byte(want)) {
		t.Errorf("the Markdown form does not say %q", want)
	}
	if text := render(t, r, FormatText, Options{}); bytes.Count(text, []byte("@example.com")) != 30000+25000 {
		t.Errorf("the text form does not list every person")
	}

	small := allocatedBy(t, r, FormatHTML)
	large := allocatedBy(t, firstApply(1200, 250), FormatHTML) // ten times the people
	if large > small*3/2 {
		t.Errorf("rendering a page of ten times the people allocated %d MB, against %d MB", large>>20, small>>20)
	}
}

// allocatedBy is how many bytes rendering r in format allocates.
func allocatedBy(t *testing.T, r *Report, format string) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	if err := Render(io.Discard, r, format); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

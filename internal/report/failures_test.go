package report

import (
	"strings"
	"testing"
)

// textOf renders r in a human format; HTML is reduced to its text, spaces
// folded, so that phrases read the same in every form.
func textOf(t *testing.T, r *Report, format string) string {
	t.Helper()
	out := render(t, r, format, Options{})
	if format == FormatHTML {
		_, text := parseHTML(t, out)
		return strings.Join(strings.Fields(text), " ")
	}
	return string(out)
}

var humanFormats = []string{FormatText, FormatMarkdown, FormatHTML}

const agreement = "Teams matches the directory"

// A report opens with its failures: the heading and every error come
// before the first change listed, in every human form.
func TestFailuresComeFirst(t *testing.T) {
	for _, c := range []struct {
		name    string
		r       *Report
		heading string
		errors  []string
		first   string // text of the first change listed, if any
	}{
		{"not compared", failedReport(), "Failed: nothing was compared",
			[]string{"connection refused", "503 Service Unavailable"}, ""},
		{"incomplete", dryRunReport(), "Incomplete: 1 error", []string{"size limit exceeded"}, "Ada Lovelace"},
		{"change failed", applyReport(), "Failed: 1 change could not be applied",
			[]string{"422 SMEs are not enabled"}, "Ada Lovelace"},
	} {
		for _, format := range humanFormats {
			out := textOf(t, c.r, format)
			head := strings.Index(out, c.heading)
			if head < 0 {
				t.Errorf("%s, %s: no heading %q:\n%s", c.name, format, c.heading, out)
				continue
			}
			for _, e := range c.errors {
				if i := strings.Index(out, e); i < head {
					t.Errorf("%s, %s: error %q missing or before its heading", c.name, format, e)
				}
			}
			if c.first == "" {
				continue
			}
			first := strings.Index(out, c.first)
			for _, e := range c.errors {
				if strings.Index(out, e) > first {
					t.Errorf("%s, %s: error %q comes after the first change", c.name, format, e)
				}
			}
		}
	}
}

// "Teams matches the directory" is said only by a run that read every
// source and Teams completely.
func TestAgreementOnlyWhenComplete(t *testing.T) {
	for _, format := range humanFormats {
		if out := textOf(t, quietReport(), format); !strings.Contains(out, "No changes: "+agreement) {
			t.Errorf("%s: a complete run without changes does not say %q:\n%s", format, agreement, out)
		}
		for name, r := range map[string]*Report{"not compared": failedReport(), "incomplete": incompleteReport()} {
			if out := textOf(t, r, format); strings.Contains(out, agreement) {
				t.Errorf("%s, %s: claims %q:\n%s", name, format, agreement, out)
			}
		}
		out := textOf(t, failedReport(), format)
		if !strings.Contains(out, "Nothing was compared:") {
			t.Errorf("%s: a run stopped before planning does not say \"Nothing was compared:\":\n%s", format, out)
		}
	}
	if (&Report{NothingCompared: true}).Complete() || incompleteReport().Complete() || !quietReport().Complete() {
		t.Error("Complete() is wrong")
	}
}

func TestNothingComparedShowsNoChangeFigures(t *testing.T) {
	text := textOf(t, failedReport(), FormatText)
	if strings.Contains(text, "0 planned") || !strings.Contains(text, "Changes: none looked for") {
		t.Errorf("the text header of a run that compared nothing counts planned changes:\n%s", text)
	}
	html := textOf(t, failedReport(), FormatHTML)
	if strings.Contains(html, "0 planned") {
		t.Errorf("the HTML report of a run that compared nothing shows \"0 planned\":\n%s", html)
	}
}

// A description update shows the old and the new text in every form; a
// report saved before they were recorded still reads.
func TestDescriptionOldAndNew(t *testing.T) {
	for _, format := range humanFormats {
		out := textOf(t, dryRunReport(), format)
		old, new := strings.Index(out, "Platform team"), strings.Index(out, "Synced from LDAP group platform")
		if old < 0 || new < old || !strings.Contains(out[old:new], "→") {
			t.Errorf("%s: no \"old → new\" description:\n%s", format, out)
		}
	}
	r := &Report{Mode: ModeDryRun, Changes: []Change{{Kind: KindUpdateGroup, Group: "G", Status: StatusPlanned}}}
	for _, format := range humanFormats {
		if out := textOf(t, r, format); !strings.Contains(out, "description updated") {
			t.Errorf("%s: an update without its texts does not say \"description updated\":\n%s", format, out)
		}
	}
	r.Changes[0].Description = &Description{New: "Set by syncd"}
	if out := textOf(t, r, FormatText); !strings.Contains(out, "description (none) → “Set by syncd”") {
		t.Errorf("a first description does not show (none) as the old text:\n%s", out)
	}
}

// Held and failed changes are counted in people and user groups, with
// their plurals, not in "entries".
func TestHeldCountsPeople(t *testing.T) {
	for _, format := range []string{FormatText, FormatMarkdown, FormatHTML} {
		out := textOf(t, applyReport(), format)
		for _, want := range []string{"remove 1 person", "remove 25 people"} {
			if !strings.Contains(out, want) {
				t.Errorf("%s: held section lacks %q:\n%s", format, want, out)
			}
		}
		if strings.Contains(out, "entries —") || strings.Contains(out, "1 entry") {
			t.Errorf("%s: still counts entries:\n%s", format, out)
		}
	}
}

package report

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden file (run go test -update to create it): %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (go test -update rewrites it)\n--- got:\n%s\n--- want:\n%s", path, got, want)
	}
}

func render(t *testing.T, r *Report, format string, o Options) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := RenderOptions(&buf, r, format, o); err != nil {
		t.Fatalf("render %s: %v", format, err)
	}
	return buf.Bytes()
}

func TestGolden(t *testing.T) {
	for name, sample := range samples {
		t.Run(name, func(t *testing.T) {
			golden(t, name+".txt.golden", render(t, sample(), FormatText, Options{}))
			golden(t, name+".md.golden", render(t, sample(), FormatMarkdown, Options{}))
		})
	}
	t.Run("color", func(t *testing.T) {
		golden(t, "dryrun.color.golden", render(t, dryRunReport(), FormatText, Options{Color: true}))
	})
}

func TestTextHasNoColourUnlessAsked(t *testing.T) {
	for name, sample := range samples {
		if out := render(t, sample(), FormatText, Options{}); bytes.Contains(out, []byte("\x1b")) {
			t.Errorf("%s: text without Color contains an escape sequence:\n%q", name, out)
		}
	}
	if out := render(t, dryRunReport(), FormatText, Options{Color: true}); !bytes.Contains(out, []byte("\x1b[32m+ ")) {
		t.Errorf("coloured text lacks a green addition line:\n%q", out)
	}
}

func TestTextShowsEveryPart(t *testing.T) {
	out := string(render(t, dryRunReport(), FormatText, Options{}))
	for _, want := range []string{
		`User group "Data Science" (will be created)`,
		"+ Ada Lovelace <ada@example.com>",
		"- Bob Stone <bob@example.com>",
		"~ description “Platform team” → “Synced from LDAP group platform”",
		"- Eve Adams <eve@example.com>     [held]",
		"held: removing 3 of 4 members (75%) exceeds max_removal_percent 25",
		`Tag "kubernetes" subject-matter experts`,
		`+ user group "Platform"`,
		"- <former@example.com>",
		"new.hire@example.com  → Platform, Data Science",
		"Incomplete: 1 error\n",
		"! source corp:",
		"Plan: 7 changes (create 1 group, add 4 people and 1 user group, remove 2 people, update 1 description); " +
			"1 change held (remove 3 people), 2 people pending, 1 error — dry run, nothing was changed.",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("text report lacks %q:\n%s", want, out)
		}
	}
}

func TestSummaryLine(t *testing.T) {
	one := []User{{ID: 3}}
	tests := []struct {
		name string
		r    *Report
		want string
	}{
		{"apply", applyReport(), "Applied: 3 changes (created 1 group, added 3 people, removed 1 person); " +
			"1 change failed (add 1 user group), 2 changes held (remove 26 people), 1 person pending — 13 API calls."},
		{"nothing", quietReport(), "No changes: Teams matches the directory — dry run."},
		{"nothing but pending", &Report{Mode: ModeApply, Pending: []Pending{{Email: "a@b"}}, Summary: Summary{APICalls: 1}},
			"No changes: Teams matches the directory; 1 person pending, 1 API call."},
		{"not attempted", &Report{Mode: ModeApply, Changes: []Change{
			{Kind: KindAddMembers, Group: "G", Users: one, Status: StatusPlanned}}},
			"Applied: 0 changes; 1 change not attempted (add 1 person) — 0 API calls."},
		{"one of each", &Report{Mode: ModeDryRun, Changes: []Change{
			{Kind: KindRemoveMembers, Group: "G", Users: one, Status: StatusPlanned},
			{Kind: KindAddSMEGroups, Tag: "go", Groups: []string{"G"}, Status: StatusPlanned}}},
			"Plan: 2 changes (add 1 user group, remove 1 person) — dry run, nothing was changed."},
		{"incomplete", incompleteReport(), "Incomplete: no changes in what could be read; 1 error — dry run."},
		{"not compared", failedReport(), "Nothing was compared: the run stopped before planning, with 2 errors; nothing was changed."},
	}
	for _, tt := range tests {
		if got := tt.r.SummaryLine(); got != tt.want {
			t.Errorf("%s: SummaryLine() = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestTextNeutralisesControlCharacters(t *testing.T) {
	out := render(t, hostileReport(), FormatText, Options{})
	if bytes.Contains(out, []byte("\x1b")) || bytes.Contains(out, []byte("Line\nBreak")) {
		t.Errorf("control characters from a name reached the text report:\n%q", out)
	}
}

// A terminal acts on more than ESC: C1 controls (U+009B is CSI) and the
// bidirectional overrides that make one name read as another. The text,
// Markdown and HTML forms show them escaped, as \u202e, for the reader to see.
func TestControlsShownEscaped(t *testing.T) {
	for _, format := range []string{FormatText, FormatMarkdown, FormatHTML} {
		out := string(render(t, hostileReport(), format, Options{}))
		if strings.ContainsAny(out, "\x1b\u009b\u202e\u202c\u2066\u2069") {
			t.Errorf("%s report holds a control character raw:\n%q", format, out)
		}
		for _, want := range []string{`u202eexe.gnp`, `u009b2J`, `u2066x`} {
			if !strings.Contains(out, want) {
				t.Errorf("%s report does not show %q escaped", format, want)
			}
		}
	}
}

func TestMarkdownEscapesNames(t *testing.T) {
	out := string(render(t, hostileReport(), FormatMarkdown, Options{}))
	// What is left once the backslash escapes are taken out is what a
	// Markdown renderer would read as markup.
	bare := regexp.MustCompile(`\\[[:punct:]]`).ReplaceAllString(out, "")
	for _, bad := range []string{"<", "*bold*", "[link](", "Line\nBreak", "\x1b"} {
		if strings.Contains(bare, bad) {
			t.Errorf("Markdown report contains unescaped %q:\n%s", bad, out)
		}
	}
	// Every table row keeps its column count: escaped pipes do not split cells.
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "| ") && strings.Contains(l, "Mallory") {
			if n := strings.Count(l, "|") - strings.Count(l, `\|`); n != 5 {
				t.Errorf("row has %d cell separators, want 5: %s", n, l)
			}
		}
	}
}

func TestValidFormat(t *testing.T) {
	for _, f := range []string{"text", "markdown", "json", "html"} {
		if !ValidFormat(f) {
			t.Errorf("ValidFormat(%q) = false", f)
		}
		if err := Render(&bytes.Buffer{}, quietReport(), f); err != nil {
			t.Errorf("Render(%q): %v", f, err)
		}
	}
	for _, f := range []string{"", "md", "TEXT", "yaml"} {
		if ValidFormat(f) {
			t.Errorf("ValidFormat(%q) = true", f)
		}
		if err := Render(&bytes.Buffer{}, quietReport(), f); err == nil {
			t.Errorf("Render(%q) gave no error", f)
		}
	}
	if err := Render(&bytes.Buffer{}, nil, "text"); err == nil {
		t.Error("Render(nil report) gave no error")
	}
}

func TestFormatForFile(t *testing.T) {
	for path, want := range map[string]string{
		"r.html": "html", "R.HTM": "html", "x/r.md": "markdown", "r.json": "json", "r.txt": "text", "r": "",
	} {
		if got := FormatForFile(path); got != want {
			t.Errorf("FormatForFile(%q) = %q, want %q", path, got, want)
		}
	}
}

func TestLongHeldChangeIsCut(t *testing.T) {
	text := string(render(t, applyReport(), FormatText, Options{}))
	md := string(render(t, applyReport(), FormatMarkdown, Options{}))
	for name, out := range map[string]string{"text": text, "markdown": md} {
		if !strings.Contains(out, "Person 10") || strings.Contains(out, "Person 11") || !strings.Contains(out, "15 more") {
			t.Errorf("%s: a held change of 25 lines is not cut after 10 with a count of the rest:\n%s", name, out)
		}
	}
	html := string(render(t, applyReport(), FormatHTML, Options{}))
	if !strings.Contains(html, "Person 25") {
		t.Error("the HTML report does not list every held entry")
	}
}

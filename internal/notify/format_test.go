package notify

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/syncd/syncd/internal/config"
	"github.com/syncd/syncd/internal/report"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden.json from the current bodies")

// TestGolden: the body of each format for the held event of heldRun, as
// a person reviewing a change to the wording reads it.
func TestGolden(t *testing.T) {
	for _, format := range []string{config.FormatSlack, config.FormatMSTeams, config.FormatJSON} {
		t.Run(format, func(t *testing.T) {
			body, err := render(format, newMessage(config.EventHeld, heldRun()))
			if err != nil {
				t.Fatal(err)
			}
			var pretty bytes.Buffer
			if err := json.Indent(&pretty, body, "", "  "); err != nil {
				t.Fatal(err)
			}
			pretty.WriteByte('\n')
			file := filepath.Join("testdata", "held."+format+".golden.json")
			if *update {
				if err := os.WriteFile(file, pretty.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			if pretty.String() != string(want) {
				t.Errorf("%s differs (go test -run TestGolden -update rewrites it):\n%s", file, pretty.String())
			}
		})
	}
}

// TestSlackBody: what Slack shows, and that a name cannot use Slack's
// markup ("<!channel>" would notify everyone in the channel).
func TestSlackBody(t *testing.T) {
	var m slackMessage
	decode(t, config.FormatSlack, config.EventHeld, heldRun(), &m)
	if !strings.HasPrefix(m.Text, "syncd held 2 changes (remove 6 people): ") {
		t.Errorf("text = %q", m.Text)
	}
	if m.Blocks[0].Type != "header" || m.Blocks[0].Text.Text != "syncd held 2 changes (remove 6 people)" {
		t.Errorf("header = %+v", m.Blocks[0])
	}
	list := m.Blocks[3].Text.Text
	if strings.Contains(list, "<!channel>") || !strings.Contains(list, "&lt;!channel&gt;") {
		t.Errorf("a name's markup reached Slack unescaped: %s", list)
	}
	for _, want := range []string{
		`• remove 5 people from user group "Platform": Ann, &lt;!channel&gt;, Bob and 2 more (removes 5 of 8 members (62%), over sync.max_removal_percent 25)`,
		`• remove 1 person from the SMEs of tag "kubernetes": k8s@example.com (over sync.max_removals)`,
	} {
		if !strings.Contains(list, want) {
			t.Errorf("list lacks %q:\n%s", want, list)
		}
	}
	if last := m.Blocks[len(m.Blocks)-1]; last.Type != "context" || last.Elements[0].Text != "<https://syncd.example.com/reports/latest|Open the report>" {
		t.Errorf("link block = %+v", last)
	}
	fields := map[string]bool{}
	for _, f := range m.Blocks[2].Fields {
		fields[f.Text] = true
	}
	for _, want := range []string{"*Mode*\napply", "*Held*\n2", "*Applied*\n1", "*Pending people*\n2", "*API calls*\n7"} {
		if !fields[want] {
			t.Errorf("fields lack %q: %v", want, m.Blocks[2].Fields)
		}
	}
}

// TestTeamsBody: the envelope a Teams workflow's "Send webhook alerts to a
// channel" reads (type message, an Adaptive Card attachment).
func TestTeamsBody(t *testing.T) {
	var m struct {
		Type        string `json:"type"`
		Attachments []struct {
			ContentType string  `json:"contentType"`
			ContentURL  *string `json:"contentUrl"`
			Content     struct {
				Type    string `json:"type"`
				Version string `json:"version"`
				Body    []struct{ Type, Text, Color string }
				Actions []struct{ Type, Title, URL string }
			} `json:"content"`
		} `json:"attachments"`
	}
	decode(t, config.FormatMSTeams, config.EventFailed, failedRun(), &m)
	if m.Type != "message" || len(m.Attachments) != 1 {
		t.Fatalf("envelope = %+v", m)
	}
	a := m.Attachments[0]
	if a.ContentType != "application/vnd.microsoft.card.adaptive" || a.Content.Type != "AdaptiveCard" || a.Content.Version != "1.4" {
		t.Errorf("attachment = %+v", a)
	}
	if b := a.Content.Body; b[0].Text != "syncd: the run failed" || b[0].Color != "Attention" {
		t.Errorf("title block = %+v", b[0])
	}
	if !bytes.Contains(mustRender(t, config.FormatMSTeams, config.EventFailed, failedRun()), []byte("• source corp: ldap: connection refused")) {
		t.Error("the run's error is not listed")
	}
	if len(a.Content.Actions) != 0 {
		t.Errorf("a run without a report page got a link: %+v", a.Content.Actions)
	}
	decode(t, config.FormatMSTeams, config.EventHeld, heldRun(), &m)
	if acts := m.Attachments[0].Content.Actions; len(acts) != 1 || acts[0].Type != "Action.OpenUrl" || acts[0].URL != "https://syncd.example.com/reports/latest" {
		t.Errorf("actions = %+v", acts)
	}
}

// TestJSONBody: the run's summary, held changes and errors, whatever the
// event.
func TestJSONBody(t *testing.T) {
	var m struct {
		Event, Title, Mode, Result string
		ExitCode                   int `json:"exit_code"`
		Summary                    report.Summary
		Held, Failed               []report.Change
		Errors                     []string
		ReportURL                  string `json:"report_url"`
	}
	decode(t, config.FormatJSON, config.EventApplied, heldRun(), &m)
	if m.Event != "applied" || m.Title != "syncd applied 1 change (added 1 person)" || m.Mode != "apply" || m.Result != "held" || m.ExitCode != 4 {
		t.Errorf("message = %+v", m)
	}
	if m.Summary.ChangesHeld != 2 || m.Summary.APICalls != 7 || len(m.Held) != 2 || len(m.Held[0].Users) != 5 || m.Held[0].Reason == "" {
		t.Errorf("summary or held changes = %+v %+v", m.Summary, m.Held)
	}
	if m.Held[1].Groups == nil || m.Failed == nil || m.Errors == nil || m.ReportURL != "https://syncd.example.com/reports/latest" {
		t.Errorf("failed %v, errors %v (want [] not null), report_url %q", m.Failed, m.Errors, m.ReportURL)
	}
	body := string(mustRender(t, config.FormatJSON, config.EventFailed, Run{ExitCode: 1}))
	if strings.Contains(body, "started_at") || !strings.Contains(body, `"held":[]`) {
		t.Errorf("a run without a report: %s", body)
	}
}

// TestLongRunsStayShort: a message lists a few changes, never all.
func TestLongRunsStayShort(t *testing.T) {
	run := heldRun()
	r := *run.Report
	r.Changes = nil
	for range 500 {
		r.Changes = append(r.Changes, report.Change{Kind: report.KindAddMembers, Group: strings.Repeat("G", 1000),
			Users: []report.User{{ID: 1, Name: "A"}}, Status: report.StatusPlanned})
	}
	r.Mode, r.Summary.ChangesPlanned = report.ModeDryRun, 500
	run.Report = &r
	for _, format := range []string{config.FormatSlack, config.FormatMSTeams} {
		body := mustRender(t, format, config.EventDrift, run)
		if len(body) > 8000 || !bytes.Contains(body, []byte("… and 495 more in the report")) {
			t.Errorf("%s: %d bytes:\n%.500s", format, len(body), body)
		}
	}
}

func mustRender(t *testing.T, format, event string, run Run) []byte {
	t.Helper()
	body, err := render(format, newMessage(event, run))
	if err != nil {
		t.Fatal(err)
	}
	return body
}

func decode(t *testing.T, format, event string, run Run, into any) {
	t.Helper()
	body := mustRender(t, format, event, run)
	if err := json.Unmarshal(body, into); err != nil {
		t.Fatalf("%v\n%s", err, body)
	}
}

// TestTeamsEscapesMarkdown: a TextBlock (and a fact) renders Markdown, so
// a display name such as "[click me](https://evil.example/a)" would put a
// phishing link into the channel. Every Markdown character of every text
// in the card is escaped, so people read what the directory says.
func TestTeamsEscapesMarkdown(t *testing.T) {
	for _, event := range []string{config.EventHeld, config.EventFailed} {
		var m teamsMessage
		decode(t, config.FormatMSTeams, event, hostileRun(), &m)
		var texts []string
		for _, b := range m.Attachments[0].Content.Body {
			texts = append(texts, b.Text)
			for _, f := range b.Facts {
				texts = append(texts, f.Title, f.Value)
			}
		}
		for _, s := range texts {
			if c, at := unescapedMarkdown(s); at >= 0 {
				t.Errorf("%s: %q unescaped at %d in %q", event, c, at, s)
			}
		}
		all := strings.Join(texts, "\n")
		for _, want := range []string{`\[click me\]\(https://evil.example/a\)`, `\*Ops\* \_team\_`, "1. \\`x\\` \\~y\\~ \\# \\> \\- \\+ \\! \\|"} {
			if event == config.EventHeld && !strings.Contains(all, want) {
				t.Errorf("%s: the card lacks %s:\n%s", event, want, all)
			}
		}
	}
}

// unescapedMarkdown returns the first character of s that Markdown would
// read as markup, and where it is; -1 when there is none.
func unescapedMarkdown(s string) (rune, int) {
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '\\':
			i++ // an escape: the next character is literal
		case strings.IndexByte("*_[]()`~#>-+!|<&", s[i]) >= 0:
			return rune(s[i]), i
		}
	}
	return 0, -1
}

func TestTeamsEscape(t *testing.T) {
	for in, want := range map[string]string{
		"plain text":                            "plain text",
		"[a](b)":                                `\[a\]\(b\)`,
		`C:\dir *x*`:                            `C:\\dir \*x\*`,
		"1. first":                              `1\. first`,
		"12) twelfth":                           `12\) twelfth`,
		"- item":                                `\- item`,
		"version 1. not a list":                 "version 1. not a list",
		"<at>x</at> & y":                        `\<at\>x\</at\> \& y`,
		"{{DATE(2025-03-14T09:30:00Z, SHORT)}}": `\{\{DATE\(2025\-03\-14T09:30:00Z, SHORT\)\}\}`,
	} {
		if got := teamsEscape(in); got != want {
			t.Errorf("teamsEscape(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestChatBodiesEscapeControls: terminal escapes, other control
// characters and bidi overrides in names and errors reach Slack and Teams
// written out (\x1b, \u202e), as in every text output, never raw: a bidi
// override would show one name while spelling another. The json format
// carries the data as the report's JSON does, raw (JSON escapes controls).
func TestChatBodiesEscapeControls(t *testing.T) {
	for _, tc := range []struct{ format, want string }{
		{config.FormatSlack, `Eve\u202egnp.exe`},
		{config.FormatMSTeams, `Eve\\u202egnp.exe`}, // and Markdown then escapes the backslash
	} {
		for _, event := range []string{config.EventHeld, config.EventFailed} {
			var body any
			decode(t, tc.format, event, hostileRun(), &body)
			for _, s := range stringsIn(body) {
				s = strings.ReplaceAll(s, "\n", "") // Slack's own line breaks
				if i := strings.IndexFunc(s, unsafeRune); i >= 0 {
					t.Errorf("%s %s: raw %q in %q", tc.format, event, []rune(s[i:])[0], s)
				}
			}
			if event == config.EventHeld && !strings.Contains(strings.Join(stringsIn(body), "\n"), tc.want) {
				t.Errorf("%s: the name is not shown escaped as %s", tc.format, tc.want)
			}
		}
	}
	var m jsonMessage
	decode(t, config.FormatJSON, config.EventHeld, hostileRun(), &m)
	if got := m.Held[0].Users[2].Name; got != "Eve\u202egnp.exe" {
		t.Errorf("json: name %q, want the directory's own", got)
	}
}

// unsafeRune is what a terminal or a bidi renderer acts on: controls
// (C0, DEL, C1), bidi controls, line and paragraph separators, and the
// replacement of an invalid byte.
func unsafeRune(r rune) bool {
	return unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) || r == '\u2028' || r == '\u2029' || r == utf8.RuneError
}

// stringsIn returns every string in a decoded JSON value.
func stringsIn(v any) []string {
	switch x := v.(type) {
	case string:
		return []string{x}
	case []any:
		var out []string
		for _, e := range x {
			out = append(out, stringsIn(e)...)
		}
		return out
	case map[string]any:
		var out []string
		for _, e := range x {
			out = append(out, stringsIn(e)...)
		}
		return out
	}
	return nil
}

// TestHeldMessageNamesIDs: the held message tells how to approve, so it
// gives the held changes' ids (the first ten, then how many more) for an
// operator to act from the channel; the json format lists them all.
func TestHeldMessageNamesIDs(t *testing.T) {
	many := heldRun()
	r := *many.Report
	r.Changes = nil
	var ids []string
	for i := range 12 {
		id := fmt.Sprintf("%012x", 0xa0+i)
		ids = append(ids, id)
		r.Changes = append(r.Changes, report.Change{Kind: report.KindRemoveMembers, Group: fmt.Sprint("G", i),
			Users: []report.User{{ID: i, Name: "N"}}, Status: report.StatusHeld, Reason: "over", ID: id})
	}
	r.Summary.ChangesHeld = 12
	many.Report = &r
	two := heldRun()
	for _, tc := range []struct {
		name string
		run  Run
		want string
	}{
		{"two", two, "syncd approve 3a29a11f2e96 77e0c0ffee00, or"},
		{"twelve", many, "syncd approve " + strings.Join(ids[:10], " ") + " and 2 more in the report, or"},
	} {
		for _, format := range []string{config.FormatSlack, config.FormatMSTeams} {
			var body any
			decode(t, format, config.EventHeld, tc.run, &body)
			if all := strings.Join(stringsIn(body), "\n"); !strings.Contains(all, tc.want) {
				t.Errorf("%s, %s: no %q in\n%s", tc.name, format, tc.want, all)
			}
		}
	}
}

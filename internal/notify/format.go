package notify

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/syncd/syncd/internal/config"
	"github.com/syncd/syncd/internal/report"
	"github.com/syncd/syncd/internal/termsafe"
)

// render shapes m as the body a webhook of format expects.
func render(format string, m message) ([]byte, error) {
	switch format {
	case config.FormatSlack:
		return marshal(slackBody(m))
	case config.FormatMSTeams:
		return marshal(teamsBody(m))
	case config.FormatJSON:
		return marshal(jsonBody(m))
	}
	return nil, fmt.Errorf("unknown format %q", format)
}

// marshal is json.Marshal without the escaping of <, > and & meant for
// HTML pages: a webhook's body is not one, and Slack's links read better.
func marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// Slack: an incoming webhook's message, https://api.slack.com/messaging/webhooks.
// Blocks show it in the channel; text is what notifications and clients
// without blocks show.

type slackMessage struct {
	Text   string       `json:"text"`
	Blocks []slackBlock `json:"blocks"`
}

type slackBlock struct {
	Type     string      `json:"type"`
	Text     *slackText  `json:"text,omitempty"`
	Fields   []slackText `json:"fields,omitempty"`
	Elements []slackText `json:"elements,omitempty"`
}

type slackText struct {
	Type string `json:"type"` // plain_text | mrkdwn
	Text string `json:"text"`
}

// Slack's limits: a header's text 150 characters, a section's 3000, ten
// fields per section.
const (
	slackHeaderMax  = 150
	slackSectionMax = 3000
	slackFieldsMax  = 10
)

func slackBody(m message) slackMessage {
	blocks := []slackBlock{
		{Type: "header", Text: &slackText{"plain_text", cut(termsafe.String(m.Title), slackHeaderMax)}},
		{Type: "section", Text: &slackText{"mrkdwn", cut(slackSafe(m.Text), slackSectionMax)}},
	}
	var fields []slackText
	for _, f := range m.Facts[:min(len(m.Facts), slackFieldsMax)] {
		fields = append(fields, slackText{"mrkdwn", "*" + slackSafe(f.Label) + "*\n" + slackSafe(f.Value)})
	}
	blocks = append(blocks, slackBlock{Type: "section", Fields: fields})
	if list := itemList(m, "• ", slackSafe); list != "" {
		blocks = append(blocks, slackBlock{Type: "section", Text: &slackText{"mrkdwn", cut(list, slackSectionMax)}})
	}
	if m.Link != "" {
		blocks = append(blocks, slackBlock{Type: "context", Elements: []slackText{{"mrkdwn", "<" + slackEscape(m.Link) + "|Open the report>"}}})
	}
	return slackMessage{Text: slackSafe(m.Title + ": " + m.Text), Blocks: blocks}
}

// slackSafe is text for a mrkdwn field: terminal controls and bidi
// overrides written out as the text outputs show them (termsafe), then
// Slack's markup escaped.
func slackSafe(s string) string { return slackEscape(termsafe.String(s)) }

// slackEscape keeps a name such as "<!channel>" from Slack's markup: only
// &, < and > need escaping (https://api.slack.com/reference/surfaces/formatting).
func slackEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// Microsoft Teams: an Adaptive Card in a message's attachments. This is
// what a Teams workflow made from the template "Send webhook alerts to a
// channel" (Power Automate's "When a Teams webhook request is received")
// posts, and what the older Office 365 incoming webhooks accept too.
// The older MessageCard format works only with those connectors, which
// Microsoft is retiring, so it is not offered.

type teamsMessage struct {
	Type        string            `json:"type"`
	Attachments []teamsAttachment `json:"attachments"`
}

type teamsAttachment struct {
	ContentType string    `json:"contentType"`
	ContentURL  *string   `json:"contentUrl"` // null, as the documented examples have it
	Content     teamsCard `json:"content"`
}

type teamsCard struct {
	Schema  string         `json:"$schema"`
	Type    string         `json:"type"`
	Version string         `json:"version"`
	Body    []teamsElement `json:"body"`
	Actions []teamsAction  `json:"actions,omitempty"`
	MSTeams *teamsWidth    `json:"msteams,omitempty"` // full width: the default is narrow
}

type teamsWidth struct {
	Width string `json:"width"`
}

type teamsElement struct {
	Type    string      `json:"type"` // TextBlock | FactSet
	Text    string      `json:"text,omitempty"`
	Weight  string      `json:"weight,omitempty"`
	Size    string      `json:"size,omitempty"`
	Color   string      `json:"color,omitempty"`
	Spacing string      `json:"spacing,omitempty"`
	Wrap    bool        `json:"wrap,omitempty"`
	Facts   []teamsFact `json:"facts,omitempty"`
}

type teamsFact struct {
	Title string `json:"title"`
	Value string `json:"value"`
}

type teamsAction struct {
	Type  string `json:"type"`
	Title string `json:"title"`
	URL   string `json:"url"`
}

// teamsCardVersion is the newest Adaptive Card version Teams renders
// everywhere, mobile clients included.
const teamsCardVersion = "1.4"

// Every text of the card goes through teamsSafe, whole: the fixed words
// around a name are escaped too (invisibly), so that no name can be
// missed.
func teamsBody(m message) teamsMessage {
	body := []teamsElement{
		{Type: "TextBlock", Text: teamsSafe(m.Title), Weight: "Bolder", Size: "Medium", Color: teamsColor(m.Event), Wrap: true},
		{Type: "TextBlock", Text: teamsSafe(m.Text), Wrap: true},
	}
	var facts []teamsFact
	for _, f := range m.Facts {
		facts = append(facts, teamsFact{teamsSafe(f.Label), teamsSafe(f.Value)})
	}
	body = append(body, teamsElement{Type: "FactSet", Facts: facts})
	for _, it := range m.Items {
		body = append(body, teamsElement{Type: "TextBlock", Text: "• " + teamsSafe(it), Wrap: true, Spacing: "Small"})
	}
	if m.More > 0 {
		body = append(body, teamsElement{Type: "TextBlock", Text: moreLine(m.More), Wrap: true, Spacing: "Small"})
	}
	card := teamsCard{Schema: "http://adaptivecards.io/schemas/adaptive-card.json", Type: "AdaptiveCard",
		Version: teamsCardVersion, Body: body, MSTeams: &teamsWidth{"Full"}}
	if m.Link != "" {
		card.Actions = []teamsAction{{Type: "Action.OpenUrl", Title: "Open the report", URL: m.Link}}
	}
	return teamsMessage{Type: "message", Attachments: []teamsAttachment{{
		ContentType: "application/vnd.microsoft.card.adaptive", Content: card}}}
}

// teamsSafe is text for a card: terminal controls, line breaks and bidi
// overrides written out as the text outputs show them (termsafe), then
// Markdown escaped, the backslashes termsafe wrote included.
func teamsSafe(s string) string { return teamsEscape(termsafe.String(s)) }

// teamsMarkup are the characters that can start markup in a TextBlock or
// a fact: Markdown's emphasis, links, code, lists, headings and quotes,
// the HTML that some clients render, and {{DATE(…)}}, which a card fills in.
const teamsMarkup = "\\`*_{}[]()#+-!|~<>&"

// teamsEscape makes s literal text in a card, whose TextBlocks and facts
// render Markdown: a display name such as "[click me](https://…)" would
// otherwise be a link in the channel, "*x*" bold. Markup characters get a
// backslash (CommonMark lets any ASCII punctuation be escaped; Teams shows
// the character without it), and so does the dot of a leading number,
// which would start a numbered list (after termsafe, a text has one line).
func teamsEscape(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); i++ {
		c := s[i] // bytes: every markup character is ASCII, and no byte of a longer character is
		if strings.IndexByte(teamsMarkup, c) >= 0 || c == '.' && allDigits(s[:i]) {
			b.WriteByte('\\')
		}
		b.WriteByte(c)
	}
	return b.String()
}

// allDigits reports a number: at least one digit, nothing else.
func allDigits(s string) bool {
	return s != "" && strings.Trim(s, "0123456789") == ""
}

// teamsColor marks the title: red for a failure, amber for a hold, green
// for good news.
func teamsColor(event string) string {
	switch event {
	case config.EventFailed:
		return "Attention"
	case config.EventHeld:
		return "Warning"
	case config.EventRecovered, config.EventApplied:
		return "Good"
	}
	return "Accent"
}

// JSON: for a receiver of your own. The run's summary (the report's
// contract fields), its held changes and its errors, whatever the event;
// failed changes too, with their errors.

type jsonMessage struct {
	Event      string          `json:"event"`
	Title      string          `json:"title"`
	Text       string          `json:"text"`
	Mode       string          `json:"mode"`
	Result     string          `json:"result"`
	ExitCode   int             `json:"exit_code"`
	StartedAt  string          `json:"started_at,omitempty"` // RFC 3339, as in the report
	FinishedAt string          `json:"finished_at,omitempty"`
	Summary    report.Summary  `json:"summary"`
	Held       []report.Change `json:"held"`
	Failed     []report.Change `json:"failed"`
	Errors     []string        `json:"errors"`
	ReportURL  string          `json:"report_url,omitempty"`
}

func jsonBody(m message) jsonMessage {
	run := m.Run
	r := run.Report
	if r == nil {
		r = &report.Report{}
	}
	out := jsonMessage{Event: m.Event, Title: m.Title, Text: m.Text, Mode: r.Mode, Result: run.result(),
		ExitCode: run.ExitCode, StartedAt: rfc3339(r.StartedAt), FinishedAt: rfc3339(r.FinishedAt), Summary: r.Summary,
		Held: []report.Change{}, Failed: []report.Change{}, Errors: append([]string{}, r.Errors...), ReportURL: m.Link}
	if run.Report == nil && run.Err != nil {
		out.Errors = append(out.Errors, run.Err.Error())
	}
	for _, c := range r.Changes {
		// Lists are [], never null, as in the report's JSON.
		c.Users, c.Groups = append([]report.User{}, c.Users...), append([]string{}, c.Groups...)
		switch c.Status {
		case report.StatusHeld:
			out.Held = append(out.Held, c)
		case report.StatusFailed:
			out.Failed = append(out.Failed, c)
		}
	}
	return out
}

// rfc3339 writes a time as the report does, to the second; "" for none.
func rfc3339(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Format(time.RFC3339)
}

// itemList writes the items one a line, then how many more there are.
func itemList(m message, bullet string, escape func(string) string) string {
	var b strings.Builder
	for _, it := range m.Items {
		b.WriteString(bullet + escape(it) + "\n")
	}
	if m.More > 0 {
		b.WriteString(moreLine(m.More) + "\n")
	}
	return strings.TrimSuffix(b.String(), "\n")
}

func moreLine(n int) string { return fmt.Sprintf("… and %d more in the report", n) }

// cut shortens s to n bytes at most, on a character boundary.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := n - len("…")
	for i > 0 && !utf8RuneStart(s[i]) {
		i--
	}
	return s[:i] + "…"
}

func utf8RuneStart(b byte) bool { return b&0xC0 != 0x80 }

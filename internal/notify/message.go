package notify

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/syncd/syncd/internal/config"
	"github.com/syncd/syncd/internal/plural"
	"github.com/syncd/syncd/internal/report"
)

// How much of a run one chat message shows: the report holds the rest.
const (
	maxItems     = 5   // changes or errors listed
	maxNames     = 3   // people or groups named per change
	maxItemRunes = 300 // one listed line
	maxIDs       = 10  // held changes' ids in the approve command
)

// message is what one event of one run says, before a format shapes it.
type message struct {
	Event string
	Title string   // one line: "syncd held 2 changes (remove 12 people)"
	Text  string   // what it means, then the run's summary line
	Facts []fact   // the run's counts that are not zero
	Items []string // the first changes or errors the event is about
	More  int      // how many more there are
	Link  string   // the report, or ""
	Run   Run
}

// fact is one labelled count.
type fact struct{ Label, Value string }

// newMessage words event for run.
func newMessage(event string, run Run) message {
	r := run.Report
	if r == nil {
		r = &report.Report{}
	}
	m := message{Event: event, Link: run.ReportURL, Run: run, Facts: facts(run, r)}
	summary := summaryLine(run, r)
	t := r.Tally()
	switch event {
	case config.EventFailed:
		m.Title = "syncd: the run failed"
		m.Text = summary
		m.list(failures(run, r))
	case config.EventHeld:
		m.Title = "syncd held " + counted(t.Held, false)
		m.Text = "Removals that look like accidents were held back: nothing in them was changed. Check the directory, then approve them (" +
			approveCommand(heldIDs(r)) + ", or the console's Approve buttons) or fix the directory. " + summary
		m.list(changeLines(r, report.StatusHeld))
	case config.EventRecovered:
		m.Title = "syncd: runs succeed again"
		m.Text = "The previous run failed; this one did not. " + summary
	case config.EventApplied:
		m.Title = "syncd applied " + counted(t.Applied, true)
		m.Text = summary
		m.list(changeLines(r, report.StatusApplied))
	case config.EventDrift:
		m.Title = "syncd: a dry run found " + counted(t.Planned, false)
		m.Text = summary
		m.list(changeLines(r, report.StatusPlanned))
	}
	m.Title = clip(m.Title)
	return m
}

// counted is "3 changes (add 5 people, remove 1 person)".
func counted(w report.Work, past bool) string {
	s := plural.Count(w.Changes, "change")
	if p := w.Phrase(past); p != "" {
		s += " (" + p + ")"
	}
	return s
}

// list keeps the first maxItems items and counts the others.
func (m *message) list(items []string) {
	if len(items) > maxItems {
		m.More = len(items) - maxItems
		items = items[:maxItems]
	}
	for _, it := range items {
		m.Items = append(m.Items, clip(it))
	}
}

// approveCommand is the syncd approve command for the held changes' ids,
// so that an operator can act from the channel: the first maxIDs (a chat
// line, not a list), then how many more the report has.
func approveCommand(ids []string) string {
	switch {
	case len(ids) == 0: // a report without ids: say the command's shape
		return "syncd approve ID"
	case len(ids) <= maxIDs:
		return "syncd approve " + strings.Join(ids, " ")
	}
	return "syncd approve " + strings.Join(ids[:maxIDs], " ") + fmt.Sprintf(" and %d more in the report", len(ids)-maxIDs)
}

// heldIDs are the ids of the report's held changes, in its order.
func heldIDs(r *report.Report) []string {
	var ids []string
	for _, c := range r.Changes {
		if c.Status == report.StatusHeld && c.ID != "" {
			ids = append(ids, c.ID)
		}
	}
	return ids
}

// summaryLine is the report's own one-line verdict, or the error of a run
// that ended without a report.
func summaryLine(run Run, r *report.Report) string {
	if run.Report == nil {
		if run.Err != nil {
			return "The run ended without a report: " + run.Err.Error()
		}
		return "The run ended without a report."
	}
	return r.SummaryLine()
}

// failures lists what went wrong: the run's errors, then its failed changes.
func failures(run Run, r *report.Report) []string {
	items := append([]string(nil), r.Errors...)
	if run.Report == nil && run.Err != nil {
		items = append(items, run.Err.Error())
	}
	for _, c := range r.Changes {
		if c.Status == report.StatusFailed {
			items = append(items, changeLine(c)+": "+c.Error)
		}
	}
	return items
}

// changeLines describes the report's changes of one status.
func changeLines(r *report.Report, status string) []string {
	var out []string
	for _, c := range r.Changes {
		if c.Status == status {
			line := changeLine(c)
			if c.Reason != "" {
				line += " (" + c.Reason + ")"
			}
			out = append(out, line)
		}
	}
	return out
}

// changeLine is a short sentence of a change, naming the first few people
// or groups: `remove 12 people from user group "Platform": Ann Lee, Bob,
// carol@example.com and 9 more`.
func changeLine(c report.Change) string {
	target := report.TargetLabel(c)
	who := plural.Of(len(c.Users), "person", "people")
	if len(c.Groups) > 0 {
		who = plural.Count(len(c.Groups), "user group")
	}
	var s string
	switch c.Kind {
	case report.KindCreateGroup:
		s = fmt.Sprintf("create %s with %s", target, who)
	case report.KindUpdateGroup:
		return "update the description of " + target
	case report.KindRemoveMembers, report.KindRemoveSMEUsers, report.KindRemoveSMEGroups:
		s = fmt.Sprintf("remove %s from %s", who, target)
	default:
		s = fmt.Sprintf("add %s to %s", who, target)
	}
	if names := names(c); names != "" {
		s += ": " + names
	}
	return s
}

// names lists the first maxNames people (by name, else address) or groups.
func names(c report.Change) string {
	var all []string
	for _, u := range c.Users {
		switch {
		case u.Name != "":
			all = append(all, u.Name)
		case u.Email != "":
			all = append(all, u.Email)
		default:
			all = append(all, "user id "+strconv.Itoa(u.ID))
		}
	}
	all = append(all, c.Groups...)
	if len(all) <= maxNames {
		return strings.Join(all, ", ")
	}
	return strings.Join(all[:maxNames], ", ") + fmt.Sprintf(" and %d more", len(all)-maxNames)
}

// facts are the run's counts worth showing: the mode, then what is not 0.
func facts(run Run, r *report.Report) []fact {
	out := []fact{{"Mode", modeName(r.Mode)}, {"Exit code", strconv.Itoa(run.ExitCode)}}
	s := r.Summary
	for _, f := range []struct {
		label string
		n     int
	}{
		{"Planned", s.ChangesPlanned - s.ChangesApplied - s.ChangesFailed}, {"Applied", s.ChangesApplied},
		{"Failed", s.ChangesFailed}, {"Held", s.ChangesHeld}, {"Pending people", s.PendingUsers},
		{"Errors", len(r.Errors)}, {"API calls", s.APICalls},
	} {
		if f.n > 0 {
			out = append(out, fact{f.label, strconv.Itoa(f.n)})
		}
	}
	return out
}

func modeName(mode string) string {
	switch mode {
	case report.ModeApply:
		return "apply"
	case report.ModeDryRun:
		return "dry run"
	}
	return "unknown"
}

// clip shortens s to maxItemRunes, marking the cut.
func clip(s string) string {
	if utf8.RuneCountInString(s) <= maxItemRunes {
		return s
	}
	r := []rune(s)
	return string(r[:maxItemRunes-1]) + "…"
}

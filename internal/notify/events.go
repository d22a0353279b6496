package notify

import (
	"net/url"
	"time"

	"github.com/syncd/syncd/internal/config"
	"github.com/syncd/syncd/internal/exitcode"
	"github.com/syncd/syncd/internal/report"
	"github.com/syncd/syncd/internal/state"
)

// Run is one finished run, as the notifier sees it.
type Run struct {
	Report   *report.Report // nil when the run ended without one (it panicked)
	ExitCode int            // DESIGN.md §4
	// Err is why the run failed as a whole, if it did; its text is sent
	// when the report does not already say it.
	Err error
	// ReportURL is a page that shows this run's report, or "". The daemon
	// links to its /reports/latest; a one-shot run has no such page.
	ReportURL string
}

func (r Run) result() string { return exitcode.Result(r.ExitCode) }

// started is when the run began (now, for a run without a report).
func (r Run) started(now time.Time) time.Time {
	if r.Report != nil && !r.Report.StartedAt.IsZero() {
		return r.Report.StartedAt
	}
	return now
}

func (r Run) finished(now time.Time) time.Time {
	if r.Report != nil && !r.Report.FinishedAt.IsZero() {
		return r.Report.FinishedAt
	}
	return now
}

// Events returns what run tells, in the order its messages are sent.
// previous is the exitcode.Result of the run before it, "" when unknown.
//
//   - failed: the run failed (exit 1, or any code that is not a success);
//   - held: it held changes back (a failed run may have held some too);
//   - recovered: it did not fail, and the run before it did;
//   - applied: it applied changes;
//   - drift: it was a dry run and found changes to make (held ones are
//     the held event's).
func Events(run Run, previous string) []string {
	var out []string
	failed := run.result() == exitcode.ResultFailure
	r := run.Report
	if r == nil {
		r = &report.Report{}
	}
	for _, e := range config.Events {
		var yes bool
		switch e {
		case config.EventFailed:
			yes = failed
		case config.EventHeld:
			yes = r.Summary.ChangesHeld > 0
		case config.EventRecovered:
			yes = !failed && previous == exitcode.ResultFailure
		case config.EventApplied:
			yes = r.Mode == report.ModeApply && r.Summary.ChangesApplied > 0
		case config.EventDrift:
			yes = r.Mode == report.ModeDryRun && r.Summary.ChangesPlanned > 0
		}
		if yes {
			out = append(out, e)
		}
	}
	return out
}

// History is the run history that outlives the process: the state store
// (*state.Store), which the engine records every run in, one-shot runs
// included.
type History interface {
	Runs() []state.Run // oldest first
}

// outcome is how a run ended, and when.
type outcome struct {
	result   string
	finished time.Time
}

// previous is how the run before run ended: the later of the last run
// this notifier was told of (which covers a run the store could not
// record) and the last run in the history that started before run (which
// covers runs before a restart, and one-shot runs beside the daemon).
// The caller holds n.mu.
func (n *Notifier) previous(run Run, now time.Time) string {
	best := n.last
	if n.o.History != nil {
		started := run.started(now)
		runs := n.o.History.Runs()
		for i := len(runs) - 1; i >= 0; i-- {
			h := runs[i]
			if !h.StartedAt.Before(started) {
				continue // this run itself, or one that started after it
			}
			if best == nil || h.FinishedAt.After(best.finished) {
				best = &outcome{result: exitcode.Result(h.ExitCode), finished: h.FinishedAt}
			}
			break
		}
	}
	if best == nil {
		return ""
	}
	return best.result
}

// ReportURL is the page of the latest report under the daemon's public
// base URL (server.public_url), or "" when there is none.
func ReportURL(publicURL string) string {
	if publicURL == "" {
		return ""
	}
	u, err := url.JoinPath(publicURL, "reports", "latest")
	if err != nil {
		return ""
	}
	return u
}

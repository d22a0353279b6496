package metrics

import (
	"time"

	"github.com/syncd/syncd/internal/report"
)

var changeKinds = []string{
	report.KindCreateGroup, report.KindAddMembers, report.KindRemoveMembers, report.KindUpdateGroup,
	report.KindAddSMEUsers, report.KindRemoveSMEUsers, report.KindAddSMEGroups, report.KindRemoveSMEGroups,
}

var changeResults = []string{report.StatusPlanned, report.StatusApplied, report.StatusFailed, report.StatusHeld}

// Run is what the metrics need to know of one finished sync run. The daemon
// fills it from the engine's result.
type Run struct {
	Result   string         // ResultSuccess | ResultHeld | ResultFailure
	Finished time.Time      // when the run ended
	Duration time.Duration  // how long it took
	Report   *report.Report // nil when the run failed before planning
	Sources  []Source       // one per configured source that was read
}

// Source is one source read during a run.
type Source struct {
	Name     string
	Users    int
	Groups   int
	Unknown  int // groups that could not be read completely
	Duration time.Duration
	Failed   bool // the whole source could not be read
}

// ObserveRun records a finished run: its result, duration, timestamps, the
// changes of its report and what each source yielded.
func (m *Metrics) ObserveRun(r Run) {
	result := r.Result
	if result != ResultSuccess && result != ResultHeld {
		result = ResultFailure
	}
	m.runInProgress.Set(0)
	m.runs.WithLabelValues(result).Inc()
	m.runDuration.Observe(r.Duration.Seconds())
	m.lastRun.Set(unixSeconds(r.Finished))
	if result != ResultFailure {
		m.lastSuccess.Set(unixSeconds(r.Finished))
	}
	for _, s := range r.Sources {
		m.observeSource(s)
	}
	if r.Report != nil {
		m.observeReport(r.Report)
	}
}

func (m *Metrics) observeSource(s Source) {
	m.sourceReadDuration.WithLabelValues(s.Name).Observe(s.Duration.Seconds())
	if s.Failed {
		// Keep the last known sizes: a failed read says nothing about them.
		m.sourceReadErrors.WithLabelValues(s.Name).Inc()
		return
	}
	m.sourceReadErrors.WithLabelValues(s.Name) // create the series at zero
	m.sourceUsers.WithLabelValues(s.Name).Set(float64(s.Users))
	m.sourceGroups.WithLabelValues(s.Name).Set(float64(s.Groups))
	m.sourceUnknown.WithLabelValues(s.Name).Set(float64(s.Unknown))
}

func (m *Metrics) observeReport(rep *report.Report) {
	m.pendingUsers.Set(float64(rep.Summary.PendingUsers))
	for _, c := range rep.Changes {
		m.changes.WithLabelValues(bounded(c.Kind, changeKinds), bounded(c.Status, changeResults)).Inc()
		if c.Status == report.StatusHeld && isRemoval(c.Kind) {
			m.removalsHeld.Add(float64(len(c.Users) + len(c.Groups)))
		}
	}
}

func isRemoval(kind string) bool {
	switch kind {
	case report.KindRemoveMembers, report.KindRemoveSMEUsers, report.KindRemoveSMEGroups:
		return true
	}
	return false
}

// bounded returns v when it is one of known, else "other", so that a label
// never grows beyond a fixed set whatever a caller passes.
func bounded(v string, known []string) string {
	for _, k := range known {
		if v == k {
			return v
		}
	}
	return "other"
}

func unixSeconds(t time.Time) float64 {
	return float64(t.UnixNano()) / 1e9
}

// Restore sets the run timestamps from the persisted run history at start,
// so that a restart does not make the last success look like never (and
// fire alerts). Zero times are left alone.
func (m *Metrics) Restore(lastRun, lastSuccess time.Time) {
	if !lastRun.IsZero() {
		m.lastRun.Set(unixSeconds(lastRun))
	}
	if !lastSuccess.IsZero() {
		m.lastSuccess.Set(unixSeconds(lastSuccess))
	}
}

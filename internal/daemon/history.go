package daemon

import (
	"encoding/json"
	"time"

	"go.uber.org/zap"

	"github.com/syncd/syncd/internal/exitcode"
	"github.com/syncd/syncd/internal/metrics"
	"github.com/syncd/syncd/internal/report"
	"github.com/syncd/syncd/internal/state"
)

// RestoreHistory brings back, from the state store, the run timestamps
// for the metrics and the last report for /reports/latest (Options.Latest;
// nil when there is none or it cannot be read).
func RestoreHistory(store *state.Store, m *metrics.Metrics, log *zap.Logger) *report.Report {
	var lastRun, lastSuccess time.Time
	for _, r := range store.Runs() {
		lastRun = r.FinishedAt
		if exitcode.Succeeded(r.ExitCode) {
			lastSuccess = r.FinishedAt
		}
	}
	m.Restore(lastRun, lastSuccess)
	data := store.LatestReport()
	if data == nil {
		return nil
	}
	var rep report.Report
	if err := json.Unmarshal(data, &rep); err != nil {
		log.Warn("the kept report cannot be read; /reports/latest waits for the next run", zap.Error(err))
		return nil
	}
	return &rep
}

// LastSuccessStart is when the last run that succeeded started (zero:
// none is kept): what a source's changes are compared with at start.
func LastSuccessStart(store *state.Store) time.Time {
	var since time.Time
	for _, r := range store.Runs() {
		if exitcode.Succeeded(r.ExitCode) && r.StartedAt.After(since) {
			since = r.StartedAt
		}
	}
	return since
}

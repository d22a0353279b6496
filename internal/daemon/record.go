package daemon

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/syncd/syncd/internal/metrics"
)

// record publishes a finished run: metrics, latest report, readiness, and
// the one summary line per run.
func (d *Daemon) record(res *Result, err error, start, end time.Time) {
	code := exitCode(res, err)
	run := metrics.Run{Result: metrics.ResultOf(code), Finished: end, Duration: end.Sub(start)}
	if res != nil {
		run.Report = res.Report
		run.Sources = sourceMetrics(res.Sources)
	}
	d.o.Metrics.ObserveRun(run)
	reason := d.o.NotReady(res, err)
	d.mu.Lock()
	if res != nil && res.Report != nil {
		d.latest = res.Report
	}
	d.notReady = reason
	d.mu.Unlock()
	d.logRun(res, err, code, run)
	d.o.Notify.Notify(fmt.Sprintf("STATUS=last run: %s at %s", run.Result, end.UTC().Format(time.RFC3339)))
}

// exitCode is the run's contract exit code; an error never passes for 0.
func exitCode(res *Result, err error) int {
	switch {
	case res != nil && res.ExitCode != 0:
		return res.ExitCode
	case err != nil:
		return 1
	}
	return 0
}

func sourceMetrics(stats []SourceStat) []metrics.Source {
	out := make([]metrics.Source, 0, len(stats))
	for _, s := range stats {
		out = append(out, metrics.Source{
			Name: s.Name, Users: s.Users, Groups: s.Groups, Unknown: s.Unknown,
			Duration: s.Duration, Failed: s.Err != nil,
		})
	}
	return out
}

func (d *Daemon) logRun(res *Result, err error, code int, run metrics.Run) {
	fields := []zap.Field{
		zap.String("result", run.Result), zap.Int("exit_code", code), zap.Duration("duration", run.Duration),
	}
	if res != nil && res.Report != nil {
		s := res.Report.Summary
		fields = append(fields, zap.String("mode", res.Report.Mode),
			zap.Int("source_groups", s.SourceGroups), zap.Int("source_users", s.SourceUsers),
			zap.Int("matched_users", s.MatchedUsers), zap.Int("pending_users", s.PendingUsers),
			zap.Int("changes_planned", s.ChangesPlanned), zap.Int("changes_applied", s.ChangesApplied),
			zap.Int("changes_failed", s.ChangesFailed), zap.Int("changes_held", s.ChangesHeld),
			zap.Int("api_calls", s.APICalls))
	}
	if err != nil {
		if errors.Is(err, context.Canceled) {
			fields = append(fields, zap.Bool("interrupted", true))
		}
		d.o.Logger.Error("run finished", append(fields, zap.Error(err))...)
		return
	}
	if run.Result == metrics.ResultSuccess {
		// The engine logs the run's summary line; this one adds the trigger's view.
		d.o.Logger.Debug("run finished", fields...)
		return
	}
	d.o.Logger.Warn("run finished", fields...)
}

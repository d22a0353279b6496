package daemon

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/syncd/syncd/internal/exitcode"
	"github.com/syncd/syncd/internal/metrics"
)

// record publishes a finished run: metrics, latest report, readiness, and
// the one summary line per run.
func (d *Daemon) record(res *Result, err error, start, end time.Time) {
	code := exitCode(res, err)
	run := metrics.Run{Result: exitcode.Result(code), Finished: end, Duration: end.Sub(start)}
	if res != nil {
		run.Report = res.Report
		run.Sources = sourceMetrics(res.Sources)
	}
	d.o.Metrics.ObserveRun(run)
	reason := d.o.NotReady(res, err)
	d.mu.Lock()
	d.last = LastRun{ExitCode: code}
	if res != nil && res.Report != nil {
		d.latest, d.last.Report = res.Report, res.Report
	}
	d.notReady = reason
	d.mu.Unlock()
	d.logRun(res, err, code, run)
	d.o.Notify.Notify(fmt.Sprintf("STATUS=last run: %s at %s", run.Result, end.UTC().Format(time.RFC3339)))
	d.afterRun(res, err, code)
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

// logRun logs the run's end. A Runner that returns a Result has logged the
// run's one summary line (counts, calls, duration, mode) itself, so this
// line is a debug echo with the daemon's view; only a run that ended
// without a Result (a panic, a runner that could not start) is logged here
// as the error it is.
func (d *Daemon) logRun(res *Result, err error, code int, run metrics.Run) {
	fields := []zap.Field{
		zap.String("result", run.Result), zap.Int("exit_code", code), zap.Duration("duration", run.Duration),
	}
	if err != nil {
		if errors.Is(err, context.Canceled) {
			fields = append(fields, zap.Bool("interrupted", true))
		}
		fields = append(fields, zap.Error(err))
	}
	if res == nil {
		d.o.Logger.Error("run ended without a result", fields...)
		return
	}
	d.o.Logger.Debug("run finished", fields...)
}

package daemon

import "github.com/syncd/syncd/internal/config"

// Ended is a finished run as Options.AfterRun sees it.
type Ended struct {
	Config   *config.Config // the configuration the run used
	Result   *Result        // nil when the run ended without one (it panicked)
	Err      error
	ExitCode int // DESIGN.md §4, as the metrics count it
}

// afterRun calls Options.AfterRun. It runs on the run's goroutine before
// the daemon counts the run as over, so the hook must return at once
// (notify.Enqueue does: it sends in the background): a slow one would
// delay the next run and a stop.
func (d *Daemon) afterRun(res *Result, err error, code int) {
	if d.o.AfterRun == nil {
		return
	}
	d.o.AfterRun(Ended{Config: d.Config(), Result: res, Err: err, ExitCode: code})
}

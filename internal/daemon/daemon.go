// Package daemon is the long-running form of syncd (`syncd run`): a thin
// scheduling loop around one Runner.RunOnce, which never runs twice at
// once, reloads its configuration on demand, and reports to systemd.
package daemon

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	gosync "sync"
	"time"

	"go.uber.org/zap"

	"github.com/syncd/syncd/internal/config"
	"github.com/syncd/syncd/internal/metrics"
	"github.com/syncd/syncd/internal/report"
	engine "github.com/syncd/syncd/internal/sync"
)

// Result is what the daemon needs to know of one run (the engine's result).
type Result struct {
	Report   *report.Report
	Sources  []SourceStat
	ExitCode int // DESIGN.md §4
}

// SourceStat is what one source yielded during a run.
type SourceStat struct {
	Name                   string
	Users, Groups, Unknown int
	Duration               time.Duration
	Err                    error
}

// Runner performs one sync. It must stop at a safe point when ctx ends.
// When it returns a Result it has logged the run's summary line itself
// (the engine does, for `syncd sync` too), so the daemon does not repeat it.
//
// Every capability the daemon asks of a runner is in the interface, so
// that a runner wrapping another (watch mode's) passes them all on by
// embedding it, instead of losing one found by type assertion.
type Runner interface {
	RunOnce(ctx context.Context) (*Result, error)
	// Explain explains the plan for one person, reading and writing
	// nothing else (the web console's search); ErrNoExplainer if it
	// cannot.
	Explain(ctx context.Context, email string) (*engine.Explanation, error)
	// Progress says how far the apply under way is; false when none is.
	Progress() (engine.Progress, bool)
	// Close releases what the runner holds (source connections) when it
	// is replaced or the daemon stops.
	Close() error
}

// BuildFunc makes the Runner for a configuration. It is called at start and
// on every reload; a Runner is closed when it is replaced or the daemon
// stops.
type BuildFunc func(cfg *config.Config) (Runner, error)

// Errors of Trigger.
var (
	ErrBusy    = errors.New("a sync run is already going")
	ErrStopped = errors.New("the scheduler is not running")
)

// Options are the daemon's dependencies; those marked required must be set.
type Options struct {
	Config  *config.Config                 // required: the configuration loaded at start
	Build   BuildFunc                      // required
	Load    func() (*config.Config, error) // required for Reload: reads the configuration again
	Logger  *zap.Logger                    // required
	Metrics *metrics.Metrics               // required
	Notify  *Notifier                      // optional: systemd notifications
	Latest  *report.Report                 // optional: the last report kept from before a restart

	// NotReady says why a finished run makes syncd not ready (a credential
	// no retry will fix), or "" when it does not. Default: always "".
	NotReady func(res *Result, err error) string
	// Jitter returns a random delay in [0, max); default math/rand/v2.
	Jitter func(max time.Duration) time.Duration
	// Reloaded, when set, is called with each configuration a reload
	// accepts, at once rather than at the next run: for what must not wait,
	// such as a rotated token of an HTTP endpoint.
	Reloaded func(cfg *config.Config)
	// ShutdownGrace bounds the wait for a cancelled run to stop; default
	// 10s: a write's own grace (3s) and room to record it and the run on
	// a busy disk, well inside systemd's and Kubernetes' 30s.
	ShutdownGrace time.Duration
	// AfterRun, when set, is told of every run once it is recorded: for
	// what follows a run, such as notifications. See Ended.
	AfterRun func(Ended)
	// Resume, when set, is called once the scheduler runs, when no run
	// starts then (run_at_start: false): for a source holding changes no
	// run has applied yet to ask for one.
	Resume func()
}

// Daemon schedules runs. Create it with New, then call Run.
type Daemon struct {
	o        Options
	changed  chan struct{} // the schedule may have changed (reload)
	mu       gosync.Mutex
	cfg      *config.Config
	runner   Runner
	next     *generation // configuration waiting for the next run
	ctx      context.Context
	running  chan struct{} // closed when the current run ends; nil when idle
	latest   *report.Report
	last     LastRun // the run that ended last
	notReady string
}

// LastRun is how the run that ended last ended: its exit code, and its
// report (nil when it produced none; Latest then still has an older one).
type LastRun struct {
	Report   *report.Report
	ExitCode int
}

// generation is a configuration with the runner built from it.
type generation struct {
	cfg    *config.Config
	runner Runner
}

// New checks the options and builds the first runner.
func New(o Options) (*Daemon, error) {
	switch {
	case o.Config == nil:
		return nil, errors.New("daemon: a Config is required")
	case o.Build == nil:
		return nil, errors.New("daemon: a Build function is required")
	case o.Logger == nil:
		return nil, errors.New("daemon: a Logger is required")
	case o.Metrics == nil:
		return nil, errors.New("daemon: Metrics are required")
	}
	if _, err := ParseSchedule(o.Config.Sync.Schedule); err != nil {
		return nil, err
	}
	setDefaults(&o)
	runner, err := o.Build(o.Config)
	if err != nil {
		return nil, fmt.Errorf("daemon: %w", err)
	}
	return &Daemon{o: o, cfg: o.Config, runner: runner, latest: o.Latest, changed: make(chan struct{}, 1)}, nil
}

func setDefaults(o *Options) {
	if o.NotReady == nil {
		o.NotReady = func(*Result, error) string { return "" } // every run leaves syncd ready
	}
	if o.Jitter == nil {
		o.Jitter = randomJitter
	}
	if o.ShutdownGrace <= 0 {
		o.ShutdownGrace = 10 * time.Second
	}
}

func randomJitter(max time.Duration) time.Duration {
	if max <= 0 {
		return 0
	}
	return time.Duration(rand.Int64N(int64(max)))
}

// Config returns the configuration in force (a reloaded one once its first
// run has started).
func (d *Daemon) Config() *config.Config {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.cfg
}

// Latest returns the report of the last run that produced one, or nil.
func (d *Daemon) Latest() *report.Report {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.latest
}

// Last returns how the run that ended last ended.
func (d *Daemon) Last() LastRun {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.last
}

// Ready says whether syncd is ready: its configuration is loaded and the
// last run did not fail because of the configuration or credentials.
func (d *Daemon) Ready() (bool, string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.notReady == "", d.notReady
}

// Running reports whether a run is going.
func (d *Daemon) Running() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.running != nil
}

// Progress says how far the run under way has applied its changes; false
// when no run is applying.
func (d *Daemon) Progress() (engine.Progress, bool) {
	d.mu.Lock()
	r, running := d.runner, d.running != nil
	d.mu.Unlock()
	if !running {
		return engine.Progress{}, false
	}
	return r.Progress()
}

func closeRunner(r Runner) error { return r.Close() }

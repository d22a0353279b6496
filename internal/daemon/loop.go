package daemon

import (
	"context"
	"fmt"
	"time"

	"github.com/robfig/cron/v3"
	"go.uber.org/zap"

	"github.com/syncd/syncd/internal/config"
)

// DefaultSchedule applies when sync.schedule is empty.
const DefaultSchedule = "@every 30m"

var parser = cron.NewParser(cron.SecondOptional | cron.Minute | cron.Hour | cron.Dom |
	cron.Month | cron.Dow | cron.Descriptor)

// ParseSchedule reads sync.schedule: a cron expression (five fields, or six
// with seconds first, optionally prefixed by CRON_TZ=Zone) or a descriptor
// such as "@hourly" or "@every 30m".
func ParseSchedule(spec string) (cron.Schedule, error) {
	if spec == "" {
		spec = DefaultSchedule
	}
	s, err := parser.Parse(spec)
	if err != nil {
		return nil, fmt.Errorf("sync.schedule %q: %w", spec, err)
	}
	return s, nil
}

// Run schedules runs until ctx ends, then waits (at most ShutdownGrace) for
// the current run to stop at a safe point, closes the runner and returns.
// Cancelling ctx is how SIGTERM stops the daemon.
func (d *Daemon) Run(ctx context.Context) error {
	d.mu.Lock()
	d.ctx = ctx
	d.mu.Unlock()
	log := d.o.Logger
	d.o.Notify.Notify("READY=1\nSTATUS=scheduling")
	if runAtStart(d.Config()) {
		d.start("start")
	} else if d.o.Resume != nil {
		d.o.Resume()
	}
	timer, due := d.arm(time.Now())
	defer func() { timer.Stop() }()
	watchdog := d.watchdogTicker()
	defer watchdog.Stop()
	for {
		select {
		case <-ctx.Done():
			return d.shutdown()
		case <-timer.C:
			if _, err := d.start("schedule"); err == ErrBusy {
				d.o.Metrics.RunSkipped()
				log.Warn("scheduled run skipped: the previous run is still going", zap.Time("due", due))
			}
			timer, due = d.arm(time.Now())
		case <-d.changed:
			timer.Stop()
			timer, due = d.arm(time.Now())
		case <-watchdog.C:
			d.o.Notify.Notify("WATCHDOG=1")
		}
	}
}

func runAtStart(cfg *config.Config) bool {
	return cfg.Sync.RunAtStart == nil || *cfg.Sync.RunAtStart
}

// arm starts the timer for the next scheduled run after now, with jitter.
func (d *Daemon) arm(now time.Time) (*time.Timer, time.Time) {
	cfg := d.pendingConfig()
	sched, err := ParseSchedule(cfg.Sync.Schedule)
	if err != nil { // checked at New and Reload; keep a sane default regardless
		sched, _ = ParseSchedule(DefaultSchedule)
	}
	due := sched.Next(now).Add(d.o.Jitter(cfg.Sync.Jitter.Std()))
	d.o.Logger.Debug("next run scheduled", zap.Time("at", due))
	return time.NewTimer(due.Sub(now)), due
}

// pendingConfig is the configuration the next run will use.
func (d *Daemon) pendingConfig() *config.Config {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.next != nil {
		return d.next.cfg
	}
	return d.cfg
}

// watchdogTicker ticks at the systemd watchdog interval, or never. Pinging
// from the loop (not a goroutine of its own) means a stuck loop gets
// syncd restarted.
func (d *Daemon) watchdogTicker() *time.Ticker {
	iv := d.o.Notify.WatchdogInterval()
	if iv <= 0 {
		t := time.NewTicker(time.Hour)
		t.Stop()
		return t
	}
	return time.NewTicker(iv)
}

// shutdown waits for the run in progress, bounded by ShutdownGrace.
func (d *Daemon) shutdown() error {
	d.o.Notify.Notify("STOPPING=1")
	d.mu.Lock()
	running := d.running
	d.mu.Unlock()
	if running != nil {
		d.o.Logger.Info("stopping: waiting for the current run to reach a safe point")
		select {
		case <-running:
		case <-time.After(d.o.ShutdownGrace):
			d.o.Logger.Warn("stopping: the current run did not stop in time", zap.Duration("grace", d.o.ShutdownGrace))
			return nil
		}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := closeRunner(d.runner); err != nil {
		d.o.Logger.Warn("close runner", zap.Error(err))
	}
	if d.next != nil {
		closeRunner(d.next.runner)
	}
	return nil
}

// Trigger starts a run now (POST /sync). It returns ErrBusy while a run is
// going and ErrStopped when the scheduler is not running. The channel is
// closed when the run ends.
func (d *Daemon) Trigger() (<-chan struct{}, error) {
	return d.start("request")
}

// start begins a run in its own goroutine unless one is going.
func (d *Daemon) start(reason string) (<-chan struct{}, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	done, err := d.claimLocked()
	if err != nil {
		return nil, err
	}
	go d.runOnce(d.ctx, d.runner, reason, done)
	return done, nil
}

// claimLocked takes the daemon's one run slot for a run or a change set,
// with the runner of the configuration in force (a reloaded one takes
// over here): the channel is to be closed when it ends. ErrStopped when
// the scheduler is not running, ErrBusy while something else runs.
// Called with d.mu held.
func (d *Daemon) claimLocked() (chan struct{}, error) {
	if d.ctx == nil || d.ctx.Err() != nil {
		return nil, ErrStopped
	}
	if d.running != nil {
		return nil, ErrBusy
	}
	d.swapLocked()
	done := make(chan struct{})
	d.running = done
	return done, nil
}

// swapLocked puts a reloaded configuration in force; the daemon is idle.
func (d *Daemon) swapLocked() {
	if d.next == nil {
		return
	}
	if err := closeRunner(d.runner); err != nil {
		d.o.Logger.Warn("close previous runner", zap.Error(err))
	}
	d.cfg, d.runner, d.next = d.next.cfg, d.next.runner, nil
	d.o.Logger.Info("reloaded configuration in force", zap.String("config", d.cfg.Path))
}

func (d *Daemon) runOnce(ctx context.Context, r Runner, reason string, done chan struct{}) {
	defer close(done)
	d.o.Metrics.RunStarted()
	d.o.Notify.Notify("STATUS=running a sync")
	d.o.Logger.Info("run started", zap.String("trigger", reason))
	start := time.Now()
	res, err := safeRun(ctx, r)
	end := time.Now()
	d.record(res, err, start, end)
	d.mu.Lock()
	d.running = nil
	d.mu.Unlock()
}

// safeRun turns a panic in a run into an error so one bad run does not
// take the daemon down.
func safeRun(ctx context.Context, r Runner) (res *Result, err error) {
	defer func() {
		if p := recover(); p != nil {
			res, err = nil, fmt.Errorf("run panicked: %v", p)
		}
	}()
	return r.RunOnce(ctx)
}

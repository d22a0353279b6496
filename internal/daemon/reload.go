package daemon

import (
	"errors"
	"fmt"

	"go.uber.org/zap"

	"github.com/syncd/syncd/internal/config"
)

// Reload reads the configuration again (SIGHUP). A valid one, with its
// runner built, takes effect at the next run; its schedule at once. An
// invalid one is logged and counted, and the configuration in force stays.
func (d *Daemon) Reload() error {
	d.o.Notify.Notify("RELOADING=1")
	defer d.o.Notify.Notify("READY=1")
	err := d.reload()
	d.o.Metrics.ConfigReload(err == nil)
	if err != nil {
		d.o.Logger.Error("configuration reload rejected; keeping the configuration in force", zap.Error(err))
		return err
	}
	d.o.Logger.Info("configuration reloaded; it takes effect at the next run")
	select {
	case d.changed <- struct{}{}:
	default: // a reschedule is already pending
	}
	return nil
}

func (d *Daemon) reload() error {
	if d.o.Load == nil {
		return errors.New("reload: no way to load the configuration")
	}
	cfg, err := d.o.Load()
	if err != nil {
		return fmt.Errorf("reload: %w", err)
	}
	if _, err := ParseSchedule(cfg.Sync.Schedule); err != nil {
		return fmt.Errorf("reload: %w", err)
	}
	runner, err := d.o.Build(cfg)
	if err != nil {
		return fmt.Errorf("reload: %w", err)
	}
	d.warnRestartOnly(cfg)
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.next != nil { // an earlier reload never reached a run
		closeRunner(d.next.runner)
	}
	d.next = &generation{cfg: cfg, runner: runner}
	return nil
}

// warnRestartOnly tells about settings that a reload cannot change.
func (d *Daemon) warnRestartOnly(cfg *config.Config) {
	cur := d.Config()
	if cfg.Server != cur.Server || cfg.Log != cur.Log || cfg.Sync.StateDir != cur.Sync.StateDir {
		d.o.Logger.Warn("server, log and sync.state_dir settings change only on restart")
	}
}

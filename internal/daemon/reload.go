package daemon

import (
	"errors"
	"fmt"

	"go.uber.org/zap"

	"github.com/syncd/syncd/internal/config"
)

// Reload reads the configuration again (SIGHUP). A valid one, with its
// runner built, takes effect at the next run; its schedule, and whatever
// Options.Reloaded applies, at once. An invalid one is logged and counted,
// and the configuration in force stays.
func (d *Daemon) Reload() error {
	d.o.Notify.Notify("RELOADING=1")
	defer d.o.Notify.Notify("READY=1")
	cfg, err := d.reload()
	if err != nil {
		d.o.Metrics.ConfigReload(false)
		d.o.Logger.Error("configuration reload rejected; keeping the configuration in force", zap.Error(err))
		return err
	}
	if d.o.Reloaded != nil {
		d.o.Reloaded(cfg)
	}
	// Counted once all of it is in force (the tokens Reloaded applies): a
	// watcher of the counter may rely on the new tokens from then on.
	d.o.Metrics.ConfigReload(true)
	d.o.Logger.Info("configuration reloaded; the sync takes it at the next run")
	select {
	case d.changed <- struct{}{}:
	default: // a reschedule is already pending
	}
	return nil
}

func (d *Daemon) reload() (*config.Config, error) {
	if d.o.Load == nil {
		return nil, errors.New("reload: no way to load the configuration")
	}
	cfg, err := d.o.Load()
	if err != nil {
		return nil, fmt.Errorf("reload: %w", err)
	}
	if _, err := ParseSchedule(cfg.Sync.Schedule); err != nil {
		return nil, fmt.Errorf("reload: %w", err)
	}
	runner, err := d.o.Build(cfg)
	if err != nil {
		return nil, fmt.Errorf("reload: %w", err)
	}
	d.warnRestartOnly(cfg)
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.next != nil { // an earlier reload never reached a run
		closeRunner(d.next.runner)
	}
	d.next = &generation{cfg: cfg, runner: runner}
	return cfg, nil
}

// warnRestartOnly tells about settings that a reload cannot change: the
// listener, the logger and the state store are opened once. (Tokens are
// not among them: Options.Reloaded applies them.)
func (d *Daemon) warnRestartOnly(cfg *config.Config) {
	cur := d.Config()
	var changed []string
	if cfg.Server.Listen != cur.Server.Listen {
		changed = append(changed, "server.listen")
	}
	if cfg.Server.Pprof != cur.Server.Pprof {
		changed = append(changed, "server.pprof")
	}
	if cfg.Log != cur.Log {
		changed = append(changed, "log")
	}
	if cfg.Sync.StateDir != cur.Sync.StateDir {
		changed = append(changed, "sync.state_dir")
	}
	if len(changed) > 0 {
		d.o.Logger.Warn("these settings change only on restart; the old values stay in force", zap.Strings("settings", changed))
	}
}

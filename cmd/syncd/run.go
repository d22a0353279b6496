package main

import (
	"context"
	"flag"
	"net"
	"os"
	"os/signal"
	"syscall"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"go.uber.org/zap"

	"github.com/syncd/syncd/internal/config"
	"github.com/syncd/syncd/internal/daemon"
	"github.com/syncd/syncd/internal/exitcode"
	"github.com/syncd/syncd/internal/lock"
	"github.com/syncd/syncd/internal/logging"
	"github.com/syncd/syncd/internal/metrics"
	"github.com/syncd/syncd/internal/notify"
	"github.com/syncd/syncd/internal/server"
	"github.com/syncd/syncd/internal/state"
	engine "github.com/syncd/syncd/internal/sync"
	"github.com/syncd/syncd/internal/version"
)

type runFlagSet struct {
	config *string
	apply  *bool
	state  stateFlags
}

func newRunFlags() (*flag.FlagSet, *runFlagSet) {
	fs := newFlagSet("run")
	f := &runFlagSet{config: configFlag(fs),
		apply: fs.Bool("apply", false, "apply the changes (default: dry run, unless sync.apply is true)"),
		state: addStateFlags(fs, false)}
	return fs, f
}

// cmdRun is the daemon: it syncs on sync.schedule and serves HTTP until
// SIGTERM or SIGINT; SIGHUP reloads the configuration.
func cmdRun(ctx context.Context, e env, args []string) error {
	fs, f := newRunFlags()
	if err := parse(fs, args); err != nil {
		return err
	}
	path := configPath(e, *f.config) // kept for reloads
	cfg, err := loadConfig(e, path)
	if err != nil {
		return err
	}
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGHUP, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sigs)
	return runDaemon(ctx, e, cfg, daemonFlags{path: path, apply: *f.apply, resetState: *f.state.reset}, sigs)
}

// daemonFlags are the command line of `syncd run`.
type daemonFlags struct {
	path       string
	apply      bool
	resetState bool
}

// runDaemon wires the daemon from a loaded configuration and runs it until
// ctx ends or a stop signal arrives on sigs. Once its logger is built,
// what stops it is logged (its stderr is the log) and the error returned
// only carries the exit code.
func runDaemon(ctx context.Context, e env, cfg *config.Config, f daemonFlags, sigs <-chan os.Signal) error {
	log, err := logging.New(cfg.Log, e.stderr)
	if err != nil {
		return &configError{err: err}
	}
	defer func() { _ = log.Sync() }()
	p, err := newDaemonParts(e, cfg, f, log)
	if err != nil {
		log.Error("cannot start", zap.Error(err))
		return exitWith(exitcode.Of(err))
	}
	defer p.close()
	ln, err := net.Listen("tcp", cfg.Server.Listen)
	if err != nil {
		log.Error("cannot listen", zap.String("listen", cfg.Server.Listen), zap.Error(err))
		return exitWith(exitcode.Failure)
	}
	log.Info("syncd started", zap.String("version", version.String()), zap.String("listen", ln.Addr().String()),
		zap.String("schedule", cfg.Sync.Schedule), zap.Bool("apply", f.apply || cfg.Sync.Apply), zap.String("config", f.path))
	err = serve(ctx, p, ln, sigs)
	p.close() // notifications still being sent get their grace first (closing twice is harmless)
	if err == nil {
		log.Info("syncd stopped")
	}
	return err
}

// serve runs the scheduler and the HTTP server until ctx ends, a stop
// signal arrives, or the server dies.
func serve(ctx context.Context, p *daemonParts, ln net.Listener, sigs <-chan os.Signal) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	finished, signalsDone := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(signalsDone)
		handleSignals(finished, sigs, cancel, p.daemon.Reload, p.log, os.Exit)
	}()
	// The signal handler's last line comes before "syncd stopped": the
	// stop signal also ends ctx by itself (main), so the daemon may stop
	// before the handler has logged it.
	defer func() { close(finished); <-signalsDone }()
	served := make(chan error, 1)
	go func() {
		err := p.server.Serve(ctx, ln)
		served <- err
		cancel() // a dead listener stops the daemon rather than leave it unobservable
	}()
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		_ = p.watcher.Run(ctx, p.daemon.Config())
	}()
	runErr := p.daemon.Run(ctx)
	cancel()
	<-watched
	if err := <-served; err != nil {
		p.log.Error("http server stopped", zap.Error(err))
		return exitWith(exitcode.Failure)
	}
	if runErr != nil {
		p.log.Error("scheduler stopped", zap.Error(runErr))
		return exitWith(exitcode.Failure)
	}
	return nil
}

// handleSignals turns the first SIGTERM/SIGINT into a graceful stop and a
// second into an immediate exit; SIGHUP reloads the configuration. It
// returns when finished is closed.
func handleSignals(finished <-chan struct{}, sigs <-chan os.Signal, stop context.CancelFunc, reload func() error, log *zap.Logger, exit func(int)) {
	stopping := false
	for {
		var sig os.Signal
		select {
		case sig = <-sigs:
		case <-finished:
			select { // a stop signal that stopped the daemon before it was read here
			case sig := <-sigs:
				if sig != syscall.SIGHUP && !stopping {
					logStop(log, sig)
				}
			default:
			}
			return
		}
		switch {
		case sig == syscall.SIGHUP:
			log.Info("SIGHUP: reloading the configuration")
			_ = reload() // logged and counted by the daemon
		case stopping:
			log.Warn("second stop signal: exiting now", zap.String("signal", sig.String()))
			_ = log.Sync()
			exit(exitcode.Failure)
			return
		default:
			logStop(log, sig)
			stopping = true
			stop()
		}
	}
}

func logStop(log *zap.Logger, sig os.Signal) {
	log.Info("stop signal: finishing the current run at a safe point", zap.String("signal", sig.String()))
}

// daemonParts are the long-lived pieces of `syncd run`.
type daemonParts struct {
	log       *zap.Logger
	registry  *prometheus.Registry
	metrics   *metrics.Metrics
	store     *state.Store
	builder   *runnerBuilder
	daemon    *daemon.Daemon
	server    *server.Server
	receivers *daemon.Receivers
	notifier  *notify.Notifier
	watcher   *daemon.Watcher
}

func newDaemonParts(e env, cfg *config.Config, f daemonFlags, log *zap.Logger) (*daemonParts, error) {
	path, apply := f.path, f.apply
	p := &daemonParts{log: log, registry: prometheus.NewRegistry()}
	p.registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	var err error
	if p.metrics, err = metrics.New(p.registry, version.String()); err != nil {
		return nil, &configError{err: err}
	}
	if p.store, err = openState(cfg, writesState, f.resetState, e.stderr, "run"); err != nil {
		return nil, err
	}
	latest := daemon.RestoreHistory(p.store, p.metrics, log)
	if p.notifier, err = newNotifier(log, p.registry, p.store); err != nil {
		p.close()
		return nil, &configError{err: err}
	}
	p.builder = &runnerBuilder{log: log, metrics: p.metrics, store: p.store, apply: apply, getenv: e.getenv}
	if p.watcher, err = newWatcher(p.registry, p.metrics, log); err != nil {
		p.close()
		return nil, err
	}
	p.daemon, err = daemon.New(daemon.Options{
		Config: cfg, Build: p.watcher.Wrap(p.builder.build), Logger: log.Named("daemon"), Metrics: p.metrics,
		Load:     func() (*config.Config, error) { return config.Load(path, e.getenv) },
		Notify:   daemon.NewNotifier(e.getenv, os.Getpid()),
		Latest:   latest,
		NotReady: notReady,
		Reloaded: p.reloaded,
		AfterRun: p.afterRun,
		Resume:   func() { p.receivers.Resume(daemon.LastSuccessStart(p.store)) },
	})
	if err != nil {
		p.close()
		return nil, &configError{err: err}
	}
	p.watcher.Attach(p.daemon)
	p.metrics.FollowApply(func() (int, int, bool) {
		pr, ok := p.daemon.Progress()
		return pr.Done, pr.Total, ok
	})
	if p.receivers, err = daemon.NewReceivers(cfg, p.daemon.Trigger, p.metrics, log); err != nil {
		p.close()
		return nil, err // a damaged or unreadable store: exit 1
	}
	p.server, err = server.New(server.Options{Logger: log.Named("http"), Gatherer: p.registry, Scheduler: watchedScheduler{p.daemon, p.watcher},
		Listen: cfg.Server.Listen, PublicURL: cfg.Server.PublicURL, SyncToken: cfg.Server.SyncToken.Reveal(), Handlers: p.receivers.Handlers(),
		Pprof: cfg.Server.Pprof, Console: consoleBackend{store: p.store, daemon: p.daemon}})
	if err != nil {
		p.close()
		return nil, &configError{err: err}
	}
	logWarnings(log, cfg)
	warnDisabledRoutes(log, cfg)
	return p, nil
}

// warnDisabledRoutes says, at start and after a reload that took the token
// away, which routes are off for want of a sync token.
func warnDisabledRoutes(log *zap.Logger, cfg *config.Config) {
	local, why := server.LocalOnly(cfg.Server.Listen, cfg.Server.PublicURL)
	if local || cfg.Server.SyncToken != "" {
		return
	}
	disabled := "the web console, POST /sync, POST /approve and /reports/latest"
	if cfg.Server.Pprof {
		disabled = "the web console, POST /sync, POST /approve, /reports/latest and /debug/pprof"
	}
	log.Warn(why+" and no server.sync_token is set: "+disabled+" are disabled",
		zap.String("listen", cfg.Server.Listen), zap.String("public_url", cfg.Server.PublicURL))
}

// reloaded applies at once the parts of a reloaded configuration that must
// not wait for the next run: the tokens of the HTTP endpoints, so that a
// rotated token works and the old one stops working.
func (p *daemonParts) reloaded(cfg *config.Config) {
	logWarnings(p.log, cfg)
	warnDisabledRoutes(p.log, cfg)
	if p.server != nil {
		p.server.SetSyncToken(cfg.Server.SyncToken.Reveal())
	}
	if p.receivers != nil {
		p.receivers.Reload(cfg)
	}
	if p.watcher != nil {
		p.watcher.Reload(cfg)
	}
}

// consoleBackend is what the web console and POST /approve use of the
// daemon: its state, the Teams site of the configuration in force, and
// explanations by its runner.
type consoleBackend struct {
	store  *state.Store
	daemon *daemon.Daemon
}

func (c consoleBackend) Store() *state.Store { return c.store }
func (c consoleBackend) Target() string      { return lock.Key(c.daemon.Config().Teams.URL) }
func (c consoleBackend) Explain(ctx context.Context, email string) (*engine.Explanation, error) {
	return c.daemon.Explain(ctx, email)
}

func (p *daemonParts) close() {
	if p.notifier != nil {
		p.notifier.Close(notifyGrace)
	}
	if p.store != nil {
		_ = p.store.Close()
	}
}

package main

import (
	"context"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/syncd/syncd/internal/config"
	"github.com/syncd/syncd/internal/daemon"
	"github.com/syncd/syncd/internal/lock"
	"github.com/syncd/syncd/internal/metrics"
	"github.com/syncd/syncd/internal/source/ldap"
	"github.com/syncd/syncd/internal/state"
	engine "github.com/syncd/syncd/internal/sync"
)

// newDaemonEngine is newEngine for `syncd run`: with sync.watch, the engine
// keeps what its change sets compare with.
func newDaemonEngine(cfg *config.Config, sources []engine.Source, conn *teamsConn, store *state.Store, log *zap.Logger,
	apply bool) (*engine.Engine, error) {
	o := engine.Options{Config: cfg, Sources: sources, Reader: conn.Client, Store: store, Logger: log.Named("sync"), Watch: cfg.Sync.Watch}
	if apply {
		o.Writer = conn.Client
	}
	return engine.New(o)
}

// RunChanges runs a change set of watch mode, under the writer lock as a
// run is.
func (r *engineRunner) RunChanges(ctx context.Context, cs daemon.ChangeSet) (*daemon.ChangeResult, error) {
	_ = r.store.TakeErr() // a state failure between runs is not this run's
	var w *lock.Writer
	if r.lock != nil {
		var err error
		if w, err = r.lock(ctx); err != nil {
			return nil, err
		}
		defer w.Release()
		defer r.saved()
	}
	res, err := r.eng.RunChanges(ctx, engine.ChangeSet{Sources: cs.Sources, Seen: cs.Seen})
	if err != nil {
		return nil, err
	}
	if res.Refused != nil {
		return nil, fmt.Errorf("the Teams API refused a write: %w", res.Refused)
	}
	return &daemon.ChangeResult{Report: res.Report, NeedFull: res.NeedFull, Unfinished: res.Unfinished}, nil
}

// feedsOf builds the change feeds of a configuration's LDAP sources, and
// says which sources have none.
func feedsOf(log *zap.Logger) daemon.FeedFactory {
	return func(cfg *config.Config, saved func(string) []byte) ([]daemon.Feed, error) {
		var feeds []daemon.Feed
		for _, src := range cfg.Sources {
			switch {
			case src.SCIMReceiver != nil: // its pushes start runs already
			case src.LDAP != nil && src.LDAP.Watch.Feed != config.FeedNone:
				f, err := ldap.NewFeed(src.Name, *src.LDAP, ldap.FeedOptions{Saved: saved(src.Name)}, log.Named("source"))
				if err != nil {
					return nil, err
				}
				feeds = append(feeds, ldapFeed{f})
			default:
				log.Warn("watch: this source has no change feed; its changes wait for the scheduled run",
					zap.String("source", src.Name), zap.String("kind", src.Kind()))
			}
		}
		if len(feeds) > 0 && cfg.Sync.StateDir == "" {
			log.Warn("watch: without sync.state_dir the feeds' positions are not kept: after a restart they start afresh, and what changed meanwhile waits for a full run")
		}
		return feeds, nil
	}
}

// ldapFeed is an LDAP change feed as the daemon runs it.
type ldapFeed struct{ *ldap.Feed }

func (f ldapFeed) Run(ctx context.Context, ev daemon.FeedEvents) error { return f.Feed.Run(ctx, ev) }

// watchedScheduler is the daemon as the HTTP server sees it: not ready
// while a change feed is down either.
type watchedScheduler struct {
	*daemon.Daemon
	watcher *daemon.Watcher
}

// The console asks the scheduler for these when it has them.
var _ interface {
	Running() bool
	Progress() (engine.Progress, bool)
} = watchedScheduler{}

func (s watchedScheduler) Ready() (bool, string) {
	if ok, why := s.Daemon.Ready(); !ok {
		return ok, why
	}
	return s.watcher.Ready()
}

// newWatcher builds the watcher of `syncd run`, with its metrics on reg.
func newWatcher(reg prometheus.Registerer, m *metrics.Metrics, log *zap.Logger) (*daemon.Watcher, error) {
	wm, err := metrics.NewWatch(reg, m)
	if err != nil {
		return nil, &configError{err: err}
	}
	return daemon.NewWatcher(daemon.WatchOptions{Feeds: feedsOf(log.Named("watch")), Metrics: wm, Logger: log.Named("watch")})
}

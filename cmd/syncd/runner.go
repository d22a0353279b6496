package main

import (
	"context"
	"fmt"
	gosync "sync"

	"go.uber.org/zap"

	"github.com/syncd/syncd/internal/config"
	"github.com/syncd/syncd/internal/daemon"
	"github.com/syncd/syncd/internal/lock"
	"github.com/syncd/syncd/internal/metrics"
	"github.com/syncd/syncd/internal/probe"
	"github.com/syncd/syncd/internal/state"
	engine "github.com/syncd/syncd/internal/sync"
)

// runnerBuilder makes the daemon's runner for each configuration. The state
// store is opened once for the process (it holds its file only during each
// transaction); the Teams client is kept across reloads while the teams
// section is unchanged, so that its pacing (and an in-process emulator's
// state) carry over.
type runnerBuilder struct {
	log       *zap.Logger
	metrics   *metrics.Metrics
	store     *state.Store
	apply     bool
	getenv    func(string) string
	teamsCfg  config.Teams
	teamsConn *teamsConn
}

func (b *runnerBuilder) build(cfg *config.Config) (daemon.Runner, error) {
	conn := b.teamsConn
	teamsCfg, emuFile := emulatorState(cfg)
	if conn == nil || cfg.Teams != b.teamsCfg {
		var err error
		if conn, err = newTeamsClient(teamsCfg, b.metrics.TeamsHook()); err != nil {
			return nil, fmt.Errorf("teams: %w", err)
		}
	}
	sources := make([]engine.Source, 0, len(cfg.Sources))
	for _, src := range cfg.Sources {
		s, err := buildSource(src, cfg.Sync.StateDir, b.log)
		if err != nil {
			closeAll(sources)
			return nil, err
		}
		sources = append(sources, s)
	}
	apply := b.apply || cfg.Sync.Apply
	eng, err := newDaemonEngine(cfg, sources, conn, b.store, b.log, apply)
	if err != nil {
		closeAll(sources)
		return nil, err
	}
	explainer := eng
	if apply { // explain never writes, nor settles writes without the lock
		if explainer, err = newEngine(cfg, sources, conn, b.store, b.log, false); err != nil {
			closeAll(sources)
			return nil, err
		}
	}
	b.teamsCfg, b.teamsConn = cfg.Teams, conn
	r := &engineRunner{eng: eng, explainer: explainer, sources: sources, store: b.store, log: b.log.Named("sync")}
	if apply {
		r.lock = func(ctx context.Context) (*lock.Writer, error) {
			return acquireWriter(ctx, cfg, b.getenv, "run --apply", daemonLockWait, b.log.Named("sync"))
		}
		r.saved = func() { saveEmulator(conn, emuFile, b.log) }
	}
	return r, nil
}

// engineRunner adapts the engine to the daemon's Runner (and Explainer).
type engineRunner struct {
	eng       *engine.Engine
	explainer *engine.Engine // a dry-run engine over the same sources and client
	sources   []engine.Source
	store     *state.Store
	log       *zap.Logger
	// lock takes the writer lock for an applying run; nil for dry runs.
	lock func(context.Context) (*lock.Writer, error)
	// saved keeps what an applying run did to an in-process emulator
	// (nil for dry runs), as `syncd sync --apply` does.
	saved func()
	// busy keeps a run and an explanation (the web console's) apart: they
	// share the sources and the Teams client's pacing.
	busy gosync.Mutex
}

// Explain explains one person's plan with a dry-run engine, or answers
// daemon.ErrBusy while a run is going.
func (r *engineRunner) Explain(ctx context.Context, email string) (*engine.Explanation, error) {
	if !r.busy.TryLock() {
		return nil, daemon.ErrBusy
	}
	defer r.busy.Unlock()
	return r.explainer.Explain(ctx, email)
}

// Progress says how far the engine's apply under way is.
func (r *engineRunner) Progress() (engine.Progress, bool) { return r.eng.Progress() }

// RunOnce runs the engine. An applying run holds the writer lock for its
// whole length (a one-shot `syncd sync --apply` beside the daemon waits
// for it, and it for the one-shot) and first settles the writes an
// interrupted run left unrecorded. A run whose writes the API refused for
// the token's sake returns that error, so that readiness can tell.
func (r *engineRunner) RunOnce(ctx context.Context) (*daemon.Result, error) {
	r.busy.Lock() // waits for an explanation under way
	defer r.busy.Unlock()
	_ = r.store.TakeErr() // a state failure between runs is not this run's
	res, err := r.runLocked(ctx)
	if err == nil && res != nil && res.Refused != nil {
		err = fmt.Errorf("the Teams API refused a write: %w", res.Refused)
	}
	if res == nil {
		return nil, err
	}
	out := &daemon.Result{Report: res.Report, ExitCode: res.ExitCode}
	for _, s := range res.Sources {
		out.Sources = append(out.Sources, daemon.SourceStat{Name: s.Name, Users: s.Users, Groups: s.Groups,
			Unknown: s.Unknown, Duration: s.Duration, Err: s.Err})
	}
	return out, err
}

func (r *engineRunner) runLocked(ctx context.Context) (*engine.Result, error) {
	if r.lock == nil {
		return r.eng.RunOnce(ctx)
	}
	w, err := r.lock(ctx)
	if err != nil {
		return r.eng.Fail(nil, err), err
	}
	defer w.Release()
	defer r.saved() // under the lock, as a one-shot apply saves
	return r.eng.RunOnce(ctx)
}

func (r *engineRunner) Close() error {
	closeAll(r.sources)
	return nil
}

// notReady is the daemon's readiness rule (probe.NotReady) over a run's result.
func notReady(res *daemon.Result, err error) string {
	var sources []probe.SourceErr
	if res != nil {
		for _, s := range res.Sources {
			sources = append(sources, probe.SourceErr{Name: s.Name, Err: s.Err})
		}
	}
	return probe.NotReady(err, sources)
}

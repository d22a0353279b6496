package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"go.uber.org/zap"

	"github.com/syncd/syncd/internal/config"
	"github.com/syncd/syncd/internal/lock"
	"github.com/syncd/syncd/internal/logging"
	"github.com/syncd/syncd/internal/state"
	engine "github.com/syncd/syncd/internal/sync"
)

// emulatorStateFile is where the in-process emulator of an "emulator:"
// teams.url keeps its state between runs, inside sync.state_dir, so that
// the quick start's --apply is seen by the next run.
const emulatorStateFile = "emulator-state.json"

// wiring is what a one-shot engine command builds from the config.
type wiring struct {
	e       env
	cfg     *config.Config
	log     *zap.Logger
	store   *state.Store
	writer  *lock.Writer // held for the whole of an applying run
	conn    *teamsConn
	sources []engine.Source
	emuFile string // where the in-process emulator's state is saved, if any
	// progress is where a long apply says how far it is: the log, kept at
	// info when quietOnTerminal raises the rest to warnings.
	progress *zap.Logger
}

// setupOptions say how a command uses the state.
type setupOptions struct {
	cmd      string                    // the command, for messages
	reset    bool                      // --reset-state
	applies  func(*config.Config) bool // whether the run writes to Teams; nil: never
	holder   string                    // for the writer lock's holder record
	lockWait time.Duration             // --lock-wait
}

// setup loads the config and builds the logger, the state store, the Teams
// client and the sources; an applying run first takes the writer lock (so
// that nothing it reads, down to an in-process emulator's saved state, is
// read before another writer is done). A configuration it cannot use is a
// configError (exit 2); the state dir or the lock failing, a runtime
// failure (exit 1).
func setup(ctx context.Context, e env, path string, o setupOptions) (*wiring, error) {
	cfg, err := loadConfig(e, path)
	if err != nil {
		return nil, err
	}
	w := &wiring{e: e, cfg: cfg}
	if w.log, err = logging.New(cfg.Log, e.stderr); err != nil {
		return nil, &configError{err: err}
	}
	logWarnings(w.log, cfg)
	if err := w.build(ctx, o); err != nil {
		w.close()
		return nil, err
	}
	return w, nil
}

func (w *wiring) build(ctx context.Context, o setupOptions) error {
	applies := o.applies != nil && o.applies(w.cfg)
	use := mayWriteState
	if applies {
		use = writesState
	}
	var err error
	if w.store, err = openState(w.cfg, use, o.reset, w.e.stderr, o.cmd); err != nil {
		return err
	}
	if w.cfg.Sync.StateDir == "" {
		w.store.KeepNoReports() // in memory, gone with the command
	}
	if applies {
		if w.writer, err = acquireWriter(ctx, w.cfg, w.e.getenv, o.holder, o.lockWait, w.log); err != nil {
			return err
		}
	}
	t, emuFile := emulatorState(w.cfg)
	w.emuFile = emuFile
	if w.conn, err = newTeamsClient(t, nil); err != nil {
		return &configError{err: fmt.Errorf("teams: %w", err)}
	}
	for _, src := range w.cfg.Sources {
		s, err := buildSource(src, w.cfg.Sync.StateDir, w.log)
		if err != nil {
			return &configError{err: err}
		}
		w.sources = append(w.sources, s)
	}
	return nil
}

// engine builds the engine of a one-shot command.
func (w *wiring) engine(apply bool) (*engine.Engine, error) {
	eng, err := newEngine(w.cfg, w.sources, w.conn, w.store, w.log, apply, func(o *engine.Options) {
		if w.progress != nil {
			o.Progress = w.progress.Named("sync")
		}
	})
	if err != nil {
		return nil, &configError{err: err}
	}
	return eng, nil
}

// newEngine builds the engine over the Teams client of conn: a reader,
// and a writer only for a run that applies, so a dry run cannot write.
func newEngine(cfg *config.Config, sources []engine.Source, conn *teamsConn, store *state.Store, log *zap.Logger,
	apply bool, mod ...func(*engine.Options)) (*engine.Engine, error) {
	o := engine.Options{Config: cfg, Sources: sources, Reader: conn.Client, Store: store, Logger: log.Named("sync")}
	if apply {
		o.Writer = conn.Client
	}
	for _, m := range mod {
		m(&o)
	}
	return engine.New(o)
}

// emulatorState returns the teams section with teams.url pointed at what
// earlier applies saved of the in-process emulator, and the file an apply
// saves it to: the quick start's sync, apply and run then see one site.
// The file is "" when the config names no emulator or has no state dir.
func emulatorState(cfg *config.Config) (config.Teams, string) {
	t := cfg.Teams
	if _, ok := t.EmulatorSeed(); !ok || cfg.Sync.StateDir == "" {
		return t, ""
	}
	file := filepath.Join(cfg.Sync.StateDir, emulatorStateFile)
	if _, err := os.Stat(file); err == nil {
		t.URL = config.EmulatorScheme + file // what earlier runs applied
	}
	return t, file
}

// saveEmulator keeps what an apply did to the in-process emulator.
func (w *wiring) saveEmulator() { saveEmulator(w.conn, w.emuFile, w.log) }

func saveEmulator(conn *teamsConn, file string, log *zap.Logger) {
	if conn == nil || conn.Emulator == nil || file == "" {
		return
	}
	if err := conn.Emulator.SaveState(file); err != nil {
		log.Warn("cannot save the emulator's state", zap.Error(err))
	}
}

func (w *wiring) close() {
	closeAll(w.sources)
	if w.store != nil {
		_ = w.store.Close()
	}
	w.writer.Release()
	if w.log != nil {
		_ = w.log.Sync()
	}
}

func closeAll(sources []engine.Source) {
	for _, s := range sources {
		if c, ok := s.(io.Closer); ok {
			_ = c.Close()
		}
	}
}

// logWarnings logs what the configuration allows but should not: TLS
// verification turned off, credentials sent over plain http.
func logWarnings(log *zap.Logger, cfg *config.Config) {
	for _, w := range config.Warnings(cfg) {
		log.Warn("configuration: " + w)
	}
}

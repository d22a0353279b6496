package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"go.uber.org/zap"

	"github.com/syncd/syncd/internal/config"
	"github.com/syncd/syncd/internal/exitcode"
	"github.com/syncd/syncd/internal/lock"
	"github.com/syncd/syncd/internal/report"
	"github.com/syncd/syncd/internal/state"
	engine "github.com/syncd/syncd/internal/sync"
)

// emulatorStateFile is where the in-process emulator of an "emulator:"
// teams.url keeps its state between runs, inside sync.state_dir, so that
// the quick start's --apply is seen by the next run.
const emulatorStateFile = "emulator-state.json"

// cmdSync runs one sync: a dry run unless --apply (or sync.apply: true).
func cmdSync(ctx context.Context, e env, args []string) int {
	fs := flag.NewFlagSet("sync", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	flags := addRunFlags(fs)
	apply := fs.Bool("apply", false, "apply the changes (default: dry run, unless sync.apply is true)")
	check := fs.Bool("check", false, "dry run that exits 3 when changes are pending")
	planOut := fs.String("plan-out", "", "save the plan, for syncd apply --plan")
	sf := addStateFlags(fs, true)
	fs.Usage = func() {
		fmt.Fprintln(e.stderr, "usage: syncd sync [--config FILE] [--apply] [--check] [--report FILE] [--format text|markdown|json|html] [--plan-out FILE] [--reset-state] [--lock-wait D]")
		fs.PrintDefaults()
	}
	if code, ok := parseFlags(fs, args, e); !ok {
		return code
	}
	if *check && *apply {
		fmt.Fprintln(e.stderr, "syncd sync: --check is a dry run; it cannot be combined with --apply")
		return exitcode.Usage
	}
	if !flags.valid(e, "sync") {
		return exitcode.Usage
	}
	applies := func(cfg *config.Config) bool { return (*apply || cfg.Sync.Apply) && !*check }
	w, code := setup(ctx, e, "sync", *flags.config, setupOptions{reset: *sf.reset, applies: applies,
		command: "sync --apply", lockWait: *sf.lockWait})
	if w == nil {
		return code
	}
	defer w.close()
	w.quietOnTerminal(*flags.verbose)
	doApply := applies(w.cfg)
	eng, err := w.engine(doApply)
	if err != nil {
		fmt.Fprintf(e.stderr, "syncd sync: %v\n", err)
		return exitcode.Usage
	}
	if doApply && !w.recover(eng, "sync") {
		return exitcode.Failure
	}
	prep, err := eng.Prepare(ctx)
	var res *engine.Result
	switch {
	case err != nil:
		res = eng.Fail(prep, err)
	default:
		if *planOut != "" {
			if err := writePlan(*planOut, prep); err != nil {
				fmt.Fprintf(e.stderr, "syncd sync: %v\n", err)
				return exitcode.Failure
			}
		}
		res = eng.Execute(ctx, prep)
	}
	if doApply {
		w.saveEmulator()
	}
	if code := writeReports(e, res.Report, *flags.report, *flags.format); code != exitcode.OK {
		return code
	}
	if res.ExitCode == exitcode.OK && *check && res.Pending {
		return exitcode.Pending
	}
	return res.ExitCode
}

// runFlags are the flags of the commands that run the engine once.
type runFlags struct {
	config, report, format *string
	verbose                *bool
}

func addRunFlags(fs *flag.FlagSet) runFlags {
	return runFlags{
		config:  configFlag(fs),
		report:  fs.String("report", "", "also write the report to this file"),
		format:  fs.String("format", "", "report format: text, markdown, json or html (default: from --report's extension, else text)"),
		verbose: fs.Bool("verbose", false, "log every change even when the report and the log both go to a terminal"),
	}
}

// valid checks the flags' values before anything is read or written.
func (f runFlags) valid(e env, cmd string) bool {
	if *f.format != "" && !report.ValidFormat(*f.format) {
		fmt.Fprintf(e.stderr, "syncd %s: --format %q: want text, markdown, json or html\n", cmd, *f.format)
		return false
	}
	return true
}

// parseFlags parses; ok false means return code now (-h gives 0).
func parseFlags(fs *flag.FlagSet, args []string, e env) (int, bool) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitcode.OK, false
		}
		return exitcode.Usage, false
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(e.stderr, "syncd %s: unexpected argument %q\n", fs.Name(), fs.Arg(0))
		fs.Usage()
		return exitcode.Usage, false
	}
	return 0, true
}

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
}

// setupOptions say how a command uses the state.
type setupOptions struct {
	reset    bool                      // --reset-state
	applies  func(*config.Config) bool // whether the run writes to Teams; nil: never
	command  string                    // for the writer lock's holder record
	lockWait time.Duration             // --lock-wait
}

// setup loads the config and builds the logger, the state store, the Teams
// client and the sources; an applying run first takes the writer lock (so
// that nothing it reads, down to an in-process emulator's saved state, is
// read before another writer is done). Problems are printed; a nil wiring
// comes with the exit code: 2 for the configuration, 1 for the state dir
// or the lock.
func setup(ctx context.Context, e env, cmd, path string, o setupOptions) (*wiring, int) {
	cfg, ok := loadConfig(e, cmd, path)
	if !ok {
		return nil, exitcode.Usage
	}
	w := &wiring{e: e, cfg: cfg}
	var err error
	if w.log, err = commandLogger(cfg.Log, e.stderr); err != nil {
		fmt.Fprintf(e.stderr, "syncd %s: %v\n", cmd, err)
		return nil, exitcode.Usage
	}
	logWarnings(w.log, cfg)
	if err := w.build(ctx, cmd, o); err != nil {
		fmt.Fprintf(e.stderr, "syncd %s: %v\n", cmd, err)
		w.close()
		return nil, exitFor(err)
	}
	return w, exitcode.OK
}

func (w *wiring) build(ctx context.Context, cmd string, o setupOptions) error {
	var err error
	if w.store, err = openState(w.cfg, o.reset, w.e.stderr, cmd); err != nil {
		return err
	}
	if o.applies != nil && o.applies(w.cfg) {
		if w.writer, err = acquireWriter(ctx, w.cfg, w.e.getenv, o.command, o.lockWait, w.log); err != nil {
			return err
		}
	}
	t := w.cfg.Teams
	if _, ok := t.EmulatorSeed(); ok && w.cfg.Sync.StateDir != "" {
		w.emuFile = filepath.Join(w.cfg.Sync.StateDir, emulatorStateFile)
		if _, err := os.Stat(w.emuFile); err == nil {
			t.URL = config.EmulatorScheme + w.emuFile // what earlier runs applied
		}
	}
	if w.conn, err = newTeamsClient(t, nil); err != nil {
		return fmt.Errorf("teams: %w", err)
	}
	for _, src := range w.cfg.Sources {
		s, err := buildSource(src, w.cfg.Sync.StateDir, w.log)
		if err != nil {
			return err
		}
		w.sources = append(w.sources, s)
	}
	return nil
}

// recover settles the writes an interrupted run left unrecorded, before an
// applying run plans (with the writer lock held). False: exit 1.
func (w *wiring) recover(eng *engine.Engine, cmd string) bool {
	n, err := eng.RecoverWrites()
	if err != nil {
		fmt.Fprintf(w.e.stderr, "syncd %s: %v\n", cmd, err)
		return false
	}
	if n > 0 {
		w.log.Warn("an earlier run stopped before recording the outcome of some writes; they are in the audit log as unknown",
			zap.Int("writes", n))
	}
	return true
}

func (w *wiring) engine(apply bool) (*engine.Engine, error) {
	o := engine.Options{Config: w.cfg, Sources: w.sources, Reader: w.conn.Client, Store: w.store, Logger: w.log.Named("sync")}
	if apply {
		o.Writer = w.conn.Client
	}
	return engine.New(o)
}

// saveEmulator keeps what an apply did to the in-process emulator.
func (w *wiring) saveEmulator() {
	if w.conn == nil || w.conn.Emulator == nil || w.emuFile == "" {
		return
	}
	if err := w.conn.Emulator.SaveState(w.emuFile); err != nil {
		w.log.Warn("cannot save the emulator's state", zap.Error(err))
	}
}

func (w *wiring) close() {
	for _, s := range w.sources {
		if c, ok := s.(io.Closer); ok {
			_ = c.Close()
		}
	}
	if w.store != nil {
		_ = w.store.Close()
	}
	w.writer.Release()
	if w.log != nil {
		_ = w.log.Sync()
	}
}

// writePlan saves a prepared plan for syncd apply --plan.
func writePlan(path string, p *engine.Prepared) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("plan-out: %w", err)
	}
	if err := p.Save().Write(f); err != nil {
		f.Close()
		return fmt.Errorf("plan-out: %w", err)
	}
	return f.Close()
}

// writeReports prints the report on stdout (text, or --format when no
// --report file is given) and writes the --report file.
func writeReports(e env, r *report.Report, file, format string) int {
	stdoutFormat := report.FormatText
	if file == "" && format != "" {
		stdoutFormat = format
	}
	if err := report.RenderOptions(e.stdout, r, stdoutFormat, report.Options{Color: isTerminal(e.stdout)}); err != nil {
		fmt.Fprintf(e.stderr, "syncd: %v\n", err)
		return exitcode.Failure
	}
	if file == "" {
		return exitcode.OK
	}
	if format == "" {
		format = report.FormatForFile(file)
	}
	if format == "" {
		format = report.FormatText
	}
	if err := writeFile(file, func(w io.Writer) error { return report.Render(w, r, format) }); err != nil {
		fmt.Fprintf(e.stderr, "syncd: report: %v\n", err)
		return exitcode.Failure
	}
	return exitcode.OK
}

// writeFile writes a report: private (0600), as it names people and their
// e-mail addresses; the admin may share it on purpose.
func writeFile(path string, fn func(io.Writer) error) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if err := fn(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

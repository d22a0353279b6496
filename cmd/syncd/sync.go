package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/syncd/syncd/internal/config"
	"github.com/syncd/syncd/internal/exitcode"
	"github.com/syncd/syncd/internal/report"
	engine "github.com/syncd/syncd/internal/sync"
)

type syncFlags struct {
	runFlags
	state        stateFlags
	apply, check *bool
	planOut      *string
}

func newSyncFlags() (*flag.FlagSet, *syncFlags) {
	fs := newFlagSet("sync")
	f := &syncFlags{runFlags: addRunFlags(fs), state: addStateFlags(fs, true),
		apply:   fs.Bool("apply", false, "apply the changes (default: dry run, unless sync.apply is true)"),
		check:   fs.Bool("check", false, "dry run that exits 3 when changes are pending"),
		planOut: fs.String("plan-out", "", "save the plan to `FILE`, for syncd apply --plan"),
	}
	return fs, f
}

// cmdSync runs one sync: a dry run unless --apply (or sync.apply: true).
func cmdSync(ctx context.Context, e env, args []string) error {
	fs, f := newSyncFlags()
	if err := parse(fs, args); err != nil {
		return err
	}
	if *f.check && *f.apply {
		return usageErrorf("--check is a dry run; it cannot be combined with --apply")
	}
	if err := f.valid(); err != nil {
		return err
	}
	applies := func(cfg *config.Config) bool { return (*f.apply || cfg.Sync.Apply) && !*f.check }
	w, err := setup(ctx, e, *f.config, setupOptions{cmd: "sync", reset: *f.state.reset, applies: applies,
		holder: "sync --apply", lockWait: *f.state.lockWait})
	if err != nil {
		return err
	}
	defer w.close()
	w.quietOnTerminal(*f.verbose)
	res, err := syncOnce(ctx, w, applies(w.cfg), *f.planOut)
	if err != nil {
		return err
	}
	defer w.notify(ctx, res) // after the report is out
	if err := writeReports(e, res.Report, *f.report, *f.format); err != nil {
		return err
	}
	if res.ExitCode == exitcode.OK && *f.check && res.Pending {
		return exitWith(exitcode.Pending)
	}
	return runFailed(res.Report, res.ExitCode)
}

// syncOnce plans and, when apply, applies, saving the plan to planOut
// when given. An applying run first settles what an interrupted run left
// unrecorded.
func syncOnce(ctx context.Context, w *wiring, apply bool, planOut string) (*engine.Result, error) {
	eng, err := w.engine(apply)
	if err != nil {
		return nil, err
	}
	if apply {
		defer w.saveEmulator()
	}
	prep, err := eng.Prepare(ctx)
	if err != nil {
		return eng.Fail(prep, err), nil
	}
	if planOut != "" {
		if err := writePlan(planOut, prep); err != nil {
			return nil, err
		}
	}
	return eng.Execute(ctx, prep), nil
}

// writePlan saves a prepared plan for syncd apply --plan.
func writePlan(path string, p *engine.Prepared) error {
	err := writeFile(path, func(w io.Writer) error { return p.Save().Write(w) })
	if err != nil {
		return fmt.Errorf("plan-out: %w", err)
	}
	return nil
}

// writeReports prints the report on stdout (text, or --format when no
// --report file is given) and writes the --report file.
func writeReports(e env, r *report.Report, file, format string) error {
	stdoutFormat := report.FormatText
	if file == "" && format != "" {
		stdoutFormat = format
	}
	if err := report.RenderOptions(e.stdout, r, stdoutFormat, report.Options{Color: isTerminal(e.stdout)}); err != nil {
		return err
	}
	if file == "" {
		return nil
	}
	if format == "" {
		format = report.FormatForFile(file)
	}
	if format == "" {
		format = report.FormatText
	}
	if err := writeFile(file, func(w io.Writer) error { return report.Render(w, r, format) }); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	return nil
}

// writeFile writes a report or a plan: private (0600), as they name people
// and their e-mail addresses; the admin may share them on purpose.
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

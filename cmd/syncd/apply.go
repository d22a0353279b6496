package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/syncd/syncd/internal/config"
	"github.com/syncd/syncd/internal/exitcode"
	engine "github.com/syncd/syncd/internal/sync"
)

type applyFlags struct {
	runFlags
	state    stateFlags
	planFile *string
}

func newApplyFlags() (*flag.FlagSet, *applyFlags) {
	fs := newFlagSet("apply")
	f := &applyFlags{planFile: fs.String("plan", "", "the plan `FILE` written by syncd sync --plan-out (required)"),
		runFlags: addRunFlags(fs), state: addStateFlags(fs, true)}
	return fs, f
}

// cmdApply applies a plan saved by sync --plan-out, after checking that
// the config in force manages what the plan was made for (and only that:
// DESIGN.md §8 rule 4) and that the Teams groups and tags it touches have
// not changed since. The removal budgets in force hold its removals as in
// a sync (exit 4). A refusal exits 1 and names what differs.
func cmdApply(ctx context.Context, e env, args []string) error {
	fs, f := newApplyFlags()
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := f.valid(); err != nil {
		return err
	}
	if *f.planFile == "" {
		return usageErrorf("--plan FILE is required")
	}
	saved, err := readPlan(*f.planFile)
	if err != nil {
		return err
	}
	always := func(*config.Config) bool { return true }
	w, err := setup(ctx, e, *f.config, setupOptions{cmd: "apply", reset: *f.state.reset, applies: always,
		holder: "apply --plan", lockWait: *f.state.lockWait})
	if err != nil {
		return err
	}
	defer w.close()
	w.quietOnTerminal(*f.verbose)
	res, applyErr := applySaved(ctx, w, saved)
	if res == nil {
		return applyErr
	}
	defer w.notify(ctx, res) // after the report is out
	if err := writeReports(e, res.Report, *f.report, *f.format); err != nil {
		return err
	}
	if applyErr != nil {
		return &exitError{code: res.ExitCode, err: applyErr}
	}
	return runFailed(res.Report, res.ExitCode)
}

// readPlan reads a plan file; one that cannot be read is bad usage (2).
func readPlan(path string) (*engine.SavedPlan, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, &exitError{code: exitcode.Usage, err: err}
	}
	defer f.Close()
	saved, err := engine.ReadSavedPlan(f)
	if err != nil {
		return nil, &exitError{code: exitcode.Usage, err: fmt.Errorf("%s: %w", path, err)}
	}
	return saved, nil
}

// applySaved applies saved (the engine first settles the writes an
// interrupted run left unrecorded). A refused plan comes with the result
// to report.
func applySaved(ctx context.Context, w *wiring, saved *engine.SavedPlan) (*engine.Result, error) {
	eng, err := w.engine(true)
	if err != nil {
		return nil, err
	}
	defer w.saveEmulator()
	return eng.ApplySaved(ctx, saved)
}

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

// cmdApply applies a plan saved by sync --plan-out, after checking that
// the config in force manages what the plan was made for (and only that:
// DESIGN.md §8 rule 4) and that the Teams groups and tags it touches have
// not changed since. The removal budgets in force hold its removals as in
// a sync (exit 4). A refusal exits 1 and names what differs.
func cmdApply(ctx context.Context, e env, args []string) int {
	fs := flag.NewFlagSet("apply", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	planFile := fs.String("plan", "", "plan file written by syncd sync --plan-out (required)")
	flags := addRunFlags(fs)
	sf := addStateFlags(fs, true)
	fs.Usage = func() {
		fmt.Fprintln(e.stderr, "usage: syncd apply --plan FILE [--config FILE] [--reset-state] [--lock-wait D]")
		fs.PrintDefaults()
	}
	if code, ok := parseFlags(fs, args, e); !ok {
		return code
	}
	if !flags.valid(e, "apply") {
		return exitcode.Usage
	}
	if *planFile == "" {
		fmt.Fprintln(e.stderr, "syncd apply: --plan FILE is required")
		fs.Usage()
		return exitcode.Usage
	}
	f, err := os.Open(*planFile)
	if err != nil {
		fmt.Fprintf(e.stderr, "syncd apply: %v\n", err)
		return exitcode.Usage
	}
	saved, err := engine.ReadSavedPlan(f)
	f.Close()
	if err != nil {
		fmt.Fprintf(e.stderr, "syncd apply: %s: %v\n", *planFile, err)
		return exitcode.Usage
	}
	always := func(*config.Config) bool { return true }
	w, code := setup(ctx, e, "apply", *flags.config, setupOptions{reset: *sf.reset, applies: always,
		command: "apply --plan", lockWait: *sf.lockWait})
	if w == nil {
		return code
	}
	defer w.close()
	w.quietOnTerminal(*flags.verbose)
	eng, err := w.engine(true)
	if err != nil {
		fmt.Fprintf(e.stderr, "syncd apply: %v\n", err)
		return exitcode.Usage
	}
	if !w.recover(eng, "apply") {
		return exitcode.Failure
	}
	res, err := eng.ApplySaved(ctx, saved)
	w.saveEmulator()
	if err != nil {
		fmt.Fprintf(e.stderr, "syncd apply: %v\n", err)
	}
	if code := writeReports(e, res.Report, *flags.report, *flags.format); code != exitcode.OK {
		return code
	}
	return res.ExitCode
}

package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	engine "github.com/syncd/syncd/internal/sync"
)

// cmdApply applies a plan saved by sync --plan-out, after checking that
// the Teams groups and tags it touches have not changed since.
func cmdApply(ctx context.Context, e env, args []string) int {
	fs := flag.NewFlagSet("apply", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	planFile := fs.String("plan", "", "plan file written by syncd sync --plan-out (required)")
	path := fs.String("config", "", "configuration file (default $SYNCD_CONFIG, ./config.yaml, /etc/syncd/config.yaml)")
	reportFile := fs.String("report", "", "also write the report to this file")
	format := fs.String("format", "", "report format: text, markdown, json or html")
	fs.Usage = func() {
		fmt.Fprintln(e.stderr, "usage: syncd apply --plan FILE [--config FILE]")
		fs.PrintDefaults()
	}
	if code, ok := parseFlags(fs, args, e); !ok {
		return code
	}
	if *planFile == "" {
		fmt.Fprintln(e.stderr, "syncd apply: --plan FILE is required")
		fs.Usage()
		return exitUsage
	}
	f, err := os.Open(*planFile)
	if err != nil {
		fmt.Fprintf(e.stderr, "syncd apply: %v\n", err)
		return exitUsage
	}
	saved, err := engine.ReadSavedPlan(f)
	f.Close()
	if err != nil {
		fmt.Fprintf(e.stderr, "syncd apply: %s: %v\n", *planFile, err)
		return exitUsage
	}
	w, ok := setup(ctx, e, "apply", *path)
	if !ok {
		return exitUsage
	}
	defer w.close()
	eng, err := w.engine(true)
	if err != nil {
		fmt.Fprintf(e.stderr, "syncd apply: %v\n", err)
		return exitUsage
	}
	res, err := eng.ApplySaved(ctx, saved)
	w.saveEmulator()
	if err != nil {
		fmt.Fprintf(e.stderr, "syncd apply: %v\n", err)
	}
	if code := writeReports(e, res.Report, *reportFile, *format); code != exitOK {
		return code
	}
	return res.ExitCode
}

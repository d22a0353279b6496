package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"go.uber.org/zap"

	"github.com/syncd/syncd/internal/config"
	"github.com/syncd/syncd/internal/exitcode"
	"github.com/syncd/syncd/internal/logging"
	"github.com/syncd/syncd/internal/plural"
	"github.com/syncd/syncd/internal/termsafe"
)

// cmdValidate checks the configuration: exit 0 when it is valid, 2 when it
// is not (every problem printed, with file:line:column). A valid file that
// turns off a protection (TLS verification, https) gets a warning line on
// stderr and still exits 0. --connect also
// probes the Teams token and reads each source: exit 1 when one fails.
func cmdValidate(ctx context.Context, e env, args []string) int {
	fs := flag.NewFlagSet("validate", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	path := configFlag(fs)
	connect := fs.Bool("connect", false, "also probe the Teams token and read every source")
	probeWrite := fs.Bool("probe-write", false, "with --connect: find out whether the token may write, by one empty add to a Teams group the config manages (changes nothing)")
	fs.Usage = func() {
		fmt.Fprintln(e.stderr, "usage: syncd validate [--config FILE] [--connect [--probe-write]]")
		fs.PrintDefaults()
	}
	if code, ok := parseFlags(fs, args, e); !ok {
		return code
	}
	*path = configPath(e, *path)
	cfg, ok := loadConfig(e, "validate", *path)
	if !ok {
		return exitcode.Usage
	}
	for _, w := range config.Warnings(cfg) {
		fmt.Fprintf(e.stderr, "warning: %s\n", w)
	}
	fmt.Fprintf(e.stdout, "config OK: %s (%s, %s, %s)\n", *path,
		plural.Count(len(cfg.Sources), "source"), plural.Count(len(cfg.Groups), "group mapping"), plural.Count(len(cfg.SMEs), "SME rule"))
	if !*connect {
		return exitcode.OK
	}
	return connectAll(ctx, e, cfg, *probeWrite)
}

// configFlag adds the --config flag every command shares.
func configFlag(fs *flag.FlagSet) *string {
	return fs.String("config", "", "configuration file (default $SYNCD_CONFIG, ./config.yaml, /etc/syncd/config.yaml)")
}

// configPath is --config, else the default search of DESIGN.md §4.
func configPath(e env, flagValue string) string {
	if flagValue != "" {
		return flagValue
	}
	return config.DefaultPath(e.getenv)
}

// loadConfig loads the configuration at path (see configPath), printing
// every problem to stderr.
func loadConfig(e env, cmd, path string) (*config.Config, bool) {
	path = configPath(e, path)
	cfg, err := config.Load(path, e.getenv)
	if err == nil {
		return cfg, true
	}
	if errors.Is(err, os.ErrNotExist) {
		fmt.Fprintf(e.stderr, "syncd %s: %v (give --config FILE or set SYNCD_CONFIG; config.example.yaml shows every key)\n", cmd, err)
		return nil, false
	}
	errs := config.Errors(err)
	for _, err := range errs {
		fmt.Fprintln(e.stderr, err)
	}
	fmt.Fprintf(e.stderr, "syncd %s: %s: %s found\n", cmd, path, plural.Count(len(errs), "problem"))
	return nil, false
}

// connectAll probes Teams, then every source, reporting each on stdout.
func connectAll(ctx context.Context, e env, cfg *config.Config, probeWrite bool) int {
	logCfg := cfg.Log
	if logCfg.Level == "info" {
		logCfg.Level = "warn" // the readers' routine info lines would bury the report
	}
	logger, err := commandLogger(logCfg, e.stderr)
	if err != nil {
		fmt.Fprintf(e.stderr, "syncd validate: %v\n", err)
		return exitcode.Usage
	}
	defer func() { _ = logger.Sync() }()
	code := exitcode.OK
	if err := connectTeams(ctx, cfg, probeWrite, e.stdout); err != nil {
		termsafe.Fprintf(e.stderr, "syncd validate: %v\n", err)
		code = exitcode.Failure
	}
	if err := connectSources(ctx, cfg, logger, e.stdout); err != nil {
		for _, err := range config.Errors(err) {
			termsafe.Fprintf(e.stderr, "syncd validate: %v\n", err)
		}
		code = exitcode.Failure
	}
	return code
}

// commandLogger is the logger of a one-shot command: the log section's
// level and format, written to w (stderr).
func commandLogger(l config.Log, w io.Writer) (*zap.Logger, error) {
	return logging.New(l, w)
}

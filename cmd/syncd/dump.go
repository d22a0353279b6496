package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"

	"github.com/syncd/syncd/internal/config"
	"github.com/syncd/syncd/internal/directory"
	"github.com/syncd/syncd/internal/dump"
	"github.com/syncd/syncd/internal/exitcode"
	"github.com/syncd/syncd/internal/plural"
)

// cmdSource dispatches `syncd source <subcommand>`; dump is the only one.
func cmdSource(ctx context.Context, e env, args []string) int {
	if len(args) == 0 || args[0] != "dump" {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
			fmt.Fprintln(e.stderr, dumpUsage)
			return exitcode.OK
		}
		fmt.Fprintln(e.stderr, dumpUsage)
		return exitcode.Usage
	}
	return cmdSourceDump(ctx, e, args[1:])
}

const dumpUsage = "usage: syncd source dump [--config FILE] [--source NAME] [--format json|text]"

// cmdSourceDump reads a source as a sync would and prints what it got:
// groups with their resolved members (nested groups expanded). Exit 1 when
// the source cannot be read or a group is unknown.
func cmdSourceDump(ctx context.Context, e env, args []string) int {
	fs := flag.NewFlagSet("source dump", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	path := configFlag(fs)
	name := fs.String("source", "", "source to read (default: the only one)")
	format := fs.String("format", "text", "output format: text or json")
	fs.Usage = func() {
		fmt.Fprintln(e.stderr, dumpUsage)
		fs.PrintDefaults()
	}
	if code, ok := parseFlags(fs, args, e); !ok {
		return code
	}
	if *format != "text" && *format != "json" {
		fs.Usage()
		return exitcode.Usage
	}
	cfg, ok := loadConfig(e, "source dump", *path)
	if !ok {
		return exitcode.Usage
	}
	src, err := pickSource(cfg, *name)
	if err != nil {
		fmt.Fprintf(e.stderr, "syncd source dump: %v\n", err)
		return exitcode.Usage
	}
	dir, code := readSource(ctx, e, cfg, src)
	if dir == nil {
		return code
	}
	if *format == "json" {
		err = dump.WriteJSON(e.stdout, dir)
	} else {
		err = dump.WriteText(e.stdout, dir)
	}
	if err != nil {
		fmt.Fprintf(e.stderr, "syncd source dump: %v\n", err)
		return exitcode.Failure
	}
	if n := dump.Unknown(dir); n > 0 {
		fmt.Fprintf(e.stderr, "syncd source dump: %s could not be read completely (unknown)\n", plural.Count(n, "group"))
		return exitcode.Failure
	}
	return exitcode.OK
}

// pickSource returns the named source, or the only one that can be read.
func pickSource(cfg *config.Config, name string) (config.Source, error) {
	var names []string
	for _, s := range cfg.Sources {
		if s.Name == name {
			return s, nil
		}
		names = append(names, s.Name)
	}
	switch {
	case name != "":
		return config.Source{}, fmt.Errorf("no source named %q (sources: %s)", name, strings.Join(names, ", "))
	case len(names) == 1:
		return *cfg.Source(names[0]), nil
	case len(names) == 0:
		return config.Source{}, errors.New("the configuration has no source to read")
	}
	return config.Source{}, fmt.Errorf("several sources (%s): choose one with --source", strings.Join(names, ", "))
}

func readSource(ctx context.Context, e env, cfg *config.Config, src config.Source) (*directory.Directory, int) {
	logCfg := cfg.Log
	if logCfg.Level == "" || logCfg.Level == "info" {
		logCfg.Level = "warn" // routine info lines would clutter the dump's terminal
	}
	logger, err := commandLogger(logCfg, e.stderr)
	if err != nil {
		fmt.Fprintf(e.stderr, "syncd source dump: %v\n", err)
		return nil, exitcode.Usage
	}
	defer func() { _ = logger.Sync() }()
	reader, err := buildSource(src, cfg.Sync.StateDir, logger)
	if err != nil {
		fmt.Fprintf(e.stderr, "syncd source dump: %v\n", err)
		return nil, exitcode.Usage
	}
	dir, err := reader.Read(ctx)
	if err != nil {
		fmt.Fprintf(e.stderr, "syncd source dump: %v\n", err)
		return nil, exitcode.Failure
	}
	return dir, exitcode.OK
}

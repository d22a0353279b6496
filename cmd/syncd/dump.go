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
	"github.com/syncd/syncd/internal/logging"
	"github.com/syncd/syncd/internal/plural"
)

type dumpFlags struct {
	config, source, format *string
}

func newDumpFlags() (*flag.FlagSet, *dumpFlags) {
	fs := newFlagSet("source dump")
	f := &dumpFlags{config: configFlag(fs),
		source: fs.String("source", "", "the `NAME` of the source to read (default: the only one)"),
		format: fs.String("format", "text", "output format, `json|text`"),
	}
	return fs, f
}

// cmdSourceDump reads a source as a sync would and prints what it got
// (package dump): groups with their resolved members (nested groups
// expanded). Exit 1 when the source cannot be read or a group is unknown.
func cmdSourceDump(ctx context.Context, e env, args []string) error {
	fs, f := newDumpFlags()
	if err := parse(fs, args); err != nil {
		return err
	}
	if *f.format != "text" && *f.format != "json" {
		return usageErrorf("--format %q: want json or text", *f.format)
	}
	cfg, err := loadConfig(e, *f.config)
	if err != nil {
		return err
	}
	src, err := pickSource(cfg, *f.source)
	if err != nil {
		return &configError{err: err}
	}
	dir, err := readSource(ctx, e, cfg, src)
	if err != nil {
		return err
	}
	if *f.format == "json" {
		err = dump.WriteJSON(e.stdout, dir)
	} else {
		err = dump.WriteText(e.stdout, dir)
	}
	if err != nil {
		return err
	}
	if n := dump.Unknown(dir); n > 0 {
		return fmt.Errorf("%s could not be read completely (unknown)", plural.Count(n, "group"))
	}
	return nil
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

// readSource reads src with its reader, logging at warn unless the config
// asks for more: routine info lines would clutter the dump's terminal.
func readSource(ctx context.Context, e env, cfg *config.Config, src config.Source) (*directory.Directory, error) {
	logCfg := cfg.Log
	if logCfg.Level == "" || logCfg.Level == "info" {
		logCfg.Level = "warn"
	}
	logger, err := logging.New(logCfg, e.stderr)
	if err != nil {
		return nil, &configError{err: err}
	}
	defer func() { _ = logger.Sync() }()
	reader, err := buildSource(src, cfg.Sync.StateDir, logger)
	if err != nil {
		return nil, &configError{err: err}
	}
	return reader.Read(ctx)
}

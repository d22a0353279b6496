package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/syncd/syncd/internal/config"
	"github.com/syncd/syncd/internal/report"
)

// Flag usages name their value in backquotes (`FILE`): help prints it as
// --flag FILE, and the shell completion completes file names for FILE
// and the alternatives of a|b|c.

// defaultLockWait bounds how long an applying command waits for another
// syncd writing to the same Teams site before it gives up (exit 1).
const defaultLockWait = 10 * time.Minute

// configFlag adds the --config flag every command shares.
func configFlag(fs *flag.FlagSet) *string {
	return fs.String("config", "", "configuration `FILE` (default $SYNCD_CONFIG, ./config.yaml, /etc/syncd/config.yaml)")
}

// runFlags are the flags of the commands that run the engine once.
type runFlags struct {
	config, report, format *string
	verbose                *bool
}

func addRunFlags(fs *flag.FlagSet) runFlags {
	return runFlags{
		config:  configFlag(fs),
		report:  fs.String("report", "", "also write the report to this `FILE`"),
		format:  fs.String("format", "", "report format, `text|markdown|json|html` (default: from --report's extension, else text)"),
		verbose: fs.Bool("verbose", false, "log every change even when the report and the log both go to a terminal"),
	}
}

// valid checks the flags' values before anything is read or written.
func (f runFlags) valid() error {
	if *f.format != "" && !report.ValidFormat(*f.format) {
		return usageErrorf("--format %q: want text, markdown, json or html", *f.format)
	}
	return nil
}

// stateFlags are the state and locking flags of the commands that apply.
type stateFlags struct {
	reset    *bool
	lockWait *time.Duration
}

func addStateFlags(fs *flag.FlagSet, withWait bool) stateFlags {
	f := stateFlags{reset: fs.Bool("reset-state", false,
		"move damaged state files aside (renamed *.damaged-TIME, never deleted) and start with fresh state")}
	if withWait {
		f.lockWait = fs.Duration("lock-wait", defaultLockWait,
			"wait up to `DURATION` for another syncd writing to the same Teams site")
	}
	return f
}

// configPath is --config, else the default search of DESIGN.md §4.
func configPath(e env, flagValue string) string {
	if flagValue != "" {
		return flagValue
	}
	return config.DefaultPath(e.getenv)
}

// loadConfig loads the configuration at path (see configPath). A file
// that does not load is a configError holding every problem found.
func loadConfig(e env, path string) (*config.Config, error) {
	path = configPath(e, path)
	cfg, err := config.Load(path, e.getenv)
	switch {
	case err == nil:
		return cfg, nil
	case errors.Is(err, os.ErrNotExist):
		return nil, &configError{err: fmt.Errorf("%w (give --config FILE or set SYNCD_CONFIG; config.example.yaml shows every key)", err)}
	}
	return nil, &configError{err: err, path: path}
}

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"go.uber.org/zap"

	"github.com/syncd/syncd/internal/config"
	"github.com/syncd/syncd/internal/exitcode"
	"github.com/syncd/syncd/internal/lock"
	"github.com/syncd/syncd/internal/state"
)

// defaultLockWait bounds how long an applying command waits for another
// syncd writing to the same Teams site before it gives up (exit 1).
const defaultLockWait = 10 * time.Minute

// daemonLockWait is the same bound for a run of the daemon; a run that
// gives up fails and the schedule tries again.
const daemonLockWait = 30 * time.Minute

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
			"how long to wait for another syncd writing to the same Teams site")
	}
	return f
}

// stateError is a runtime problem with the state dir (damaged, locked,
// read-only, full): exit 1, never 2, which is for bad config or usage.
type stateError struct{ err error }

func (e *stateError) Error() string { return e.err.Error() }
func (e *stateError) Unwrap() error { return e.err }

// openState opens the store of cfg (state.OpenDir), saying which damaged
// files --reset-state moved aside.
func openState(cfg *config.Config, reset bool, stderr io.Writer, cmd string) (*state.Store, error) {
	s, moved, err := state.OpenDir(cfg.Sync.StateDir, reset, time.Now())
	for _, m := range moved {
		fmt.Fprintf(stderr, "syncd %s: state file %s was damaged (%s); moved it to %s and starting with fresh state\n",
			cmd, m.From, m.Reason, m.To)
	}
	if err != nil {
		return nil, &stateError{err}
	}
	return s, nil
}

// acquireWriter takes the writer lock for cfg's Teams site, logging once
// when it has to wait for another syncd.
func acquireWriter(ctx context.Context, cfg *config.Config, getenv func(string) string, command string,
	wait time.Duration, log *zap.Logger) (*lock.Writer, error) {
	target := lock.Display(cfg.Teams.URL)
	w, err := lock.Acquire(ctx, lock.Options{
		Target: cfg.Teams.URL, StateDir: cfg.Sync.StateDir, RuntimeDir: lock.RuntimeDir(getenv),
		Command: command, Wait: wait, Created: state.OwnLikeDir,
		OnWait: func(h lock.Holder) {
			log.Warn(fmt.Sprintf("waiting for %s to finish writing to %s", h, target),
				zap.Duration("max_wait", wait))
		},
	})
	if err != nil {
		return nil, &stateError{err}
	}
	return w, nil
}

// exitFor is the exit code of a failure to set up a command: 1 for a
// runtime problem (the state dir, a lock), 2 for the configuration.
func exitFor(err error) int {
	var se *stateError
	if errors.As(err, &se) {
		return exitcode.Failure
	}
	return exitcode.Usage
}

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"go.uber.org/zap"

	"github.com/syncd/syncd/internal/config"
	"github.com/syncd/syncd/internal/lock"
	"github.com/syncd/syncd/internal/state"
)

// daemonLockWait bounds how long a run of the daemon waits for another
// syncd writing to the same Teams site; a run that gives up fails and the
// schedule tries again.
const daemonLockWait = 30 * time.Minute

// stateUse is how a command uses the state dir.
type stateUse int

const (
	// writesState: the command records in it (an apply, the daemon, an
	// approval), so it must be able to write it.
	writesState stateUse = iota
	// readsState: the command only reads it (history, approve --list):
	// it opens the state read-only, or creates it as a writer would when
	// there is none yet.
	readsState
	// mayWriteState: a dry run or explain keeps what it learnt (the cache,
	// the run history, the report) when it may write the state dir, and
	// only reads it when it may not (another user's files, a read-only
	// mount), saying so.
	mayWriteState
)

// openState opens the store of cfg (state.OpenDir) for use, saying which
// damaged files --reset-state moved aside.
func openState(cfg *config.Config, use stateUse, reset bool, stderr io.Writer, cmd string) (*state.Store, error) {
	dir := cfg.Sync.StateDir
	if use == readsState && dir != "" {
		if _, err := os.Stat(filepath.Join(dir, state.FileName)); err == nil {
			return state.OpenReadOnly(dir)
		}
	}
	s, moved, err := state.OpenDir(dir, reset, time.Now())
	for _, m := range moved {
		fmt.Fprintf(stderr, "syncd %s: state file %s was damaged (%s); moved it to %s and starting with fresh state\n",
			cmd, m.From, m.Reason, m.To)
	}
	if err == nil || !cannotWrite(err) {
		return s, err
	}
	if use == mayWriteState && !reset {
		if s, rerr := state.OpenReadOnly(dir); rerr == nil {
			fmt.Fprintf(stderr, "syncd %s: warning: cannot write the state dir %s (%v); reading it only: this run keeps nothing in it (cache, run history, report)\n",
				cmd, dir, err)
			return s, nil
		}
	}
	if use == readsState { // there is no state yet, and it cannot be made
		return nil, fmt.Errorf("%w (no state in %s yet, and syncd %s cannot create it: run it as the user that owns the directory)", err, dir, cmd)
	}
	return nil, fmt.Errorf("%w (syncd %s writes the state dir %s: run it as the user that owns it, on a writable file system)", err, cmd, dir)
}

// cannotWrite tells whether err is the file system refusing a write: a
// permission, or a read-only mount.
func cannotWrite(err error) bool {
	return errors.Is(err, fs.ErrPermission) || errors.Is(err, syscall.EROFS)
}

// acquireWriter takes the writer lock for cfg's Teams site, logging once
// when it has to wait for another syncd.
func acquireWriter(ctx context.Context, cfg *config.Config, getenv func(string) string, holder string,
	wait time.Duration, log *zap.Logger) (*lock.Writer, error) {
	target := cfg.Teams.ShownURL()
	return lock.Acquire(ctx, lock.Options{
		Target: cfg.Teams.URL, Shown: target, StateDir: cfg.Sync.StateDir, RuntimeDir: lock.RuntimeDir(getenv),
		Command: holder, Wait: wait, Created: state.OwnLikeDir,
		OnWait: func(h lock.Holder) {
			log.Warn(fmt.Sprintf("waiting for %s to finish writing to %s", h, target),
				zap.Duration("max_wait", wait))
		},
	})
}

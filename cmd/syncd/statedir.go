package main

import (
	"context"
	"fmt"
	"io"
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

// openState opens the store of cfg (state.OpenDir), saying which damaged
// files --reset-state moved aside.
func openState(cfg *config.Config, reset bool, stderr io.Writer, cmd string) (*state.Store, error) {
	s, moved, err := state.OpenDir(cfg.Sync.StateDir, reset, time.Now())
	for _, m := range moved {
		fmt.Fprintf(stderr, "syncd %s: state file %s was damaged (%s); moved it to %s and starting with fresh state\n",
			cmd, m.From, m.Reason, m.To)
	}
	return s, err
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

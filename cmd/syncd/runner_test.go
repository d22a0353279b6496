package main

import (
	"context"
	"errors"
	"testing"

	"github.com/syncd/syncd/internal/daemon"
)

// TestRunnerExplainsBetweenRuns: the daemon's runner refuses to explain
// while its run holds the sources and the Teams client.
func TestRunnerExplainsBetweenRuns(t *testing.T) {
	r := &engineRunner{}
	r.busy.Lock() // a run is going
	if _, err := r.Explain(context.Background(), "ada@example.com"); !errors.Is(err, daemon.ErrBusy) {
		t.Errorf("explain during a run: %v, want daemon.ErrBusy", err)
	}
	r.busy.Unlock()
}

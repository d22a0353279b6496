package main

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/syncd/syncd/internal/config"
	"github.com/syncd/syncd/internal/daemon"
	"github.com/syncd/syncd/internal/exitcode"
	"github.com/syncd/syncd/internal/metrics"
	"github.com/syncd/syncd/internal/state"
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

// The quick start's site is one whichever command applies to it: the
// daemon starts from what `sync --apply` saved of the in-process emulator,
// and what the daemon applies, a later `sync` sees.
func TestRunnerKeepsTheEmulatorsState(t *testing.T) {
	path := quickstart(t)
	if code, out, errOut := runCmd(t, nil, "sync", "--config", path, "--apply"); code != exitcode.OK {
		t.Fatalf("sync --apply: exit %d\n%s\n%s", code, out, errOut)
	}
	cfg, err := config.Load(path, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	m, err := metrics.New(prometheus.NewRegistry(), "test")
	if err != nil {
		t.Fatal(err)
	}
	store, err := state.Open(cfg.Sync.StateDir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	b := &runnerBuilder{log: zap.NewNop(), metrics: m, store: store, apply: true, getenv: func(string) string { return "" }}
	run := func() *daemon.Result {
		t.Helper()
		r, err := b.build(cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		res, err := r.RunOnce(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	if res := run(); res.Report.Summary.ChangesPlanned != 0 {
		t.Errorf("the daemon after sync --apply plans %d changes, want none: it must start from the saved site", res.Report.Summary.ChangesPlanned)
	}
	ldif := filepath.Join(filepath.Dir(path), "company.ldif")
	rewriteConfig(t, ldif, "member: uid=ann,ou=people,dc=example,dc=com\nmember: cn=platform-core", "member: cn=platform-core")
	store.Close()
	b.teamsConn = nil
	store, err = state.Open(cfg.Sync.StateDir)
	if err != nil {
		t.Fatal(err)
	}
	b.store = store
	if res := run(); res.Report.Summary.ChangesApplied != 1 {
		t.Fatalf("the daemon applied %d changes after ann left platform, want 1", res.Report.Summary.ChangesApplied)
	}
	store.Close()
	if code, out, _ := runCmd(t, nil, "sync", "--config", path, "--check"); code != exitcode.OK {
		t.Errorf("sync --check after the daemon applied: exit %d, want 0 (it sees what the daemon did)\n%s", code, out)
	}
}

package sync

import (
	"testing"

	"go.uber.org/zap"

	"github.com/syncd/syncd/internal/config"
	"github.com/syncd/syncd/internal/state"
	"github.com/syncd/syncd/internal/teams/emulator"
)

// A state dir syncd may only read serves a dry run, which plans from it
// and keeps nothing; a run that applies is refused before it starts, since
// it could not record its writes (DESIGN.md §8 rule 8).
func TestReadOnlyStateServesDryRunsOnly(t *testing.T) {
	seed := &emulator.Seed{Users: seedUsers("ann", "bob")}
	r := newRig(t, seed, dirOf(map[string][]string{"platform": {"ann"}}))
	r.cfg.Groups = []config.Mapping{{Source: "corp", From: "platform", To: "Platform"}}
	dir := t.TempDir()
	var err error
	if r.store, err = state.Open(dir); err != nil {
		t.Fatal(err)
	}
	if res := r.run(true); res.ExitCode != 0 {
		t.Fatalf("apply: exit %d, errors %v", res.ExitCode, res.Report.Errors)
	}
	r.src.dir = dirOf(map[string][]string{"platform": {"ann", "bob"}})
	if r.store, err = state.OpenReadOnly(dir); err != nil {
		t.Fatal(err)
	}
	res := r.run(false)
	if res.ExitCode != 0 || res.Report.Summary.ChangesPlanned != 1 || len(res.Report.Errors) != 0 {
		t.Errorf("dry run on a read-only state: exit %d, %d planned, errors %v; want 0, 1, none",
			res.ExitCode, res.Report.Summary.ChangesPlanned, res.Report.Errors)
	}
	if calls := res.Report.Summary.APICalls; calls > 1 {
		t.Errorf("dry run made %d calls: the cached matches of the read-only state were not used", calls)
	}
	if runs := r.store.Runs(); len(runs) != 1 || runs[0].Mode != "apply" {
		t.Errorf("run history %v, want the apply's only", runs)
	}
	_, err = New(Options{Config: r.cfg, Sources: []Source{r.src}, Reader: r.api, Writer: r.api, Store: r.store, Logger: zap.NewNop()})
	if err == nil {
		t.Error("an applying engine was built over a read-only state")
	}
}

// The in-memory store of a one-shot command without a state dir keeps no
// report: the command prints the run's own, and a first apply's report is
// tens of megabytes to encode for nobody. The run still has its report,
// and what else the store holds (the run, the sizes) is kept.
func TestOneShotStoreKeepsNoReport(t *testing.T) {
	r := newRig(t, &emulator.Seed{Users: seedUsers("ann")}, dirOf(map[string][]string{"platform": {"ann"}}))
	r.cfg.Groups = []config.Mapping{{Source: "corp", From: "platform", To: "Platform"}}
	r.store.KeepNoReports()
	res := r.run(true)
	if res.ExitCode != 0 || len(res.Report.Changes) != 1 {
		t.Fatalf("exit %d, changes %v", res.ExitCode, res.Report.Changes)
	}
	if r.store.KeepsReports() || r.store.HasReports() || len(r.store.Runs()) != 1 {
		t.Errorf("keeps reports %v, has one %v, %d runs; want no report and the run", r.store.KeepsReports(), r.store.HasReports(), len(r.store.Runs()))
	}
	ro, err := state.OpenReadOnly(func() string {
		dir := t.TempDir()
		s, err := state.Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		s.Close()
		return dir
	}())
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	if ro.KeepsReports() || !state.Memory().KeepsReports() {
		t.Errorf("a read-only store keeps reports %v, a memory one %v; want false, true", ro.KeepsReports(), state.Memory().KeepsReports())
	}
}

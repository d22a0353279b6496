package sync

import (
	"context"
	"slices"
	"strings"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/syncd/syncd/internal/config"
	"github.com/syncd/syncd/internal/report"
	"github.com/syncd/syncd/internal/state"
	"github.com/syncd/syncd/internal/teams"
	"github.com/syncd/syncd/internal/teams/emulator"
	"github.com/syncd/syncd/internal/teams/teamstest"
)

// A group syncd keeps in step, renamed in Teams by an admin, is not
// created again under its old name: no API deletes a group, so the run
// would leave two. The run reports the rename and exits 1 (for the group
// and the tag that names it as SME group) until someone decides: renamed
// back, the group is kept in step again. A group deleted in Teams is
// created again, as the configuration asks.
func TestGroupRenamedInTeamsIsNotCreatedAgain(t *testing.T) {
	seed := &emulator.Seed{SMEEnabled: true, Users: seedUsers("ann", "bob"), Tags: []emulator.SeedTag{{ID: 5, Name: "go"}}}
	seed.Tokens = []emulator.SeedToken{{Token: "tok", Admin: true, Write: true}}
	emu, srv := teamstest.NewServer(t, seed, emulator.Options{NoThrottle: true})
	r := rigFor(t, emu, srv, dirOf(map[string][]string{"platform": {"ann"}}))
	r.cfg.Groups = []config.Mapping{{Source: "corp", From: "platform", To: "Platform"}}
	r.cfg.SMEs = []config.SME{{Tag: "go", Groups: []string{"Platform"}}}
	var err error
	if r.store, err = state.Open(t.TempDir()); err != nil {
		t.Fatal(err)
	}
	if res := r.run(true); res.ExitCode != 0 {
		t.Fatalf("first apply: exit %d, errors %v", res.ExitCode, res.Report.Errors)
	}
	g, ok := r.emu.GroupByName("Platform")
	if !ok {
		t.Fatal("Platform was not created")
	}

	// Renamed by an admin right after syncd created it.
	r.emu.RenameGroup(g.ID, "Platform Engineering")
	r.src.dir = dirOf(map[string][]string{"platform": {"ann", "bob"}})
	for _, apply := range []bool{false, true} {
		res := r.run(apply)
		if res.ExitCode != 1 || slices.Contains(kinds(res.Report), report.KindCreateGroup) {
			t.Fatalf("apply=%v after the rename: exit %d, changes %v; want exit 1 and no create", apply, res.ExitCode, kinds(res.Report))
		}
		errs := strings.Join(res.Report.Errors, "\n")
		for _, want := range []string{`user group "Platform": renamed in Teams to "Platform Engineering"`, `set to: "Platform Engineering"`,
			`tag "go": SME group "Platform" was renamed in Teams`} {
			if !strings.Contains(errs, want) {
				t.Errorf("apply=%v: errors lack %q:\n%s", apply, want, errs)
			}
		}
	}
	if n := len(r.emu.Snapshot().UserGroups); n != 1 {
		t.Fatalf("%d user groups after the rename, want the one", n)
	}
	// explain says so too, for the group and for the tag's SME group.
	e, err := New(Options{Config: r.cfg, Sources: []Source{r.src}, Reader: r.client, Store: r.store, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	ex, err := e.Explain(context.Background(), "bob@example.com")
	if err != nil {
		t.Fatal(err)
	}
	said := 0
	for _, en := range ex.Entries {
		for _, next := range append([]string{en.Next}, smeNexts(en)...) {
			if strings.Contains(next, `renamed in Teams to "Platform Engineering"`) {
				said++
			}
		}
	}
	if said < 2 {
		t.Errorf("explain names the rename %d times, want for the group and its SME group: %+v", said, ex.Entries)
	}

	// Renamed back: kept in step again.
	r.emu.RenameGroup(g.ID, "platform")
	if res := r.run(true); res.ExitCode != 0 {
		t.Fatalf("after renaming back: exit %d, errors %v", res.ExitCode, res.Report.Errors)
	}
	if got := members(t, r.emu, "platform"); len(got) != 2 {
		t.Errorf("members after renaming back: %v, want ann and bob", got)
	}

	// Renamed again, and a group of the old name made by hand: that one
	// is kept in step from now on.
	r.emu.RenameGroup(g.ID, "Archive")
	admin, err := teams.New(teams.Options{BaseURL: srv.URL + "/api/v3", Token: "tok", HTTPClient: srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	made, err := admin.CreateUserGroup(context.Background(), teams.UserGroupRequest{Name: "Platform"})
	if err != nil {
		t.Fatal(err)
	}
	if res := r.run(true); res.ExitCode != 0 {
		t.Fatalf("with a group made by hand: exit %d, errors %v", res.ExitCode, res.Report.Errors)
	}
	if got, _ := r.emu.GroupByName("Platform"); got.ID != made.ID || len(got.UserIDs) != 2 {
		t.Errorf("Platform is %+v, want the group made by hand (%d) with ann and bob", got, made.ID)
	}
}

func smeNexts(en ExplainEntry) []string {
	var out []string
	for _, g := range en.SMEGroups {
		out = append(out, g.Next)
	}
	return out
}

// A group no mapping gives any more is told of once, by an applying run,
// and forgotten: its name may then go to a new group without being taken
// for a rename. A dry run (which may try another configuration) forgets
// nothing.
func TestGroupNoLongerMappedIsForgottenOnce(t *testing.T) {
	seed := &emulator.Seed{Users: seedUsers("ann")}
	r := newRig(t, seed, dirOf(map[string][]string{"platform": {"ann"}, "data": {"ann"}}))
	r.cfg.Groups = []config.Mapping{{Source: "corp", From: "platform", To: "Platform"}, {Source: "corp", From: "data", To: "Data"}}
	var err error
	if r.store, err = state.Open(t.TempDir()); err != nil {
		t.Fatal(err)
	}
	if res := r.run(true); res.ExitCode != 0 {
		t.Fatalf("first apply: exit %d, errors %v", res.ExitCode, res.Report.Errors)
	}
	core, logs := observer.New(zap.InfoLevel)
	r.log = zap.New(core)
	r.cfg.Groups = r.cfg.Groups[:1]
	told := func() int { return logs.FilterMessageSnippet(`user group "Data" is no longer kept in step`).Len() }
	r.run(false)
	if _, kept := r.store.GroupIDs()["data"]; !kept || told() != 0 {
		t.Fatalf("a dry run forgot Data (kept %v) or told of it (%d)", kept, told())
	}
	for range 2 {
		if res := r.run(true); res.ExitCode != 0 {
			t.Fatalf("apply without Data: exit %d, errors %v", res.ExitCode, res.Report.Errors)
		}
	}
	if _, kept := r.store.GroupIDs()["data"]; kept || told() != 1 {
		t.Errorf("after two applies without Data: still remembered %v, told %d times; want forgotten, told once", kept, told())
	}
	if _, kept := r.store.GroupIDs()["platform"]; !kept {
		t.Error("Platform, still mapped, was forgotten")
	}
	// Its group renamed, and its name mapped again: a new group, not a
	// rename to report.
	old, _ := r.emu.GroupByName("Data")
	r.emu.RenameGroup(old.ID, "Data Archive")
	r.cfg.Groups = append(r.cfg.Groups, config.Mapping{Source: "corp", From: "data", To: "Data"})
	if res := r.run(false); res.ExitCode != 0 || !slices.Contains(kinds(res.Report), report.KindCreateGroup) {
		t.Errorf("with Data mapped again: exit %d, changes %v, errors %v; want Data created", res.ExitCode, kinds(res.Report), res.Report.Errors)
	}
}

package sync

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"go.uber.org/zap"

	"github.com/syncd/syncd/internal/config"
	"github.com/syncd/syncd/internal/directory"
	"github.com/syncd/syncd/internal/exitcode"
	"github.com/syncd/syncd/internal/state"
	"github.com/syncd/syncd/internal/teams"
	"github.com/syncd/syncd/internal/teams/emulator"
	"github.com/syncd/syncd/internal/teams/teamstest"
)

// unionRig runs the engine over two sources, "corp" (an LDAP or LDIF
// directory) and "entra" (a SCIM receiver), feeding shared Teams groups.
type unionRig struct {
	t      *testing.T
	emu    *emulator.Emulator
	client *teams.Client
	cfg    *config.Config
	store  *state.Store
	corp   *fakeSource
	entra  *fakeSource
}

func newUnionRig(t *testing.T, seed *emulator.Seed, mappings []config.Mapping) *unionRig {
	t.Helper()
	seed.Tokens = []emulator.SeedToken{{Token: "tok", Admin: true, Write: true}}
	emu, srv := teamstest.NewServer(t, seed, emulator.Options{NoThrottle: true})
	client, err := teams.New(teams.Options{BaseURL: srv.URL + "/api/v3", Token: "tok", HTTPClient: srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	cfg := &config.Config{
		Sources: []config.Source{{Name: "corp"}, {Name: "entra"}},
		Groups:  mappings,
		Sync: config.Sync{Membership: "exact", MaxRemovals: 100, MaxRemovalPercent: 100,
			PendingRecheck: config.DefaultPendingRecheck},
	}
	return &unionRig{t: t, emu: emu, client: client, cfg: cfg, store: state.Memory(),
		corp: &fakeSource{name: "corp"}, entra: &fakeSource{name: "entra"}}
}

func (r *unionRig) run() *Result {
	r.t.Helper()
	e, err := New(Options{Config: r.cfg, Sources: []Source{r.corp, r.entra}, Reader: r.client, Writer: r.client, Store: r.store,
		Logger: zap.NewNop()})
	if err != nil {
		r.t.Fatal(err)
	}
	res, err := e.RunOnce(context.Background())
	if err != nil && res.ExitCode == 0 {
		r.t.Fatalf("error %v with exit code 0", err)
	}
	return res
}

// sourceDir is dirOf for a named source.
func sourceDir(source string, groups map[string][]string) *directory.Directory {
	d := dirOf(groups)
	d.Source = source
	return d
}

// TestSeveralMappingsFeedOneGroup: Platform is fed by an LDAP group and a
// SCIM group, and by two mappings of the LDAP source; its members are the
// union. When the SCIM source cannot be read, Platform gets additions but
// no removals, while Ops, fed by the LDAP source alone, still loses the
// people who left it.
func TestSeveralMappingsFeedOneGroup(t *testing.T) {
	seed := &emulator.Seed{Users: seedUsers("ann", "bob", "cat", "dan", "eve", "fay"), UserGroups: []emulator.SeedGroup{
		{ID: 100, Name: "Platform", UserIDs: []int{13, 14}}, // dan (a leaver), eve
		{ID: 101, Name: "Ops", UserIDs: []int{15}},          // fay
	}}
	r := newUnionRig(t, seed, []config.Mapping{
		{Source: "corp", From: "platform", To: "Platform"},
		{Source: "corp", From: "platform-sre", To: "Platform"},
		{Source: "entra", From: "Platform Engineers", To: "Platform"},
		{Source: "corp", From: "ops", To: "Ops"},
	})
	r.corp.dir = sourceDir("corp", map[string][]string{"platform": {"ann"}, "platform-sre": {"bob"}, "ops": {"fay", "ann"}})
	r.entra.dir = sourceDir("entra", map[string][]string{"Platform Engineers": {"cat", "eve"}})

	res := r.run()
	if res.ExitCode != exitcode.OK {
		t.Fatalf("first run: exit %d, errors %v", res.ExitCode, res.Report.Errors)
	}
	// ann, bob (two LDAP groups), cat, eve (SCIM); dan is in none: removed.
	if got := members(t, r.emu, "Platform"); !slices.Equal(got, []int{10, 11, 12, 14}) {
		t.Fatalf("Platform = %v, want the union ann, bob, cat, eve", got)
	}
	if got := members(t, r.emu, "Ops"); !slices.Equal(got, []int{10, 15}) {
		t.Fatalf("Ops = %v, want ann, fay", got)
	}

	// The SCIM source is down. bob left the LDAP group, dan joined it, fay
	// left ops.
	r.entra.err = errors.New("scim receiver \"entra\": nothing received yet")
	r.corp.dir = sourceDir("corp", map[string][]string{"platform": {"ann", "dan"}, "platform-sre": nil, "ops": {"ann"}})
	r.cfg.Groups[1].AllowEmpty = true // platform-sre may empty: bob's removal is not held as an emptied group
	res = r.run()
	if res.ExitCode != exitcode.Failure {
		t.Errorf("a source down: exit %d, want %d", res.ExitCode, exitcode.Failure)
	}
	if errs := strings.Join(res.Report.Errors, "\n"); !strings.Contains(errs, `source "entra" could not be read`) {
		t.Errorf("errors do not name the source that failed:\n%s", errs)
	}
	// Nobody leaves Platform (bob, cat and eve may still be SCIM members),
	// but dan is added.
	if got := members(t, r.emu, "Platform"); !slices.Equal(got, []int{10, 11, 12, 13, 14}) {
		t.Errorf("Platform with a feeding source down = %v, want additions only", got)
	}
	// Ops depends on the LDAP source only: fay is removed.
	if got := members(t, r.emu, "Ops"); !slices.Equal(got, []int{10}) {
		t.Errorf("Ops = %v, want fay removed although another source is down", got)
	}

	// The SCIM source is back and lists cat only: bob and eve leave.
	r.entra.err = nil
	r.entra.dir = sourceDir("entra", map[string][]string{"Platform Engineers": {"cat"}})
	if res = r.run(); res.ExitCode != exitcode.OK {
		t.Fatalf("third run: exit %d, errors %v", res.ExitCode, res.Report.Errors)
	}
	if got := members(t, r.emu, "Platform"); !slices.Equal(got, []int{10, 12, 13}) {
		t.Errorf("Platform = %v, want ann, cat, dan", got)
	}
}

// TestUnknownGroupOfOneSourceBlocksOnlyItsTargets: one SCIM group could not
// be read completely (a member lookup failed); the Teams group it feeds
// together with an LDAP group keeps its members, and another SCIM group of
// the same source still syncs fully.
func TestUnknownGroupOfOneSourceBlocksOnlyItsTargets(t *testing.T) {
	seed := &emulator.Seed{Users: seedUsers("ann", "bob", "cat", "dan"), UserGroups: []emulator.SeedGroup{
		{ID: 100, Name: "Platform", UserIDs: []int{10, 11, 12}},
		{ID: 101, Name: "Security", UserIDs: []int{12, 13}},
	}}
	r := newUnionRig(t, seed, []config.Mapping{
		{Source: "corp", From: "platform", To: "Platform"},
		{Source: "entra", From: "Platform Engineers", To: "Platform"},
		{Source: "entra", From: "Security", To: "Security"},
	})
	r.corp.dir = sourceDir("corp", map[string][]string{"platform": {"ann"}})
	r.entra.dir = sourceDir("entra", map[string][]string{"Platform Engineers": {"dan"}, "Security": {"dan"}})
	r.entra.dir.Group("Platform Engineers").Err = errors.New("member u17: HTTP 503: server error")
	res := r.run()
	if res.ExitCode != exitcode.Failure {
		t.Errorf("exit %d, want %d", res.ExitCode, exitcode.Failure)
	}
	if got := members(t, r.emu, "Platform"); !slices.Equal(got, []int{10, 11, 12, 13}) {
		t.Errorf("Platform = %v, want dan added and nobody removed", got)
	}
	if got := members(t, r.emu, "Security"); !slices.Equal(got, []int{13}) {
		t.Errorf("Security = %v, want cat removed", got)
	}
}

// TestMatchMappingOfAFailedSourceBlocksRemovals: a Teams group fed by a
// named mapping of one source may also be fed by a match: mapping of
// another; when that other source cannot be read, which groups it would
// have fed is unknown, so the groups its pattern can produce get no
// removals. Groups its pattern cannot produce sync fully.
func TestMatchMappingOfAFailedSourceBlocksRemovals(t *testing.T) {
	seed := &emulator.Seed{Users: seedUsers("ann", "bob", "cat"), UserGroups: []emulator.SeedGroup{
		{ID: 100, Name: "team-mobile", UserIDs: []int{10, 11}},
		{ID: 101, Name: "Ops", UserIDs: []int{10, 11}},
	}}
	r := newUnionRig(t, seed, []config.Mapping{
		{Source: "corp", Match: "team-*", To: "{name}"},
		{Source: "entra", From: "mobile devs", To: "team-mobile"},
		{Source: "entra", From: "ops", To: "Ops"},
	})
	r.corp.err = errors.New("ldap: connection refused")
	r.entra.dir = sourceDir("entra", map[string][]string{"mobile devs": {"cat"}, "ops": {"cat"}})
	res := r.run()
	if res.ExitCode != exitcode.Failure {
		t.Errorf("exit %d, want %d", res.ExitCode, exitcode.Failure)
	}
	// team-mobile may be "{name}" for an LDAP group team-mobile.
	if got := members(t, r.emu, "team-mobile"); !slices.Equal(got, []int{10, 11, 12}) {
		t.Errorf("team-mobile = %v, want cat added and nobody removed", got)
	}
	if got := members(t, r.emu, "Ops"); !slices.Equal(got, []int{12}) {
		t.Errorf("Ops = %v, want only cat", got)
	}
}

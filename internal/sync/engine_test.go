package sync

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/syncd/syncd/internal/config"
	"github.com/syncd/syncd/internal/directory"
	"github.com/syncd/syncd/internal/exitcode"
	"github.com/syncd/syncd/internal/report"
	"github.com/syncd/syncd/internal/state"
	"github.com/syncd/syncd/internal/teams"
	"github.com/syncd/syncd/internal/teams/emulator"
	"github.com/syncd/syncd/internal/teams/teamstest"
	"github.com/syncd/syncd/internal/teams/teamstest/spectest"
)

// fakeSource is a directory held in memory; Err makes the read fail.
type fakeSource struct {
	name string
	dir  *directory.Directory
	err  error
}

func (f *fakeSource) Name() string { return f.name }
func (f *fakeSource) Read(context.Context) (*directory.Directory, error) {
	if f.err != nil {
		return nil, f.err
	}
	return f.dir, nil
}

// dirOf builds a directory: groups name -> member logins; user "x" has
// the e-mail x@example.com.
func dirOf(groups map[string][]string) *directory.Directory {
	d := &directory.Directory{Source: "corp", Users: map[string]*directory.User{}}
	names := make([]string, 0, len(groups))
	for n := range groups {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		g := &directory.Group{Name: n, DN: "cn=" + n + ",ou=groups,dc=example,dc=com"}
		for _, m := range groups[n] {
			d.Users[m] = &directory.User{ID: m, Name: strings.ToUpper(m), Emails: []string{m + "@example.com"}}
			g.DirectMembers = append(g.DirectMembers, m)
		}
		d.Groups = append(d.Groups, g)
	}
	d.Expand()
	return d
}

func seedUsers(names ...string) []emulator.SeedUser {
	out := []emulator.SeedUser{{ID: 1, Name: "Community", Email: ""}}
	for i, n := range names {
		out = append(out, emulator.SeedUser{ID: 10 + i, Name: strings.ToUpper(n), Email: strings.ToUpper(n[:1]) + n[1:] + "@Example.com"})
	}
	return out
}

type rig struct {
	t      *testing.T
	emu    *emulator.Emulator
	client *teams.Client
	api    teamsAPI // what the engine is given; the client unless a test narrows it
	src    *fakeSource
	cfg    *config.Config
	store  *state.Store
	now    time.Time
	log    *zap.Logger // nil: nothing logged
}

func newRig(t *testing.T, seed *emulator.Seed, dir *directory.Directory) *rig {
	t.Helper()
	seed.Tokens = []emulator.SeedToken{{Token: "tok", Admin: true, Write: true}}
	emu, srv := teamstest.NewServer(t, seed, emulator.Options{NoThrottle: true})
	return rigFor(t, emu, srv, dir)
}

// newSpecRig is newRig with every request and response checked against
// openapi.json.
func newSpecRig(t *testing.T, seed *emulator.Seed, dir *directory.Directory) *rig {
	t.Helper()
	seed.Tokens = []emulator.SeedToken{{Token: "tok", Admin: true, Write: true}}
	emu, err := emulator.New(seed, emulator.Options{NoThrottle: true})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(spectest.Wrap(t, emu))
	t.Cleanup(srv.Close)
	return rigFor(t, emu, srv, dir)
}

func rigFor(t *testing.T, emu *emulator.Emulator, srv *httptest.Server, dir *directory.Directory) *rig {
	client, err := teams.New(teams.Options{BaseURL: srv.URL + "/api/v3", Token: "tok", HTTPClient: srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	cfg := &config.Config{Sync: config.Sync{Membership: "exact", MaxRemovals: 100, MaxRemovalPercent: 100,
		PendingRecheck: config.DefaultPendingRecheck}}
	cfg.Sources = []config.Source{{Name: "corp"}}
	return &rig{t: t, emu: emu, client: client, api: client, src: &fakeSource{name: "corp", dir: dir}, cfg: cfg,
		store: state.Memory(), now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
}

func (r *rig) run(apply bool) *Result {
	r.t.Helper()
	log := r.log
	if log == nil {
		log = zap.NewNop()
	}
	e, err := New(Options{Config: r.cfg, Sources: []Source{r.src}, Reader: r.api, Writer: writerIf(apply, r.api), Store: r.store,
		Logger: log, Now: func() time.Time { return r.now }})
	if err != nil {
		r.t.Fatal(err)
	}
	r.emu.ResetLog()
	res, err := e.RunOnce(context.Background())
	if err != nil && res.ExitCode == 0 {
		r.t.Fatalf("error %v with exit code 0", err)
	}
	return res
}

func members(t *testing.T, emu *emulator.Emulator, name string) []int {
	t.Helper()
	g, ok := emu.GroupByName(name)
	if !ok {
		t.Fatalf("group %q not in Teams", name)
	}
	ids := slices.Clone(g.UserIDs)
	slices.Sort(ids)
	return ids
}

func TestEngineEndToEnd(t *testing.T) {
	seed := &emulator.Seed{
		SMEEnabled: true,
		Users:      seedUsers("ann", "bob", "cat", "dan"),
		UserGroups: []emulator.SeedGroup{{ID: 100, Name: "SRE", UserIDs: []int{1, 12, 13}}},
		Tags:       []emulator.SeedTag{{ID: 5, Name: "kubernetes", SMEUserIDs: []int{13}}},
	}
	dir := dirOf(map[string][]string{"platform": {"ann", "bob", "newbie"}, "sre": {"cat"}, "k8s": {"ann"}})
	r := newSpecRig(t, seed, dir)
	r.cfg.Groups = []config.Mapping{
		{Source: "corp", From: "platform", To: "Platform", Description: "from LDAP"},
		{Source: "corp", From: "cn=sre,ou=groups,dc=example,dc=com", To: "sre"},
	}
	r.cfg.SMEs = []config.SME{{Tag: "kubernetes", UsersFrom: []config.GroupRef{{Source: "corp", Group: "k8s"}}, Groups: []string{"Platform"}}}

	dry := r.run(false)
	if r.emu.WriteCount() != 0 {
		t.Fatalf("dry run made %d write calls", r.emu.WriteCount())
	}
	if dry.ExitCode != 0 || !dry.Pending {
		t.Fatalf("dry run: exit %d pending %v errors %v", dry.ExitCode, dry.Pending, dry.Report.Errors)
	}
	if got := kinds(dry.Report); !slices.Equal(got, []string{"create_group", "remove_members", "add_sme_users", "remove_sme_users", "add_sme_groups"}) {
		t.Errorf("dry-run changes: got %v", got)
	}
	if len(dry.Report.Pending) != 1 || dry.Report.Pending[0].Email != "newbie@example.com" {
		t.Errorf("pending: got %+v", dry.Report.Pending)
	}

	applied := r.run(true)
	if applied.ExitCode != 0 || applied.Report.Summary.ChangesApplied != 5 {
		t.Fatalf("apply: exit %d, summary %+v, errors %v", applied.ExitCode, applied.Report.Summary, applied.Report.Errors)
	}
	// create (1 POST), SRE one removal (1 DELETE), tag: users add+remove and a group add -> 1 PUT.
	if got := r.emu.WriteCount(); got != 3 {
		t.Errorf("apply made %d write calls, want 3: %v", got, r.emu.Requests())
	}
	if got := members(t, r.emu, "Platform"); !slices.Equal(got, []int{10, 11}) {
		t.Errorf("Platform members: got %v", got)
	}
	if got := members(t, r.emu, "SRE"); !slices.Equal(got, []int{1, 12}) {
		t.Errorf("SRE members: got %v (the community user stays)", got)
	}
	users, groups := r.emu.TagSMEs("kubernetes")
	platform, _ := r.emu.GroupByName("Platform")
	if !slices.Equal(users, []int{10}) || !slices.Equal(groups, []int{platform.ID}) {
		t.Errorf("SMEs: got users %v groups %v", users, groups)
	}

	again := r.run(true)
	if r.emu.WriteCount() != 0 || again.Pending || again.ExitCode != 0 {
		t.Errorf("second run: %d writes, pending %v, exit %d", r.emu.WriteCount(), again.Pending, again.ExitCode)
	}
	// Steady state: one group list, one SME read, and one user count
	// because newbie is pending; everyone cached, newbie negatively cached.
	if got := len(r.emu.Requests()); got != 3 || r.emu.Count("GET", "/users") != 1 {
		t.Errorf("second run made %d calls, want 3 (one of them the user count): %v", got, r.emu.Requests())
	}

	// The new hire signs in; once the negative cache expires, they are added.
	r.emu.AddUser(emulator.SeedUser{ID: 20, Name: "Newbie", Email: "newbie@example.com"})
	r.now = r.now.Add(config.DefaultPendingRecheck.Std() + time.Minute)
	later := r.run(true)
	if got := members(t, r.emu, "Platform"); !slices.Equal(got, []int{10, 11, 20}) || later.ExitCode != 0 {
		t.Errorf("after sign-in: Platform %v, exit %d, errors %v", got, later.ExitCode, later.Report.Errors)
	}
	if n := r.emu.Count("GET", "/users/by-email/{email}") + r.emu.Count("GET", "/users"); n != 1 {
		t.Errorf("after sign-in: %d user lookups, want 1", n)
	}
}

func kinds(r *report.Report) []string {
	var out []string
	for _, c := range r.Changes {
		out = append(out, c.Kind)
	}
	return out
}

func TestEngineSourceFailureRemovesNothing(t *testing.T) {
	seed := &emulator.Seed{Users: seedUsers("ann", "bob"), UserGroups: []emulator.SeedGroup{{ID: 100, Name: "Platform", UserIDs: []int{10, 11}}}}
	r := newRig(t, seed, dirOf(map[string][]string{"platform": {"ann"}}))
	r.cfg.Groups = []config.Mapping{{Source: "corp", From: "platform", To: "Platform"}}
	r.src.err = errors.New("ldap: connection refused")
	res := r.run(true)
	if res.ExitCode != 1 || r.emu.WriteCount() != 0 {
		t.Errorf("source down: exit %d, %d writes; want 1 and 0", res.ExitCode, r.emu.WriteCount())
	}
	if res.Sources[0].Err == nil || len(res.Report.Errors) == 0 {
		t.Errorf("source error not reported: %+v", res.Report.Errors)
	}
}

func TestEngineHoldsEmptiedAndBudgetedGroups(t *testing.T) {
	var big []string
	var ids []int
	for i := range 40 {
		big = append(big, fmt.Sprintf("u%02d", i))
		ids = append(ids, 10+i)
	}
	seed := &emulator.Seed{Users: seedUsers(append(big, "zed")...), UserGroups: []emulator.SeedGroup{{ID: 100, Name: "Big", UserIDs: ids}}}
	r := newRig(t, seed, dirOf(map[string][]string{"big": big, "other": {"zed"}}))
	r.cfg.Sync.MaxRemovalPercent = 25
	r.cfg.Groups = []config.Mapping{{Source: "corp", From: "big", To: "Big"}, {Source: "corp", From: "other", To: "Other"}}
	if res := r.run(true); res.ExitCode != 0 {
		t.Fatalf("first run: exit %d %v", res.ExitCode, res.Report.Errors)
	}
	r.src.dir = dirOf(map[string][]string{"big": big[:1], "other": {"zed"}})
	r.emu.SetGroupMembers(mustGroup(t, r.emu, "Other"), nil) // someone emptied Other by hand
	res := r.run(true)
	if res.ExitCode != 4 {
		t.Fatalf("40 -> 1: exit %d, want 4; errors %v", res.ExitCode, res.Report.Errors)
	}
	if got := members(t, r.emu, "Big"); len(got) != 40 {
		t.Errorf("Big lost members: %d left", len(got))
	}
	if got := members(t, r.emu, "Other"); len(got) != 1 {
		t.Errorf("additions elsewhere must go through: Other has %v", got)
	}
	if res.Report.Summary.ChangesHeld != 1 || !strings.Contains(heldReason(res.Report), "max_removal_percent") {
		t.Errorf("held: %+v", res.Report.Changes)
	}

	// The group empties completely: held unless allow_empty.
	r.cfg.Sync.MaxRemovalPercent = 100
	r.src.dir = dirOf(map[string][]string{"big": nil, "other": {"zed"}})
	res = r.run(true)
	if res.ExitCode != 4 || !strings.Contains(heldReason(res.Report), "empty") {
		t.Errorf("emptied group: exit %d, changes %+v", res.ExitCode, res.Report.Changes)
	}
	if !strings.Contains(heldReason(res.Report), "had 1 member at the last successful run") {
		t.Errorf("held reason %q does not count the one member the group had", heldReason(res.Report))
	}
	r.cfg.Groups[0].AllowEmpty = true
	if res = r.run(true); res.ExitCode != 0 || len(members(t, r.emu, "Big")) != 0 {
		t.Errorf("allow_empty: exit %d, Big %v", res.ExitCode, members(t, r.emu, "Big"))
	}
}

func mustGroup(t *testing.T, emu *emulator.Emulator, name string) int {
	g, ok := emu.GroupByName(name)
	if !ok {
		t.Fatalf("no group %q", name)
	}
	return g.ID
}

func heldReason(r *report.Report) string {
	for _, c := range r.Changes {
		if c.Status == report.StatusHeld {
			return c.Reason
		}
	}
	return ""
}

func TestEngineStaleCachedIDIsRefreshed(t *testing.T) {
	seed := &emulator.Seed{Users: seedUsers("ann"), UserGroups: []emulator.SeedGroup{{ID: 100, Name: "Platform"}}}
	r := newRig(t, seed, dirOf(map[string][]string{"platform": {"ann"}}))
	r.cfg.Groups = []config.Mapping{{Source: "corp", From: "platform", To: "Platform"}}
	_ = r.store.PutUsers(map[string]state.User{"ann@example.com": {ID: 999}}) // stale
	res := r.run(true)
	if res.ExitCode != 0 || !slices.Equal(members(t, r.emu, "Platform"), []int{10}) {
		t.Errorf("stale id: exit %d %v, members %v", res.ExitCode, res.Report.Changes, members(t, r.emu, "Platform"))
	}
	if got := r.store.Users([]string{"ann@example.com"})["ann@example.com"].ID; got != 10 {
		t.Errorf("cache not refreshed: %d", got)
	}
}

func TestEngineAmbiguousNameAndSMEsDisabled(t *testing.T) {
	seed := &emulator.Seed{SMEEnabled: false, Users: seedUsers("ann"),
		UserGroups: []emulator.SeedGroup{{ID: 100, Name: "Dup"}, {ID: 101, Name: "dup"}},
		Tags:       []emulator.SeedTag{{ID: 5, Name: "go"}}}
	r := newRig(t, seed, dirOf(map[string][]string{"platform": {"ann"}}))
	r.cfg.Groups = []config.Mapping{{Source: "corp", From: "platform", To: "Dup"}, {Source: "corp", From: "platform", To: "Platform"}}
	r.cfg.SMEs = []config.SME{{Tag: "go", UsersFrom: []config.GroupRef{{Source: "corp", Group: "platform"}}}}
	res := r.run(true)
	if res.ExitCode != 1 {
		t.Errorf("exit %d, want 1", res.ExitCode)
	}
	all := strings.Join(res.Report.Errors, "\n")
	if !strings.Contains(all, "matches 2 Teams groups") || !strings.Contains(all, "SMEs are not enabled") {
		t.Errorf("errors: %s", all)
	}
	if got := members(t, r.emu, "Platform"); !slices.Equal(got, []int{10}) {
		t.Errorf("groups must still sync: Platform %v", got)
	}
}

func TestSavedPlanRefusesDrift(t *testing.T) {
	seed := &emulator.Seed{Users: seedUsers("ann", "bob"), UserGroups: []emulator.SeedGroup{{ID: 100, Name: "Platform", UserIDs: []int{11}}}}
	r := newRig(t, seed, dirOf(map[string][]string{"platform": {"ann", "bob"}}))
	r.cfg.Groups = []config.Mapping{{Source: "corp", From: "platform", To: "Platform"}}
	e, _ := New(Options{Config: r.cfg, Sources: []Source{r.src}, Reader: r.client, Writer: r.client, Store: r.store, Logger: zap.NewNop()})
	p, err := e.Prepare(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var buf strings.Builder
	if err := p.Save().Write(&buf); err != nil {
		t.Fatal(err)
	}
	saved, err := ReadSavedPlan(strings.NewReader(buf.String()))
	if err != nil {
		t.Fatal(err)
	}
	r.emu.SetGroupMembers(100, []int{1, 11}) // changed by hand meanwhile
	r.emu.ResetLog()
	res, err := e.ApplySaved(context.Background(), saved)
	if err == nil || res.ExitCode != 1 || !strings.Contains(err.Error(), `user group "Platform" changed`) || r.emu.WriteCount() != 0 {
		t.Fatalf("drift: err %v, exit %d, writes %d", err, res.ExitCode, r.emu.WriteCount())
	}
	r.emu.SetGroupMembers(100, []int{11})
	res, err = e.ApplySaved(context.Background(), saved)
	if err != nil || res.ExitCode != 0 || !slices.Equal(members(t, r.emu, "Platform"), []int{10, 11}) {
		t.Fatalf("no drift: err %v, exit %d, members %v", err, res.ExitCode, members(t, r.emu, "Platform"))
	}
}

func TestIdentityResolutionPicksTheCheaperPath(t *testing.T) {
	var names []string
	for i := range 250 {
		names = append(names, fmt.Sprintf("p%03d", i))
	}
	seed := &emulator.Seed{Users: seedUsers(names...)}
	// Two people to match among 251 Teams users: 2 by-email calls beat 3 pages.
	r := newRig(t, seed, dirOf(map[string][]string{"few": names[:2], "many": names}))
	r.cfg.Groups = []config.Mapping{{Source: "corp", From: "few", To: "Few"}}
	_ = r.store.PutMeta(metaTeamsUsers, 251)
	r.run(false)
	if got := r.emu.Count("GET", "/users/by-email/{email}"); got != 2 || r.emu.Count("GET", "/users") != 0 {
		t.Errorf("2 misses: %d by-email calls and %d user pages, want 2 and 0", got, r.emu.Count("GET", "/users"))
	}
	// 250 people: 3 pages beat 250 calls; the listing fills the cache for all.
	r.cfg.Groups = []config.Mapping{{Source: "corp", From: "many", To: "Many"}}
	r.run(false)
	if got := r.emu.Count("GET", "/users"); got != 3 || r.emu.Count("GET", "/users/by-email/{email}") != 0 {
		t.Errorf("248 misses: %d user pages and %d by-email calls, want 3 and 0", got, r.emu.Count("GET", "/users/by-email/{email}"))
	}
	res := r.run(false)
	if got := len(r.emu.Requests()); got != 1 || res.Report.Summary.MatchedUsers != 250 {
		t.Errorf("warm cache: %d calls (want 1: the group list), %d matched", got, res.Report.Summary.MatchedUsers)
	}
}

func TestNonAdminTokenCannotMatch(t *testing.T) {
	seed := &emulator.Seed{Users: seedUsers("ann", "bob")}
	r := newRig(t, seed, dirOf(map[string][]string{"platform": {"ann"}}))
	r.cfg.Groups = []config.Mapping{{Source: "corp", From: "platform", To: "Platform"}}
	seed.Tokens = []emulator.SeedToken{{Token: "plain", Write: true}}
	emu, srv := teamstest.NewServer(t, seed, emulator.Options{NoThrottle: true})
	r.emu = emu
	r.client, _ = teams.New(teams.Options{BaseURL: srv.URL + "/api/v3", Token: "plain", HTTPClient: srv.Client()})
	r.api = r.client
	res := r.run(true)
	if res.ExitCode != 1 || emu.WriteCount() != 0 || !strings.Contains(strings.Join(res.Report.Errors, " "), "admin token") {
		t.Errorf("non-admin token: exit %d, %d writes, errors %v", res.ExitCode, emu.WriteCount(), res.Report.Errors)
	}
}

func TestReadOnlyTokenStopsWriting(t *testing.T) {
	seed := &emulator.Seed{Users: seedUsers("ann", "bob")}
	r := newRig(t, seed, dirOf(map[string][]string{"a": {"ann"}, "b": {"bob"}}))
	r.cfg.Groups = []config.Mapping{{Source: "corp", From: "a", To: "A"}, {Source: "corp", From: "b", To: "B"}}
	seed.Tokens = []emulator.SeedToken{{Token: "ro", Admin: true}}
	emu, srv := teamstest.NewServer(t, seed, emulator.Options{NoThrottle: true})
	r.emu = emu
	r.client, _ = teams.New(teams.Options{BaseURL: srv.URL + "/api/v3", Token: "ro", HTTPClient: srv.Client()})
	r.api = r.client
	res := r.run(true)
	if res.ExitCode != 1 || res.Report.Summary.ChangesFailed != 2 || res.Report.Summary.ChangesApplied != 0 {
		t.Fatalf("read-only: exit %d, summary %+v", res.ExitCode, res.Report.Summary)
	}
	if got := emu.WriteCount(); got != 1 {
		t.Errorf("read-only: %d write attempts, want 1 (the first 403 stops the rest)", got)
	}
	if msg := res.Report.Changes[0].Error; !strings.Contains(msg, "read-only") {
		t.Errorf("error does not say read-only: %q", msg)
	}
}

func TestPendingPersonAddedByHandIsNotRemoved(t *testing.T) {
	seed := &emulator.Seed{Users: seedUsers("ann"), UserGroups: []emulator.SeedGroup{{ID: 100, Name: "Platform", UserIDs: []int{10}}}}
	r := newRig(t, seed, dirOf(map[string][]string{"platform": {"ann", "newbie"}}))
	r.cfg.Groups = []config.Mapping{{Source: "corp", From: "platform", To: "Platform"}}
	if res := r.run(true); len(res.Report.Pending) != 1 {
		t.Fatalf("newbie should be pending: %+v", res.Report.Pending)
	}
	// Newbie signs in and an admin adds them by hand, within the negative cache's time.
	r.emu.AddUser(emulator.SeedUser{ID: 30, Name: "Newbie", Email: "newbie@example.com"})
	r.emu.SetGroupMembers(100, []int{10, 30})
	res := r.run(true)
	if got := members(t, r.emu, "Platform"); !slices.Equal(got, []int{10, 30}) || res.ExitCode != 0 || len(res.Report.Pending) != 0 {
		t.Errorf("hand-added pending person: members %v, exit %d, pending %v, changes %+v", got, res.ExitCode, res.Report.Pending, res.Report.Changes)
	}
}

func TestEngineConvergesThroughFaults(t *testing.T) {
	var names []string
	for i := range 60 {
		names = append(names, fmt.Sprintf("p%02d", i))
	}
	groups := map[string][]string{}
	for g := range 12 {
		groups[fmt.Sprintf("g%02d", g)] = names[g*5 : g*5+5]
	}
	seed := &emulator.Seed{SMEEnabled: true, Users: seedUsers(names...), Tags: []emulator.SeedTag{{ID: 5, Name: "go"}}}
	seed.Tokens = []emulator.SeedToken{{Token: "tok", Admin: true, Write: true}}
	emu, srv := teamstest.NewServer(t, seed, emulator.Options{NoThrottle: true, RandSeed: 7})
	client, err := teams.New(teams.Options{BaseURL: srv.URL + "/api/v3", Token: "tok", HTTPClient: srv.Client(),
		MaxRetries: 1, Sleep: func(context.Context, time.Duration) error { return nil }})
	if err != nil {
		t.Fatal(err)
	}
	r := &rig{t: t, emu: emu, client: client, api: client, src: &fakeSource{name: "corp", dir: dirOf(groups)}, store: state.Memory(),
		cfg: &config.Config{Sync: config.Sync{Membership: "exact", MaxRemovals: 100, MaxRemovalPercent: 100}}, now: time.Now()}
	r.cfg.Groups = []config.Mapping{{Source: "corp", Match: "g*", To: "Group {name}"}}
	r.cfg.SMEs = []config.SME{{Tag: "go", UsersFrom: []config.GroupRef{{Source: "corp", Group: "g00"}}, Groups: []string{"Group g01"}}}

	emu.SetFaults(0.1, 0.1)
	failures := 0
	for i := 0; i < 6; i++ {
		res := r.run(true) // failures are reported, never fatal
		failures += res.Report.Summary.ChangesFailed + len(res.Report.Errors)
	}
	if failures == 0 {
		t.Fatal("the faults caused no failure: the test proves nothing")
	}
	emu.SetFaults(0, 0)
	res := r.run(true)
	if res.ExitCode != 0 {
		t.Fatalf("after the faults: exit %d, errors %v", res.ExitCode, res.Report.Errors)
	}
	final := r.run(true)
	if final.Pending || r.emu.WriteCount() != 0 {
		t.Errorf("not converged: %d writes on the last run", r.emu.WriteCount())
	}
	seen := map[string]bool{}
	for _, g := range emu.Snapshot().UserGroups {
		if seen[g.Name] {
			t.Errorf("duplicate group %q after lost responses", g.Name)
		}
		seen[g.Name] = true
		if len(g.UserIDs) != 5 {
			t.Errorf("group %q has %d members, want 5", g.Name, len(g.UserIDs))
		}
	}
	if len(seen) != 12 {
		t.Errorf("%d groups, want 12", len(seen))
	}
}

func TestManagedModeRemovesOnlyWhatSyncdAdded(t *testing.T) {
	seed := &emulator.Seed{Users: seedUsers("ann", "bob", "hand"), UserGroups: []emulator.SeedGroup{{ID: 100, Name: "Platform", UserIDs: []int{12}}}}
	r := newRig(t, seed, dirOf(map[string][]string{"platform": {"ann", "bob"}}))
	r.cfg.Groups = []config.Mapping{{Source: "corp", From: "platform", To: "Platform", Membership: "managed"}}
	if res := r.run(true); res.ExitCode != 0 || !slices.Equal(members(t, r.emu, "Platform"), []int{10, 11, 12}) {
		t.Fatalf("first run: exit %d, members %v", res.ExitCode, members(t, r.emu, "Platform"))
	}
	if got := r.store.Ledger()["group:100"]; !slices.Equal(got, []int{10, 11}) {
		t.Errorf("ledger: got %v, want the two people syncd added", got)
	}
	r.src.dir = dirOf(map[string][]string{"platform": {"ann"}}) // bob leaves
	res := r.run(true)
	if got := members(t, r.emu, "Platform"); res.ExitCode != 0 || !slices.Equal(got, []int{10, 12}) {
		t.Errorf("managed: exit %d, members %v; want bob removed and the hand-added member kept", res.ExitCode, got)
	}
	if got := r.store.Ledger()["group:100"]; !slices.Equal(got, []int{10}) {
		t.Errorf("ledger after removal: got %v", got)
	}
}

func TestExplainSMEGroups(t *testing.T) {
	seed := &emulator.Seed{
		SMEEnabled: true,
		Users:      seedUsers("ann", "bob"),
		UserGroups: []emulator.SeedGroup{{ID: 100, Name: "SRE", UserIDs: []int{10}}, {ID: 101, Name: "Old", UserIDs: []int{10}}},
		Tags:       []emulator.SeedTag{{ID: 5, Name: "kubernetes", SMEUserIDs: []int{11}, SMEGroupIDs: []int{100, 101}}},
	}
	dir := dirOf(map[string][]string{"platform": {"ann", "bob"}, "sre": {"ann"}, "k8s": {"bob"}})
	r := newRig(t, seed, dir)
	r.cfg.Groups = []config.Mapping{{Source: "corp", From: "platform", To: "Platform"}, {Source: "corp", From: "sre", To: "SRE"}}
	r.cfg.SMEs = []config.SME{{Tag: "kubernetes", UsersFrom: []config.GroupRef{{Source: "corp", Group: "k8s"}}, Groups: []string{"Platform", "SRE"}}}
	e, err := New(Options{Config: r.cfg, Sources: []Source{r.src}, Reader: r.client, Store: r.store, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	ex, err := e.Explain(context.Background(), "ANN@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if r.emu.WriteCount() != 0 {
		t.Fatalf("explain made %d writes", r.emu.WriteCount())
	}
	var tag *ExplainEntry
	for i := range ex.Entries {
		if ex.Entries[i].Target == `SMEs of tag "kubernetes"` {
			tag = &ex.Entries[i]
		}
	}
	if tag == nil || tag.Should || tag.IsMember || tag.Next != "nothing (already as it should be)" {
		t.Fatalf("ann is no SME user and should not be one: %+v", tag)
	}
	want := []ExplainSMEGroup{
		{Name: "Platform", Should: true, Via: []string{"corp: platform"}, Member: "add", Next: "create the group, then make it an SME group"},
		{Name: "SRE", TeamsID: 100, Assigned: true, IsMember: true, Should: true, Via: []string{"corp: sre"},
			Member: "nothing (already as it should be)", Next: "nothing (already an SME group)"},
		{Name: "Old", TeamsID: 101, Assigned: true, IsMember: true, Member: "nothing (the group is not managed by syncd)",
			Next: "remove it from the SME groups"},
	}
	if !reflect.DeepEqual(tag.SMEGroups, want) {
		t.Errorf("SME groups:\n got %+v\nwant %+v", tag.SMEGroups, want)
	}
}

// TestPendingRecheckIsConfigurable: sync.pending_recheck sets how long an
// address without a Teams account is not asked again; 0 asks every run.
func TestPendingRecheckIsConfigurable(t *testing.T) {
	for _, recheck := range []time.Duration{0, 10 * time.Minute} {
		t.Run(recheck.String(), func(t *testing.T) {
			seed := &emulator.Seed{Users: seedUsers("ann"), UserGroups: []emulator.SeedGroup{{ID: 100, Name: "Platform", UserIDs: []int{10}}}}
			r := newRig(t, seed, dirOf(map[string][]string{"platform": {"ann", "newbie"}}))
			r.cfg.Groups = []config.Mapping{{Source: "corp", From: "platform", To: "Platform"}}
			r.cfg.Sync.PendingRecheck = config.Duration(recheck)
			r.api = withoutCount{r.client} // the window alone decides here
			if res := r.run(true); len(res.Report.Pending) != 1 {
				t.Fatalf("newbie should be pending: %+v", res.Report.Pending)
			}
			r.emu.AddUser(emulator.SeedUser{ID: 30, Name: "Newbie", Email: "newbie@example.com"})
			r.now = r.now.Add(5 * time.Minute)
			res := r.run(true)
			lookups := r.emu.Count("GET", "/users/by-email/{email}") + r.emu.Count("GET", "/users")
			added := slices.Contains(members(t, r.emu, "Platform"), 30)
			if recheck == 0 && (!added || lookups != 1) {
				t.Errorf("pending_recheck 0: added %v after %d lookups; want added after 1", added, lookups)
			}
			if recheck > 0 && (added || lookups != 0 || len(res.Report.Pending) != 1) {
				t.Errorf("pending_recheck %v, 5 minutes later: added %v, %d lookups; want still pending, no lookup", recheck, added, lookups)
			}
			r.now = r.now.Add(recheck)
			r.run(true)
			if !slices.Contains(members(t, r.emu, "Platform"), 30) {
				t.Errorf("pending_recheck %v: newbie not added once the recheck time passed", recheck)
			}
		})
	}
}

// withoutCount hides the client's CountUsers, as a client without it
// would be: pending people then wait for sync.pending_recheck.
type withoutCount struct{ teamsAPI }

func (withoutCount) CountUsers(context.Context) (int, error) { return 0, errors.ErrUnsupported }

// TestFirstSignInNoticedByUserCount: while someone is pending, one call
// counting Teams users tells whether anyone signed in since; if so, the
// pending addresses are asked again at once instead of after
// sync.pending_recheck.
func TestFirstSignInNoticedByUserCount(t *testing.T) {
	seed := &emulator.Seed{Users: seedUsers("ann"), UserGroups: []emulator.SeedGroup{{ID: 100, Name: "Platform", UserIDs: []int{10}}}}
	r := newRig(t, seed, dirOf(map[string][]string{"platform": {"ann", "newbie"}}))
	r.cfg.Groups = []config.Mapping{{Source: "corp", From: "platform", To: "Platform"}}
	run := func() *Result { t.Helper(); return r.run(true) }
	if res := run(); len(res.Report.Pending) != 1 {
		t.Fatalf("newbie should be pending: %+v", res.Report.Pending)
	}
	r.now = r.now.Add(time.Minute)
	run() // nobody new: one count, no lookup (the first count is remembered)
	run()
	// One GET /users: the count (a listing to match people would be a second).
	if got := r.emu.Count("GET", "/users/by-email/{email}"); got != 0 || r.emu.Count("GET", "/users") != 1 {
		t.Errorf("nobody signed in: %d by-email calls and %d /users calls; want 0 and the one count", got, r.emu.Count("GET", "/users"))
	}
	r.emu.AddUser(emulator.SeedUser{ID: 30, Name: "Newbie", Email: "newbie@example.com"})
	res := run()
	if !slices.Contains(members(t, r.emu, "Platform"), 30) || len(res.Report.Pending) != 0 {
		t.Errorf("newbie signed in: not added within the negative cache's time; pending %v, calls %v", res.Report.Pending, r.emu.Requests())
	}
}

// TestSafetyUnknownAndEmptied covers DESIGN.md §8 rules 1 and 2 on the
// engine: a mapped group missing from the directory or read incompletely
// gets no removals (exit 1) while additions go on; a group that empties is
// held even when some other, unmapped directory group could not be read.
func TestSafetyUnknownAndEmptied(t *testing.T) {
	seed := &emulator.Seed{Users: seedUsers("ann", "bob", "cat", "dan"), UserGroups: []emulator.SeedGroup{
		{ID: 100, Name: "Gone", UserIDs: []int{10}}, {ID: 101, Name: "Partial", UserIDs: []int{10, 11}}, {ID: 102, Name: "Team", UserIDs: []int{12}}}}
	dir := dirOf(map[string][]string{"partial": {"cat"}, "team": {"cat", "dan"}, "broken": {"ann"}})
	dir.Group("partial").Err = errors.New("size limit exceeded")
	dir.Group("broken").Err = errors.New("size limit exceeded") // mapped nowhere
	r := newRig(t, seed, dir)
	r.cfg.Groups = []config.Mapping{{Source: "corp", From: "gone", To: "Gone"}, {Source: "corp", From: "partial", To: "Partial"},
		{Source: "corp", From: "team", To: "Team"}}
	res := r.run(true)
	if res.ExitCode != 1 {
		t.Errorf("unknown groups: exit %d, want 1", res.ExitCode)
	}
	errs := strings.Join(res.Report.Errors, "\n")
	for _, want := range []string{`directory group "gone" not found`, `"partial" of source "corp" could not be read completely`} {
		if !strings.Contains(errs, want) {
			t.Errorf("errors lack %q:\n%s", want, errs)
		}
	}
	if got := members(t, r.emu, "Gone"); !slices.Equal(got, []int{10}) {
		t.Errorf("Gone: %v, want untouched", got)
	}
	if got := members(t, r.emu, "Partial"); !slices.Equal(got, []int{10, 11, 12}) {
		t.Errorf("Partial: %v, want the addition and no removal", got)
	}
	if got := members(t, r.emu, "Team"); !slices.Equal(got, []int{12, 13}) {
		t.Errorf("Team: %v", got)
	}
	r.cfg.Groups = r.cfg.Groups[2:]
	dir = dirOf(map[string][]string{"team": nil, "broken": {"ann"}})
	dir.Group("broken").Err = errors.New("size limit exceeded")
	r.src.dir = dir
	res = r.run(true)
	if got := members(t, r.emu, "Team"); res.ExitCode != 4 || !slices.Equal(got, []int{12, 13}) {
		t.Errorf("emptied group: exit %d, Team %v; want 4 and nobody removed", res.ExitCode, got)
	}
}

// TestMatchOverEveryAddress: a person is matched by any of their e-mail
// addresses, case-insensitively, whether syncd asks by e-mail or lists the
// users; every run's report is kept in the state store.
func TestMatchOverEveryAddress(t *testing.T) {
	for _, teamsUsers := range []int{2, 1000} { // listing is cheaper / by-email is cheaper
		t.Run(fmt.Sprint(teamsUsers), func(t *testing.T) {
			seed := &emulator.Seed{Users: seedUsers("ann"), UserGroups: []emulator.SeedGroup{{ID: 100, Name: "Platform"}}}
			dir := dirOf(map[string][]string{"platform": {"old"}})
			dir.Users["old"].Emails = []string{"old.name@example.com", "ann@example.com"} // Teams knows the second
			r := newRig(t, seed, dir)
			r.cfg.Groups = []config.Mapping{{Source: "corp", From: "platform", To: "Platform"}}
			_ = r.store.PutMeta(metaTeamsUsers, teamsUsers)
			res := r.run(true)
			if got := members(t, r.emu, "Platform"); !slices.Equal(got, []int{10}) || len(res.Report.Pending) != 0 {
				t.Errorf("members %v, pending %v; want ann (id 10) matched by her second address", got, res.Report.Pending)
			}
			byEmail := r.emu.Count("GET", "/users/by-email/{email}") > 0
			if byEmail != (teamsUsers == 1000) {
				t.Errorf("%d Teams users: by-email used %v", teamsUsers, byEmail)
			}
			kept := r.store.Reports()
			var last report.Report
			if len(kept) != 1 || json.Unmarshal(r.store.LatestReport(), &last) != nil || last.Summary != res.Report.Summary {
				t.Errorf("kept reports: %d, latest %+v; want this run's", len(kept), last.Summary)
			}
		})
	}
}

// TestTagIDCache: a tag's id is found by name once and cached; a cached id
// that no longer exists (404) is found by name again.
func TestTagIDCache(t *testing.T) {
	seed := &emulator.Seed{SMEEnabled: true, Users: seedUsers("ann"), Tags: []emulator.SeedTag{{ID: 5, Name: "Go"}}}
	r := newRig(t, seed, dirOf(map[string][]string{"gophers": {"ann"}}))
	r.cfg.SMEs = []config.SME{{Tag: "go", UsersFrom: []config.GroupRef{{Source: "corp", Group: "gophers"}}}}
	_ = r.store.PutTagID("go", 999) // stale
	if res := r.run(true); res.ExitCode != 0 || r.emu.Count("GET", "/tags") != 1 {
		t.Fatalf("stale tag id: exit %d, %d tag lookups by name, errors %v", res.ExitCode, r.emu.Count("GET", "/tags"), res.Report.Errors)
	}
	if users, _ := r.emu.TagSMEs("go"); !slices.Equal(users, []int{10}) || r.store.TagID("go") != 5 {
		t.Errorf("SMEs %v, cached id %d; want ann and id 5", users, r.store.TagID("go"))
	}
	r.run(true)
	if n := r.emu.Count("GET", "/tags"); n != 0 || len(r.emu.Requests()) != 2 {
		t.Errorf("cached tag id: %d lookups by name, %d calls; want 0 and 2 (groups, SMEs)", n, len(r.emu.Requests()))
	}
}

// TestAmbiguousDirectoryGroupName: two directory groups named "eng" in two
// OUs make a `from: eng` mapping an error (no changes for that group, exit
// 1); naming one by its DN works.
func TestAmbiguousDirectoryGroupName(t *testing.T) {
	seed := &emulator.Seed{Users: seedUsers("ann", "bob"), UserGroups: []emulator.SeedGroup{{ID: 100, Name: "Eng", UserIDs: []int{10}}}}
	dir := dirOf(map[string][]string{"eng": {"bob"}})
	dir.Groups = append(dir.Groups, &directory.Group{Name: "eng", DN: "cn=eng,ou=emea,dc=example,dc=com", DirectMembers: []string{"ann"}})
	dir.Users["ann"] = &directory.User{ID: "ann", Name: "ANN", Emails: []string{"ann@example.com"}}
	dir.Expand()
	r := newRig(t, seed, dir)
	r.cfg.Groups = []config.Mapping{{Source: "corp", From: "eng", To: "Eng"}}
	res := r.run(true)
	if res.ExitCode != 1 || !strings.Contains(strings.Join(res.Report.Errors, "\n"), "name one by its DN") {
		t.Errorf("ambiguous name: exit %d, errors %v; want exit 1 naming the fix", res.ExitCode, res.Report.Errors)
	}
	if r.emu.WriteCount() != 0 {
		t.Errorf("ambiguous name: %d writes, want none", r.emu.WriteCount())
	}
	r.cfg.Groups = []config.Mapping{{Source: "corp", From: "CN=eng, OU=emea,dc=example,dc=com", To: "Eng"}}
	if res := r.run(true); res.ExitCode != 0 || !slices.Equal(members(t, r.emu, "Eng"), []int{10}) {
		t.Errorf("by DN: exit %d, Eng = %v, errors %v", res.ExitCode, members(t, r.emu, "Eng"), res.Report.Errors)
	}
}

// TestEngineFailedRunReportsEveryFailure: with the directory and Teams
// both failing, the report names both, not only the error that stopped
// the run.
func TestEngineFailedRunReportsEveryFailure(t *testing.T) {
	seed := &emulator.Seed{Users: seedUsers("ann")}
	r := newRig(t, seed, dirOf(map[string][]string{"platform": {"ann"}}))
	r.cfg.Groups = []config.Mapping{{Source: "corp", From: "platform", To: "Platform"}}
	r.src.err = errors.New("ldap: connection refused")
	r.api = &groupsDown{teamsAPI: r.client}
	res := r.run(false)
	errs := strings.Join(res.Report.Errors, "\n")
	if res.ExitCode != exitcode.Failure || len(res.Report.Errors) != 2 || !strings.Contains(errs, "connection refused") || !strings.Contains(errs, "503") {
		t.Errorf("exit %d, errors:\n%s\nwant the source's and Teams' failures", res.ExitCode, errs)
	}
	if !res.Report.NothingCompared || strings.Contains(res.Report.SummaryLine(), "Teams matches") {
		t.Errorf("a run that could not plan: nothing_compared %v, summary %q", res.Report.NothingCompared, res.Report.SummaryLine())
	}
	r.src.err, r.api = nil, r.client
	if res := r.run(false); res.Report.NothingCompared {
		t.Errorf("a run that planned says nothing_compared (errors %v)", res.Report.Errors)
	}
}

// groupsDown fails the group listing as an unavailable API would.
type groupsDown struct{ teamsAPI }

func (groupsDown) ListRosters(context.Context) ([]teams.Roster, error) {
	return nil, &teams.Error{Method: "GET", Route: "/user-groups", Status: 503, Kind: teams.ErrServer}
}

// TestDescriptionUpdateShowsOldAndNew: the report's update_group change
// carries the description Teams has and the one the config sets.
func TestDescriptionUpdateShowsOldAndNew(t *testing.T) {
	seed := &emulator.Seed{Users: seedUsers("ann"),
		UserGroups: []emulator.SeedGroup{{ID: 100, Name: "SRE", Description: "Hand-written", UserIDs: []int{10}}}}
	r := newRig(t, seed, dirOf(map[string][]string{"sre": {"ann"}}))
	r.cfg.Groups = []config.Mapping{{Source: "corp", From: "sre", To: "SRE", Description: "Synced from LDAP"}}
	res := r.run(false)
	var got *report.Description
	for _, c := range res.Report.Changes {
		if c.Kind == report.KindUpdateGroup {
			got = c.Description
		}
	}
	if got == nil || got.Old != "Hand-written" || got.New != "Synced from LDAP" {
		t.Errorf("update_group description = %+v, want Hand-written → Synced from LDAP (changes %+v)", got, res.Report.Changes)
	}
}

// teamsAPI is both halves of the client, as tests hand it to the engine;
// a test narrows one method by embedding it.
type teamsAPI interface {
	Reader
	Writer
}

// writerIf is w for an applying run, nil (a dry run) otherwise.
func writerIf(apply bool, w Writer) Writer {
	if !apply {
		return nil
	}
	return w
}

// A member with no e-mail address cannot be matched: the run says so, once
// per person, naming where the address may be instead.
func TestMembersWithoutEmailAreNamed(t *testing.T) {
	dir := dirOf(map[string][]string{"platform": {"ann", "bob"}})
	dir.Users["bob"].Emails = nil
	dir.Users["bob"].DN = "cn=bob,ou=people,dc=example,dc=com"
	r := newRig(t, &emulator.Seed{Users: seedUsers("ann", "bob")}, dir)
	r.cfg.Groups = []config.Mapping{{Source: "corp", From: "platform", To: "Platform"}}
	core, logs := observer.New(zap.WarnLevel)
	r.log = zap.New(core)
	r.run(false)
	lines := logs.FilterMessageSnippet("have no e-mail address").All()
	if len(lines) != 1 || !strings.Contains(fmt.Sprint(lines[0].ContextMap()["first"]), "BOB (cn=bob,ou=people,dc=example,dc=com, in Platform)") {
		t.Errorf("warnings %v, want one naming bob", logs.All())
	}
}

package sync

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/syncd/syncd/internal/config"
	"github.com/syncd/syncd/internal/exitcode"
	"github.com/syncd/syncd/internal/report"
	"github.com/syncd/syncd/internal/state"
	"github.com/syncd/syncd/internal/teams"
	"github.com/syncd/syncd/internal/teams/emulator"
	"github.com/syncd/syncd/internal/teams/faultproxy"
)

// faultRig is newRig with a fault-injecting proxy between the engine's
// client and the emulator.
func faultRig(t *testing.T, seed *emulator.Seed, groups map[string][]string, rules ...faultproxy.Rule) (*rig, *faultproxy.Proxy) {
	t.Helper()
	seed.Tokens = []emulator.SeedToken{{Token: "tok", Admin: true, Write: true}}
	emu, err := emulator.New(seed, emulator.Options{NoThrottle: true})
	if err != nil {
		t.Fatal(err)
	}
	p := faultproxy.New(emu, rules...)
	srv := httptest.NewServer(p)
	t.Cleanup(srv.Close)
	r := rigFor(t, emu, srv, dirOf(groups))
	// No waiting between retries: the faults are the test, not the clock.
	client, err := teams.New(teams.Options{BaseURL: srv.URL + "/api/v3", Token: "tok", HTTPClient: srv.Client(), MaxRetries: -1})
	if err != nil {
		t.Fatal(err)
	}
	r.client, r.api = client, client
	return r, p
}

// noDuplicates fails when two Teams groups share a name (case-insensitive):
// the API cannot delete one, so a duplicate is damage for good.
func noDuplicates(t *testing.T, emu *emulator.Emulator) {
	t.Helper()
	seen := map[string]int{}
	for _, g := range emu.Snapshot().UserGroups {
		k := strings.ToLower(g.Name)
		if seen[k]++; seen[k] > 1 {
			t.Errorf("two Teams groups are named %q", g.Name)
		}
	}
}

// TestIncompleteGroupListingCreatesNothing: a group listing that is not
// provably complete (an empty 200, items null or empty while totalCount
// says 6) stops the run before anything is created (DESIGN.md §8 rule 6):
// before, syncd created all 6 managed groups a second time, exit 0.
func TestIncompleteGroupListingCreatesNothing(t *testing.T) {
	for name, fault := range map[string]faultproxy.Fault{
		"empty body":  faultproxy.EmptyBody(),
		"items null":  faultproxy.NullItems(),
		"items empty": faultproxy.EmptyItems(),
		"items gone":  faultproxy.NoItems(),
	} {
		t.Run(name, func(t *testing.T) {
			seed := &emulator.Seed{Users: seedUsers("ann")}
			dirGroups := map[string][]string{}
			for i := range 6 {
				n := fmt.Sprintf("team%d", i)
				seed.UserGroups = append(seed.UserGroups, emulator.SeedGroup{ID: 100 + i, Name: "Team " + n, UserIDs: []int{10}})
				dirGroups[n] = []string{"ann"}
			}
			r, p := faultRig(t, seed, dirGroups, faultproxy.Rule{Method: "GET", Path: "/user-groups", Times: -1, Fault: fault})
			r.cfg.Groups = []config.Mapping{{Source: "corp", Match: "team*", To: "Team {name}"}}
			res := r.run(true)
			if res.ExitCode != exitcode.Failure || r.emu.WriteCount() != 0 || p.Applied() == 0 {
				t.Errorf("exit %d, %d writes, %d faults; want exit 1 and nothing written", res.ExitCode, r.emu.WriteCount(), p.Applied())
			}
			noDuplicates(t, r.emu)
			if errs := strings.Join(res.Report.Errors, "\n"); !strings.Contains(errs, "nothing is created or removed on its evidence") {
				t.Errorf("errors do not say why:\n%s", errs)
			}
		})
	}
}

// TestGroupDeletedWhileListing: one of 107 groups is deleted in the UI
// while the run reads page 1, shifting page 2 by one. The listing is read
// again rather than trusted: "Developers" is not created a second time.
func TestGroupDeletedWhileListing(t *testing.T) {
	seed := &emulator.Seed{Users: seedUsers("ann")}
	for i := range 106 {
		seed.UserGroups = append(seed.UserGroups, emulator.SeedGroup{ID: 1000 + i, Name: fmt.Sprintf("A%03d", i)})
	}
	seed.UserGroups = append(seed.UserGroups, emulator.SeedGroup{ID: 2000, Name: "Developers", UserIDs: []int{10}})
	r, _ := faultRig(t, seed, map[string][]string{"devs": {"ann"}},
		faultproxy.Rule{Method: "GET", Path: "/user-groups", Page: 1, Fault: faultproxy.Hide(1000)})
	r.cfg.Groups = []config.Mapping{{Source: "corp", From: "devs", To: "Developers"}}
	res := r.run(true)
	if res.ExitCode != exitcode.OK || r.emu.Count("POST", "/user-groups") != 0 {
		t.Errorf("exit %d, %d creates; want 0 and none: %v", res.ExitCode, r.emu.Count("POST", "/user-groups"), res.Report.Errors)
	}
	noDuplicates(t, r.emu)
}

// TestIncompleteUserListingRemovesNobody: a GET /users page answered with
// no items while the run matches people by listing (cold cache) leaves
// those people unknown: nobody is removed from "Everyone Big" on that
// evidence, and the run exits 1, not 4.
func TestIncompleteUserListingRemovesNobody(t *testing.T) {
	var names []string
	var ids []int
	for i := range 130 {
		names = append(names, fmt.Sprintf("p%03d", i))
		ids = append(ids, 10+i)
	}
	seed := &emulator.Seed{Users: seedUsers(names...), UserGroups: []emulator.SeedGroup{{ID: 100, Name: "Everyone Big", UserIDs: ids}}}
	r, p := faultRig(t, seed, map[string][]string{"everyone": names},
		faultproxy.Rule{Method: "GET", Path: "/users", Page: 2, Times: -1, Fault: faultproxy.EmptyItems()})
	r.cfg.Groups = []config.Mapping{{Source: "corp", From: "everyone", To: "Everyone Big"}}
	res := r.run(true)
	if got := members(t, r.emu, "Everyone Big"); !slices.Equal(got, ids) || p.Applied() == 0 {
		t.Errorf("Everyone Big has %d members, want all %d kept (%d faults)", len(got), len(ids), p.Applied())
	}
	if res.ExitCode != exitcode.Failure || len(res.Report.Pending) != 0 {
		t.Errorf("exit %d, %d pending; want 1 and none pending: %v", res.ExitCode, len(res.Report.Pending), res.Report.Errors)
	}
}

// TestIncompleteSMEsChangeNothing: a tag's SMEs answered 200 with an empty
// body are unknown: no SME change for that tag, exit 1. They are read with
// the tag (GET /tags/{id}); a tag answer without them is followed by the
// SME read, which may fail the same way.
func TestIncompleteSMEsChangeNothing(t *testing.T) {
	for name, rules := range map[string][]faultproxy.Rule{
		"tag read empty": {{Method: "GET", Path: "/tags/*", Times: -1, Fault: faultproxy.EmptyBody()}},
		"tag without SMEs, SME read empty": {
			{Method: "GET", Path: "/tags/*", Times: -1, Fault: faultproxy.Rewrite(func(d map[string]any) { delete(d, "subjectMatterExperts") })},
			{Method: "GET", Path: "/tags/*/subject-matter-experts", Times: -1, Fault: faultproxy.EmptyBody()},
		},
	} {
		t.Run(name, func(t *testing.T) {
			seed := &emulator.Seed{SMEEnabled: true, Users: seedUsers("ann", "bob"), Tags: []emulator.SeedTag{{ID: 5, Name: "go", SMEUserIDs: []int{11}}}}
			r, p := faultRig(t, seed, map[string][]string{"gophers": {"ann"}}, rules...)
			r.cfg.SMEs = []config.SME{{Tag: "go", UsersFrom: []config.GroupRef{{Source: "corp", Group: "gophers"}}}}
			res := r.run(true)
			if users, _ := r.emu.TagSMEs("go"); !slices.Equal(users, []int{11}) || res.ExitCode != exitcode.Failure || p.Applied() < len(rules) {
				t.Errorf("SMEs %v, exit %d, %d faults; want bob kept, nothing changed, exit 1", users, res.ExitCode, p.Applied())
			}
		})
	}
}

// createInUI creates a group the way an admin in the Teams UI would, while
// the run is under way.
func createInUI(t *testing.T, emu *emulator.Emulator, name string) func() {
	return func() {
		req := httptest.NewRequest("POST", "/api/v3/user-groups", strings.NewReader(`{"name":"`+name+`"}`))
		req.Header.Set("Authorization", "Bearer tok")
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		emu.ServeHTTP(rec, req)
		if rec.Code != 201 {
			t.Errorf("create %q in the UI: %d %s", name, rec.Code, rec.Body)
		}
	}
}

// TestCreateOnFreshEvidence: a group is created only when a complete
// listing taken just before the first create shows no group of its name
// (DESIGN.md §8 rule 7). One created in the UI after the run's first
// listing ("developers", another case) is not created again; a re-listing
// that cannot be read creates nothing.
func TestCreateOnFreshEvidence(t *testing.T) {
	seed := func() *emulator.Seed { return &emulator.Seed{Users: seedUsers("ann")} }
	groups := map[string][]string{"devs": {"ann"}, "ops": {"ann"}}
	mappings := []config.Mapping{{Source: "corp", From: "devs", To: "Developers"}, {Source: "corp", From: "ops", To: "Ops"}}

	r, p := faultRig(t, seed(), groups)
	p.Add(faultproxy.Rule{Method: "GET", Path: "/user-groups", Nth: 2, Fault: faultproxy.Before(createInUI(t, r.emu, "developers"))})
	r.cfg.Groups = mappings
	res := r.run(true)
	noDuplicates(t, r.emu)
	if _, ok := r.emu.GroupByName("Ops"); !ok || res.ExitCode != exitcode.Failure || r.emu.Count("GET", "/user-groups") != 2 {
		t.Errorf("exit %d, %d listings, Ops created %v; want Ops created, Developers not, exit 1", res.ExitCode,
			r.emu.Count("GET", "/user-groups"), ok)
	}
	if errs := failedChanges(res); !strings.Contains(errs, "a user group of that name already exists") {
		t.Errorf("failed changes do not say why: %s", errs)
	}
	r.emu.ResetLog()
	if res := r.run(true); res.ExitCode != exitcode.OK || r.emu.Count("POST", "/user-groups") != 0 {
		t.Errorf("next run: exit %d, %d creates; want the UI's group used: %v", res.ExitCode, r.emu.Count("POST", "/user-groups"), res.Report.Errors)
	}
	noDuplicates(t, r.emu)

	r, _ = faultRig(t, seed(), groups, faultproxy.Rule{Method: "GET", Path: "/user-groups", Nth: 2, Fault: faultproxy.EmptyBody()})
	r.cfg.Groups = mappings
	res = r.run(true)
	if res.ExitCode != exitcode.Failure || r.emu.Count("POST", "/user-groups") != 0 {
		t.Errorf("re-listing unreadable: exit %d, %d creates; want 1 and none", res.ExitCode, r.emu.Count("POST", "/user-groups"))
	}
	if errs := failedChanges(res); !strings.Contains(errs, "listing the user groups again before the first create failed") {
		t.Errorf("failed changes do not say why: %s", errs)
	}
}

func failedChanges(res *Result) string {
	var out []string
	for _, c := range res.Report.Changes {
		if c.Status == "failed" {
			out = append(out, c.Group+": "+c.Error)
		}
	}
	return strings.Join(out, "\n")
}

// TestUnconfirmedWritesAreReadBack: a write answered 200 with an empty
// body is not "applied" until a read shows it landed; one that did not
// land is not counted as applied, and the next run finishes it.
func TestUnconfirmedWritesAreReadBack(t *testing.T) {
	seed := func() *emulator.Seed {
		return &emulator.Seed{SMEEnabled: true, Users: seedUsers("ann", "bob"),
			UserGroups: []emulator.SeedGroup{{ID: 100, Name: "Platform", UserIDs: []int{10}}},
			Tags:       []emulator.SeedTag{{ID: 5, Name: "go"}}}
	}
	groups := map[string][]string{"platform": {"ann", "bob"}, "gophers": {"bob"}}
	setup := func(r *rig) {
		r.cfg.Groups = []config.Mapping{{Source: "corp", From: "platform", To: "Platform"}}
		r.cfg.SMEs = []config.SME{{Tag: "go", UsersFrom: []config.GroupRef{{Source: "corp", Group: "gophers"}}}}
	}
	writes := []faultproxy.Rule{{Method: "POST", Path: "/user-groups/*/members"}, {Method: "POST", Path: "/tags/*/subject-matter-experts/users"}}

	landed := slices.Clone(writes)
	for i := range landed {
		landed[i].Fault = faultproxy.Applied(faultproxy.EmptyBody())
	}
	r, _ := faultRig(t, seed(), groups, landed...)
	setup(r)
	res := r.run(true)
	if res.ExitCode != exitcode.OK || res.Report.Summary.ChangesApplied != 2 {
		t.Errorf("writes that landed: exit %d, %d applied; want 0 and 2: %v", res.ExitCode, res.Report.Summary.ChangesApplied, res.Report.Changes)
	}
	if r.emu.Count("GET", "/user-groups/{userGroupId}") != 1 || r.emu.Count("GET", "/tags/{tagId}/subject-matter-experts") != 1 {
		t.Errorf("want one read back of each write: %v", r.emu.Requests())
	}

	lost := slices.Clone(writes)
	for i := range lost {
		lost[i].Fault = faultproxy.EmptyBody() // answered, never forwarded
	}
	r, _ = faultRig(t, seed(), groups, lost...)
	setup(r)
	core, logs := observer.New(zap.ErrorLevel)
	r.log = zap.New(core)
	res = r.run(true)
	if n := logs.FilterMessageSnippet("Sent, outcome unknown: add 1 user to user group \"Platform\"").Len(); n != 1 {
		t.Errorf("%d log lines say the add's outcome is unknown, want 1 (as its audit line): %v", n, logs.All())
	}
	if res.ExitCode != exitcode.Failure || res.Report.Summary.ChangesApplied != 0 || res.Report.Summary.ChangesFailed != 2 {
		t.Errorf("writes that did not land: exit %d, summary %+v; want 1 and both failed", res.ExitCode, res.Report.Summary)
	}
	if f := failedChanges(res); !strings.Contains(f, "could not be read") || !strings.Contains(f, "outcome unknown") {
		t.Errorf("failed changes do not say why: %s", f)
	}
	if res := r.run(true); res.ExitCode != exitcode.OK || !slices.Equal(members(t, r.emu, "Platform"), []int{10, 11}) {
		t.Errorf("next run: exit %d, Platform %v; want bob added", res.ExitCode, members(t, r.emu, "Platform"))
	}
	if users, _ := r.emu.TagSMEs("go"); !slices.Equal(users, []int{11}) {
		t.Errorf("next run: go SMEs %v, want bob", users)
	}
}

// TestUnconfirmedRemovalsAreReadBack: under managed membership, a removal
// answered 200 with an empty body by something that never passed it on
// is a failure, and syncd still knows it added the person: the next run
// removes them. Before, the removal was reported applied, the ledger
// forgot the person, and they stayed in the group and the SME list for
// good. Found by TestRandomFaultsDoNoHarm.
func TestUnconfirmedRemovalsAreReadBack(t *testing.T) {
	seed := &emulator.Seed{SMEEnabled: true, Users: seedUsers("ann", "bob"),
		UserGroups: []emulator.SeedGroup{{ID: 100, Name: "Platform", UserIDs: []int{10}}},
		Tags:       []emulator.SeedTag{{ID: 5, Name: "go"}}}
	r, p := faultRig(t, seed, map[string][]string{"platform": {"ann", "bob"}, "gophers": {"ann", "bob"}})
	r.cfg.Sync.Membership = "managed"
	r.cfg.Groups = []config.Mapping{{Source: "corp", From: "platform", To: "Platform"}}
	r.cfg.SMEs = []config.SME{{Tag: "go", UsersFrom: []config.GroupRef{{Source: "corp", Group: "gophers"}}}}
	if res := r.run(true); res.ExitCode != exitcode.OK {
		t.Fatalf("first run: exit %d: %v", res.ExitCode, res.Report.Errors)
	}
	r.src.dir = dirOf(map[string][]string{"platform": {"ann"}, "gophers": {"ann"}})
	p.Add(faultproxy.Rule{Method: "DELETE", Times: 2, Fault: faultproxy.EmptyBody()}) // both removals
	res := r.run(true)
	if res.ExitCode != exitcode.Failure || res.Report.Summary.ChangesApplied != 0 || res.Report.Summary.ChangesFailed != 2 {
		t.Errorf("removals answered but not passed on: exit %d, summary %+v; want 1 and both failed", res.ExitCode, res.Report.Summary)
	}
	if got := members(t, r.emu, "Platform"); !slices.Equal(got, []int{10, 11}) {
		t.Fatalf("Platform %v: the removal was not passed on", got)
	}
	if res := r.run(true); res.ExitCode != exitcode.OK || !slices.Equal(members(t, r.emu, "Platform"), []int{10}) {
		t.Errorf("next run: exit %d, Platform %v; want bob removed", res.ExitCode, members(t, r.emu, "Platform"))
	}
	if users, _ := r.emu.TagSMEs("go"); !slices.Equal(users, []int{10}) {
		t.Errorf("next run: go SMEs %v, want bob removed", users)
	}
}

// A full replace (PUT) is built from a read taken just before it, not from
// the listing the plan came from: someone an admin adds in Teams while
// the run is under way stays, in add-only mode too, and the PUT removes
// exactly the planned removals. Before, the PUT dropped them unreported.
func TestReplaceKeepsWhatChangedInTeamsMeanwhile(t *testing.T) {
	seed := func() *emulator.Seed {
		return &emulator.Seed{SMEEnabled: true, Users: seedUsers("ann", "bob", "cat", "dan", "eve", "fay"),
			UserGroups: []emulator.SeedGroup{{ID: 100, Name: "Platform", UserIDs: []int{10, 11}}},
			Tags:       []emulator.SeedTag{{ID: 5, Name: "go", SMEUserIDs: []int{13}}}}
	}
	groups := map[string][]string{"platform": {"ann", "cat"}, "gophers": {"bob", "cat"}}
	for _, membership := range []string{"exact", "add-only"} {
		t.Run(membership, func(t *testing.T) {
			r, p := faultRig(t, seed(), groups)
			r.cfg.Sync.Membership = membership
			r.cfg.Groups = []config.Mapping{{Source: "corp", From: "platform", To: "Platform", Description: "from LDAP"}}
			r.cfg.SMEs = []config.SME{{Tag: "go", UsersFrom: []config.GroupRef{{Source: "corp", Group: "gophers"}}, Groups: []string{"Platform"}}}
			// After the run's reads and before its writes, an admin adds
			// fay (15) to Platform and eve (14) as an SME of go.
			p.Add(faultproxy.Rule{Method: "GET", Path: "/users", Fault: faultproxy.Before(func() {
				r.emu.SetGroupMembers(100, []int{10, 11, 15})
				r.emu.SetTagSMEs("go", []int{13, 14}, nil)
			})})
			res := r.run(true)
			if res.ExitCode != exitcode.OK {
				t.Fatalf("exit %d: %v %v", res.ExitCode, res.Report.Errors, failedChanges(res))
			}
			// The description forces a PUT of the group; the SMEs take one
			// where there are removals too.
			if r.emu.Count("PUT", "/user-groups/{userGroupId}") != 1 ||
				(membership == "exact") != (r.emu.Count("PUT", "/tags/{tagId}/subject-matter-experts") == 1) {
				t.Fatalf("PUTs: %v", r.emu.Requests())
			}
			wantPlatform, wantSMEs := []int{10, 12, 15}, []int{11, 12, 14}
			if membership == "add-only" {
				wantPlatform, wantSMEs = []int{10, 11, 12, 15}, []int{11, 12, 13, 14}
			}
			if got := members(t, r.emu, "Platform"); !slices.Equal(got, wantPlatform) {
				t.Errorf("Platform = %v, want %v (fay, added in Teams meanwhile, kept)", got, wantPlatform)
			}
			users, _ := r.emu.TagSMEs("go")
			if slices.Sort(users); !slices.Equal(users, wantSMEs) {
				t.Errorf("go SMEs = %v, want %v (eve, added in Teams meanwhile, kept)", users, wantSMEs)
			}
		})
	}
}

// A run stopped mid-apply (SIGINT, SIGTERM) says so in its errors; the
// changes it never sent are not logged as failures of the API, and the
// next run applies them.
func TestStoppedRunSaysSo(t *testing.T) {
	seed := &emulator.Seed{Users: seedUsers("ann", "bob", "cat")}
	groups := map[string][]string{"a": {"ann"}, "b": {"bob"}, "c": {"cat"}}
	r, p := faultRig(t, seed, groups)
	r.cfg.Groups = []config.Mapping{{Source: "corp", Match: "*", To: "Team {name}"}}
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	// The first create is answered; the run is stopped as it arrives.
	p.Add(faultproxy.Rule{Method: "POST", Path: "/user-groups", Fault: faultproxy.Before(func() { cancel(errors.New("SIGINT")) })})
	core, logs := observer.New(zap.InfoLevel)
	e, err := New(Options{Config: r.cfg, Sources: []Source{r.src}, Reader: r.api, Writer: r.api, Store: r.store,
		Logger: zap.New(core), Now: func() time.Time { return r.now }})
	if err != nil {
		t.Fatal(err)
	}
	res, _ := e.RunOnce(ctx)
	if res == nil || res.ExitCode != exitcode.Failure {
		t.Fatalf("stopped run: %+v, want exit 1", res)
	}
	// Three creates: the first answered, the second cut before it was
	// sent, the third never tried.
	if errs := strings.Join(res.Report.Errors, "\n"); !strings.Contains(errs, "the run was stopped (SIGINT) with 2 of its 3 steps not attempted") {
		t.Errorf("errors %q, want the stop named with its count", res.Report.Errors)
	}
	for _, c := range res.Report.Changes {
		if strings.Count(c.Error, "not attempted") > 1 {
			t.Errorf("change error %q says it twice", c.Error)
		}
	}
	if n := logs.FilterMessageSnippet("Failed to create").Len(); n != 0 {
		t.Errorf("%d 'Failed to create' lines for creates never sent: %v", n, logs.All())
	}
	if again := r.run(true); again.ExitCode != exitcode.OK {
		t.Errorf("next run: exit %d, errors %v", again.ExitCode, again.Report.Errors)
	}
	for _, name := range []string{"Team a", "Team b", "Team c"} {
		if _, ok := r.emu.GroupByName(name); !ok {
			t.Errorf("%s not created by the next run", name)
		}
	}
	noDuplicates(t, r.emu)
}

// A group renamed in Teams between the run's reads and its full replace is
// not renamed back by the PUT (which carries the name): the change fails,
// naming the rename, and nothing is written to the group.
func TestReplaceRefusesAGroupRenamedMeanwhile(t *testing.T) {
	seed := &emulator.Seed{Users: seedUsers("ann", "bob", "cat"),
		UserGroups: []emulator.SeedGroup{{ID: 100, Name: "Platform", UserIDs: []int{10, 11, 12}}}}
	r, p := faultRig(t, seed, map[string][]string{"platform": {"ann"}})
	r.cfg.Groups = []config.Mapping{{Source: "corp", From: "platform", To: "Platform", Description: "from LDAP"}}
	p.Add(faultproxy.Rule{Method: "GET", Path: "/users", Fault: faultproxy.Before(func() { r.emu.RenameGroup(100, "Platform (old)") })})
	res := r.run(true)
	if res.ExitCode != exitcode.Failure || !strings.Contains(failedChanges(res), "renamed in Teams during the run") {
		t.Fatalf("exit %d, failed %s; want 1 naming the rename", res.ExitCode, failedChanges(res))
	}
	if g, ok := r.emu.GroupByName("Platform (old)"); !ok || len(g.UserIDs) != 3 || r.emu.Count("PUT", "/user-groups/{userGroupId}") != 0 {
		t.Errorf("group %+v after the run, PUTs %d; want it untouched", g, r.emu.Count("PUT", "/user-groups/{userGroupId}"))
	}
}

// A run stopped while it waits for the API's throttle to let its next
// write through has recorded nothing of that write: it never left, so no
// later run puts it in the audit log as "sent, outcome unknown".
func TestStoppedWhileThrottledRecordsNothing(t *testing.T) {
	seed := &emulator.Seed{Users: seedUsers("ann", "bob"), Tokens: []emulator.SeedToken{{Token: "tok", Admin: true, Write: true}}}
	emu, err := emulator.New(seed, emulator.Options{BurstLimit: 6, BurstWindow: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(emu)
	t.Cleanup(srv.Close)
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	client, err := teams.New(teams.Options{BaseURL: srv.URL + "/api/v3", Token: "tok", HTTPClient: srv.Client(),
		Sleep: func(context.Context, time.Duration) error { cancel(errors.New("SIGTERM")); return ctx.Err() }})
	if err != nil {
		t.Fatal(err)
	}
	r := rigFor(t, emu, srv, dirOf(map[string][]string{"a": {"ann"}, "b": {"bob"}, "c": {"ann", "bob"}}))
	dir := t.TempDir()
	if r.store, err = state.Open(dir); err != nil {
		t.Fatal(err)
	}
	r.cfg.Groups = []config.Mapping{{Source: "corp", Match: "*", To: "Team {name}"}}
	e, err := New(Options{Config: r.cfg, Sources: []Source{r.src}, Reader: client, Writer: client, Store: r.store,
		Logger: zap.NewNop(), Now: func() time.Time { return r.now }})
	if err != nil {
		t.Fatal(err)
	}
	if res, _ := e.RunOnce(ctx); res == nil || res.ExitCode != exitcode.Failure {
		t.Fatalf("run stopped while throttled: %+v, want exit 1", res)
	}
	written := r.emu.WriteCount()
	n, err := r.store.Recover(e.target(), r.now)
	if err != nil || n != 0 {
		t.Errorf("writes left under way: %d (%v), want none: the write waiting for the throttle was not sent", n, err)
	}
	lines, _ := state.ReadAuditSince(dir, time.Time{}, nil)
	if len(lines) != written {
		t.Errorf("%d audit lines for %d writes the API received: %+v", len(lines), written, lines)
	}
}

// A write refused for the token (403) stops the writes after it: the
// steps never tried are failed, whatever their kind, and never reported
// or logged as applied.
func TestStepsAfterAForbiddenWriteAreNotApplied(t *testing.T) {
	seed := &emulator.Seed{SMEEnabled: true, Users: seedUsers("ann", "bob"),
		UserGroups: []emulator.SeedGroup{{ID: 100, Name: "Platform", UserIDs: []int{10}}},
		Tags:       []emulator.SeedTag{{ID: 5, Name: "go"}}}
	r, p := faultRig(t, seed, map[string][]string{"platform": {"ann", "bob"}, "gophers": {"ann", "bob"}})
	r.cfg.Groups = []config.Mapping{{Source: "corp", From: "platform", To: "Platform"}}
	r.cfg.SMEs = []config.SME{{Tag: "go", UsersFrom: []config.GroupRef{{Source: "corp", Group: "gophers"}}}}
	p.Add(faultproxy.Rule{Method: "POST", Path: "/user-groups/*/members", Fault: faultproxy.Answer(403, "application/problem+json", `{"status":403,"title":"Forbidden"}`)})
	res := r.run(true)
	if res.ExitCode != exitcode.Failure {
		t.Fatalf("exit %d, want 1", res.ExitCode)
	}
	for _, c := range res.Report.Changes {
		if c.Status == report.StatusApplied {
			t.Errorf("%s %s%s reported applied after the 403", c.Kind, c.Group, c.Tag)
		}
	}
	if users, _ := r.emu.TagSMEs("go"); len(users) != 0 || r.emu.Count("POST", "/tags/{tagId}/subject-matter-experts/users") != 0 {
		t.Errorf("SMEs %v: want none written after the 403", users)
	}
}

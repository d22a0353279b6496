package sync

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/syncd/syncd/internal/config"
	"github.com/syncd/syncd/internal/exitcode"
	"github.com/syncd/syncd/internal/teams/emulator"
	"github.com/syncd/syncd/internal/teams/faultproxy"
	"github.com/syncd/syncd/internal/teams/teamstest"
)

// Tests of what the state dir remembers between runs (tag ids, user
// ids) going stale in Teams.

// tagRig: tag "go" (id 5, SME ann) and tag "golang" (id 6, no SMEs); the
// SMEs of "go" come from the directory group gophers. A first run caches
// go = 5.
func tagRig(t *testing.T, gophers ...string) (*rig, *faultproxy.Proxy) {
	seed := &emulator.Seed{SMEEnabled: true, Users: seedUsers("ann", "bob", "cat"),
		Tags: []emulator.SeedTag{{ID: 5, Name: "go", SMEUserIDs: []int{10}}, {ID: 6, Name: "golang"}}}
	r, p := faultRig(t, seed, map[string][]string{"gophers": {"ann"}})
	r.cfg.SMEs = []config.SME{{Tag: "go", UsersFrom: []config.GroupRef{{Source: "corp", Group: "gophers"}}}}
	if res := r.run(true); res.ExitCode != exitcode.OK || r.store.TagID("go") != 5 {
		t.Fatalf("first run: exit %d, cached id of go %d: %v", res.ExitCode, r.store.TagID("go"), res.Report.Errors)
	}
	r.src.dir = dirOf(map[string][]string{"gophers": gophers})
	return r, p
}

// TestRenamedTagIsNotWritten: the tag id cached for "go" is checked to
// still carry that name before anything is written to it (DESIGN.md §8
// rule 4). After an admin renames tag 5 to "golang-old" and tag 6 to
// "go", the SMEs of "go" go to tag 6 and tag 5 keeps its own. Before, the
// cached id was written to unchecked: ann lost her place as an SME of
// golang-old, a tag the config does not name.
func TestRenamedTagIsNotWritten(t *testing.T) {
	r, _ := tagRig(t, "bob")
	r.emu.RenameTag(5, "golang-old")
	r.emu.RenameTag(6, "go")
	res := r.run(true)
	if res.ExitCode != exitcode.OK {
		t.Fatalf("exit %d: %v %s", res.ExitCode, res.Report.Errors, failedChanges(res))
	}
	if old, _ := r.emu.TagSMEs("golang-old"); !slices.Equal(old, []int{10}) {
		t.Errorf("SMEs of golang-old (tag 5) = %v, want [10] untouched", old)
	}
	if now, _ := r.emu.TagSMEs("go"); !slices.Equal(now, []int{11}) {
		t.Errorf("SMEs of go (tag 6) = %v, want bob [11]", now)
	}
	if id := r.store.TagID("go"); id != 6 {
		t.Errorf("cached id of go = %d, want 6", id)
	}
	// The steady run costs what it did: one read of the tag, its SMEs
	// with it.
	r.src.dir = dirOf(map[string][]string{"gophers": {"bob"}})
	if res := r.run(true); res.ExitCode != exitcode.OK || r.emu.Count("GET", "/tags/{tagId}") != 1 ||
		r.emu.Count("GET", "/tags") != 0 || r.emu.Count("GET", "/tags/{tagId}/subject-matter-experts") != 0 {
		t.Errorf("steady run: exit %d, calls %v; want one GET /tags/{tagId}", res.ExitCode, r.emu.Requests())
	}
}

// TestRenamedTagWithoutSuccessor: the cached tag renamed and no tag named
// "go" left: the tag is reported missing and nothing is written.
func TestRenamedTagWithoutSuccessor(t *testing.T) {
	r, _ := tagRig(t, "bob")
	r.emu.RenameTag(5, "golang-old")
	res := r.run(true)
	if res.ExitCode != exitcode.Failure || r.emu.WriteCount() != 0 {
		t.Errorf("exit %d, %d writes; want 1 and none", res.ExitCode, r.emu.WriteCount())
	}
	if errs := strings.Join(res.Report.Errors, "\n"); !strings.Contains(errs, `tag "go": no such tag in Teams`) {
		t.Errorf("errors do not say the tag is missing:\n%s", errs)
	}
	if old, _ := r.emu.TagSMEs("golang-old"); !slices.Equal(old, []int{10}) {
		t.Errorf("SMEs of golang-old = %v, want [10] untouched", old)
	}
	if id := r.store.TagID("go"); id != 0 {
		t.Errorf("cached id of go = %d, want it forgotten", id)
	}
}

// TestTagRenamedDuringRun: a full replace of a tag's SMEs reads the tag
// just before the PUT; renamed since the run's read, it is not written.
func TestTagRenamedDuringRun(t *testing.T) {
	r, p := tagRig(t, "cat")
	// Add cat, remove ann and bob: more calls one by one than a read and
	// a PUT, so a PUT.
	r.emu.SetTagSMEs("go", []int{10, 11}, nil)
	p.Add(faultproxy.Rule{Method: "GET", Path: "/tags/*", Nth: 2, Fault: faultproxy.Before(func() { r.emu.RenameTag(5, "golang-old") })})
	res := r.run(true)
	if r.emu.Count("PUT", "/tags/{tagId}/subject-matter-experts") != 0 || r.emu.Count("GET", "/tags/{tagId}") != 2 {
		t.Fatalf("calls %v; want the tag read again and no PUT", r.emu.Requests())
	}
	if old, _ := r.emu.TagSMEs("golang-old"); !slices.Equal(old, []int{10, 11}) {
		t.Errorf("SMEs of golang-old = %v, want [10 11] untouched", old)
	}
	if res.ExitCode != exitcode.Failure || !strings.Contains(failedChanges(res), `is named "golang-old" in Teams now`) {
		t.Errorf("exit %d, failed changes %q; want 1 and the rename named", res.ExitCode, failedChanges(res))
	}
}

// dupSeed: carol has two Teams accounts whose addresses differ only in
// case, 13 (old) and 450 (new, in Platform and an SME of go); which one a
// listing by reputation shows first depends on newRep.
func dupSeed(newRep int) *emulator.Seed {
	return &emulator.Seed{SMEEnabled: true,
		Users: []emulator.SeedUser{{ID: 1, Name: "Community"}, {ID: 10, Name: "ANN", Email: "ann@example.com", Reputation: 5},
			{ID: 13, Name: "Carol", Email: "Carol@Example.com", Reputation: 10},
			{ID: 450, Name: "Carol (new)", Email: "carol@example.com", Reputation: newRep}},
		UserGroups: []emulator.SeedGroup{{ID: 100, Name: "Platform", UserIDs: []int{10, 450}}},
		Tags:       []emulator.SeedTag{{ID: 5, Name: "go", SMEUserIDs: []int{450}}}}
}

// TestSameAddressTwoAccounts: two Teams accounts whose addresses are equal
// ignoring case make that address ambiguous (QA F4): carol is matched to
// neither, reported, not pending, and neither account is removed or added
// anywhere, whichever the listing shows first. Before, she was matched by
// listing order: with the old account first, the new one was removed from
// Platform and replaced as the SME of go, flipping as the order changed.
func TestSameAddressTwoAccounts(t *testing.T) {
	for _, newRep := range []int{1, 20} {
		t.Run(fmt.Sprintf("new account reputation %d", newRep), func(t *testing.T) {
			r := newRig(t, dupSeed(newRep), dirOf(map[string][]string{"platform": {"ann", "carol"}, "gophers": {"carol"}}))
			r.cfg.Groups = []config.Mapping{{Source: "corp", From: "platform", To: "Platform"}}
			r.cfg.SMEs = []config.SME{{Tag: "go", UsersFrom: []config.GroupRef{{Source: "corp", Group: "gophers"}}}}
			res := r.run(true)
			if r.emu.WriteCount() != 0 || len(res.Report.Changes) != 0 {
				t.Errorf("%d writes, changes %+v; want none", r.emu.WriteCount(), res.Report.Changes)
			}
			if got := members(t, r.emu, "Platform"); !slices.Equal(got, []int{10, 450}) {
				t.Errorf("Platform = %v, want [10 450]", got)
			}
			if users, _ := r.emu.TagSMEs("go"); !slices.Equal(users, []int{450}) {
				t.Errorf("SMEs of go = %v, want [450]", users)
			}
			errs := strings.Join(res.Report.Errors, "\n")
			if res.ExitCode != exitcode.Failure || !strings.Contains(errs, "CAROL (carol@example.com): the address matches 2 Teams users (ids 13, 450); matched to none") {
				t.Errorf("exit %d, errors:\n%s\nwant 1 and carol named ambiguous", res.ExitCode, errs)
			}
			if len(res.Report.Pending) != 0 {
				t.Errorf("pending %v, want none: carol has accounts", res.Report.Pending)
			}
			if c := r.store.UserIDs([]string{"carol@example.com"}); len(c) != 0 {
				t.Errorf("cached %v for the ambiguous address, want nothing", c)
			}
		})
	}
}

// reseed points the rig at a new emulator holding seed, keeping its
// state: Teams changed between runs.
func (r *rig) reseed(seed *emulator.Seed, o emulator.Options) {
	r.t.Helper()
	seed.Tokens = []emulator.SeedToken{{Token: "tok", Admin: true, Write: true}}
	o.NoThrottle = true
	emu, srv := teamstest.NewServer(r.t, seed, o)
	next := rigFor(r.t, emu, srv, r.src.dir)
	r.emu, r.client, r.api = next.emu, next.client, next.client
}

// recreatedSeed is Teams after carol's account 13 was deleted and made
// again as 450 (same address, new id): 450 is in Platform and an SME of
// go when inGroups. zed (14) left the directory and is still in Platform.
func recreatedSeed(inGroups bool) *emulator.Seed {
	s := &emulator.Seed{SMEEnabled: true,
		Users: []emulator.SeedUser{{ID: 1, Name: "Community"}, {ID: 10, Name: "ANN", Email: "ann@example.com"},
			{ID: 14, Name: "ZED", Email: "Zed@Example.com"}, {ID: 450, Name: "Carol", Email: "carol@example.com"}},
		UserGroups: []emulator.SeedGroup{{ID: 100, Name: "Platform", UserIDs: []int{10, 14}}},
		Tags:       []emulator.SeedTag{{ID: 5, Name: "go"}}}
	if inGroups {
		s.UserGroups[0].UserIDs = append(s.UserGroups[0].UserIDs, 450)
		s.Tags[0].SMEUserIDs = []int{450}
	}
	return s
}

// carolRig: a first run caches carol = 13 and makes her a member of
// Platform and an SME of go; then her account is deleted and created
// again (recreatedSeed).
func carolRig(t *testing.T, inGroups bool, o emulator.Options) *rig {
	seed := &emulator.Seed{SMEEnabled: true,
		Users: []emulator.SeedUser{{ID: 1, Name: "Community"}, {ID: 10, Name: "ANN", Email: "ann@example.com"},
			{ID: 13, Name: "Carol", Email: "Carol@Example.com"}, {ID: 14, Name: "ZED", Email: "Zed@Example.com"}},
		UserGroups: []emulator.SeedGroup{{ID: 100, Name: "Platform", UserIDs: []int{10, 13}}},
		Tags:       []emulator.SeedTag{{ID: 5, Name: "go"}}}
	r := newRig(t, seed, dirOf(map[string][]string{"platform": {"ann", "carol"}, "gophers": {"carol"}}))
	r.cfg.Groups = []config.Mapping{{Source: "corp", From: "platform", To: "Platform"}}
	r.cfg.SMEs = []config.SME{{Tag: "go", UsersFrom: []config.GroupRef{{Source: "corp", Group: "gophers"}}}}
	if res := r.run(true); res.ExitCode != exitcode.OK || r.store.UserIDs([]string{"carol@example.com"})["carol@example.com"] != 13 {
		t.Fatalf("first run: exit %d, cache %v: %v", res.ExitCode, r.store.UserIDs([]string{"carol@example.com"}), res.Report.Errors)
	}
	r.reseed(recreatedSeed(inGroups), o)
	return r
}

// TestRecreatedAccountIsNotRemoved (QA F2): carol's cached id 13 is dead;
// her new account 450 is in Platform and an SME of go. 450 is no one the
// run matched, but before it is removed it is read: on a large site by id
// (GET /users/450), its address is carol's, so her cached id is read too
// (GET /users/13: gone); on a small one, one users listing costs less
// and checks every cached id at once. Either way she is matched to 450
// and nothing of hers is written; zed, who left, is removed and reported
// with his address. Before, the plan replaced 450 with the dead id: 450
// was removed from Platform and as an SME of go.
func TestRecreatedAccountIsNotRemoved(t *testing.T) {
	for _, site := range []struct {
		name           string
		users          int // Teams users the state remembers
		byID, listings int // the calls the check costs
	}{{"large site: lookups by id", 10000, 2, 0}, {"small site: one listing", 4, 0, 1}} {
		t.Run(site.name, func(t *testing.T) {
			r := carolRig(t, true, emulator.Options{})
			_ = r.store.PutMeta(metaTeamsUsers, site.users)
			res := runKeepsCarol(t, r)
			if r.emu.Count("GET", "/users/{userId}") != site.byID || r.emu.Count("GET", "/users") != site.listings {
				t.Errorf("calls %v; want %d GET /users/{id} and %d listings", r.emu.Requests(), site.byID, site.listings)
			}
			if len(res.Report.Changes) != 1 || res.Report.Changes[0].Kind != "remove_members" ||
				res.Report.Changes[0].Users[0].ID != 14 || res.Report.Changes[0].Users[0].Email != "zed@example.com" {
				t.Errorf("changes %+v; want zed's removal alone, with his address", res.Report.Changes)
			}
			// The next run knows everyone: no lookups, nothing to do.
			if res := r.run(true); res.ExitCode != exitcode.OK || r.emu.WriteCount() != 0 || len(r.emu.Requests()) != 2 {
				t.Errorf("next run: exit %d, calls %v; want the group listing and the tag read alone", res.ExitCode, r.emu.Requests())
			}
		})
	}
}

// runKeepsCarol applies, and checks that carol's live account 450 is in
// Platform and an SME of go, and cached as hers.
func runKeepsCarol(t *testing.T, r *rig) *Result {
	t.Helper()
	res := r.run(true)
	if res.ExitCode != exitcode.OK {
		t.Fatalf("exit %d: %v %s", res.ExitCode, res.Report.Errors, failedChanges(res))
	}
	if got := members(t, r.emu, "Platform"); !slices.Equal(got, []int{10, 450}) {
		t.Errorf("Platform = %v, want [10 450]: carol's live account", got)
	}
	if users, _ := r.emu.TagSMEs("go"); !slices.Equal(users, []int{450}) {
		t.Errorf("SMEs of go = %v, want [450]", users)
	}
	if id := r.store.UserIDs([]string{"carol@example.com"})["carol@example.com"]; id != 450 {
		t.Errorf("carol cached as %d, want 450", id)
	}
	return res
}

// TestRefusedStaleIDIsLookedUpAgain (QA F2): carol's cached id 13 is dead
// and her new account 450 is in no group, so no listing shows it; the add
// of 13 is refused, with 404 or with 400 naming the user (REFERENCE.md
// §9.5), the cached id is forgotten, carol looked up by e-mail and the
// add sent again with 450. Before, a 400 was not taken for a stale id:
// the add failed in this run and every later one.
func TestRefusedStaleIDIsLookedUpAgain(t *testing.T) {
	// 200: the API ignores the unknown id and answers with the members
	// after the add, without it (the third reading of §9.5): the answer
	// shows it, and it is taken as a refusal.
	for _, status := range []int{404, 400, 200} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			r := carolRig(t, false, emulator.Options{UnknownUserStatus: status})
			res := runKeepsCarol(t, r)
			for _, c := range res.Report.Changes {
				for _, u := range c.Users {
					if u.Email == "carol@example.com" && u.ID != 450 {
						t.Errorf("%s reports carol as %d, want 450, the account the write added (as the audit log says)", c.Kind, u.ID)
					}
				}
			}
			if res := r.run(true); res.ExitCode != exitcode.OK || r.emu.WriteCount() != 0 {
				t.Errorf("next run: exit %d, %d writes; want nothing to do", res.ExitCode, r.emu.WriteCount())
			}
		})
	}
}

// TestSameAddressFoundByEmail (QA F4, by-email): carol is matched by a
// by-email lookup, which names one of her two accounts (13); the other
// (450) is in Platform and would be removed. Before that, it is read: its
// address is carol's too, so she is ambiguous and neither is removed.
func TestSameAddressFoundByEmail(t *testing.T) {
	r := newRig(t, dupSeed(1), dirOf(map[string][]string{"platform": {"ann", "carol"}}))
	r.cfg.Groups = []config.Mapping{{Source: "corp", From: "platform", To: "Platform"}}
	_ = r.store.PutMeta(metaTeamsUsers, 10000) // a listing would cost more than two lookups
	res := r.run(true)
	if got := members(t, r.emu, "Platform"); !slices.Equal(got, []int{10, 450}) || r.emu.WriteCount() != 0 {
		t.Errorf("Platform = %v after %d writes, want [10 450] untouched", got, r.emu.WriteCount())
	}
	if r.emu.Count("GET", "/users/by-email/{email}") == 0 || r.emu.Count("GET", "/users") != 0 {
		t.Errorf("calls %v: want by-email lookups, no listing", r.emu.Requests())
	}
	errs := strings.Join(res.Report.Errors, "\n")
	if res.ExitCode != exitcode.Failure || !strings.Contains(errs, "the address matches 2 Teams users (ids 13, 450)") {
		t.Errorf("exit %d, errors:\n%s\nwant 1 and carol named ambiguous", res.ExitCode, errs)
	}
}

// TestStrangerLookupFails: an account the plan would remove cannot be
// read (503 after the retries): who it is is unknown, so it is removed
// from nothing this run (DESIGN.md §8 rule 6), the additions go on, and
// the run exits 1 saying why.
func TestStrangerLookupFails(t *testing.T) {
	seed := &emulator.Seed{Users: seedUsers("ann", "bob", "cat", "zed"),
		UserGroups: []emulator.SeedGroup{{ID: 100, Name: "Platform", UserIDs: []int{10, 13}}}}
	r, p := faultRig(t, seed, map[string][]string{"platform": {"ann", "bob"}},
		faultproxy.Rule{Method: "GET", Path: "/users/*", Times: -1, Fault: faultproxy.Status(503)})
	r.cfg.Groups = []config.Mapping{{Source: "corp", From: "platform", To: "Platform"}}
	_ = r.store.PutMeta(metaTeamsUsers, 10000) // lookups, not a listing
	res := r.run(true)
	if got := members(t, r.emu, "Platform"); !slices.Equal(got, []int{10, 11, 13}) || p.Applied() == 0 {
		t.Errorf("Platform = %v (%d faults), want bob added and zed kept", got, p.Applied())
	}
	errs := strings.Join(res.Report.Errors, "\n")
	if res.ExitCode != exitcode.Failure || !strings.Contains(errs, "Teams user 13 could not be looked up before removing it") {
		t.Errorf("exit %d, errors:\n%s\nwant 1 and zed named", res.ExitCode, errs)
	}
}

package sync

import (
	"context"
	"errors"
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
	"github.com/syncd/syncd/internal/teams/faultproxy"
)

// watchRig is one watching engine over the emulator and a directory held
// in memory, kept across runs as the daemon keeps it.
type watchRig struct {
	*rig
	eng *Engine
}

func newWatchRig(t *testing.T, seed *emulator.Seed, dir *directory.Directory, mappings ...config.Mapping) *watchRig {
	t.Helper()
	r := newRig(t, seed, dir)
	r.cfg.Groups = mappings
	r.cfg.Sync.MaxRemovalPercent = 50
	store, err := state.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	r.store = store
	return &watchRig{rig: r}
}

// engine builds the watching engine on first use.
func (w *watchRig) engine() *Engine {
	w.t.Helper()
	if w.eng == nil {
		e, err := New(Options{Config: w.cfg, Sources: []Source{w.src}, Reader: w.api, Writer: w.api, Store: w.store,
			Logger: zap.NewNop(), Now: time.Now, Watch: true})
		if err != nil {
			w.t.Fatal(err)
		}
		w.eng = e
	}
	return w.eng
}

// full runs a scheduled run, which incremental runs compare with.
func (w *watchRig) full() *Result {
	w.t.Helper()
	res, err := w.engine().RunOnce(context.Background())
	if err != nil || res.ExitCode != 0 {
		w.t.Fatalf("full run: exit %d, %v, errors %v", res.ExitCode, err, res.Report.Errors)
	}
	return res
}

// changes runs a change set of source corp and returns its result with
// the requests it made.
func (w *watchRig) changes() (*ChangeResult, []emulator.Request) {
	w.t.Helper()
	w.emu.ResetLog()
	res, err := w.engine().RunChanges(context.Background(), ChangeSet{Sources: []string{"corp"}, Seen: time.Now()})
	if err != nil {
		w.t.Fatalf("RunChanges: %v", err)
	}
	return res, w.emu.Requests()
}

func routes(reqs []emulator.Request) []string {
	var out []string
	for _, r := range reqs {
		out = append(out, r.Method+" "+r.Route)
	}
	return out
}

func platformMapping() config.Mapping {
	return config.Mapping{Source: "corp", From: "platform", To: "Platform"}
}

// An engine that has not planned a full run yet has nothing to compare a
// change with: it asks for a full run and calls nothing.
func TestChangesBeforeAFullRunAskForOne(t *testing.T) {
	w := newWatchRig(t, &emulator.Seed{Users: seedUsers("ann")}, dirOf(map[string][]string{"platform": {"ann"}}), platformMapping())
	res, reqs := w.changes()
	if res.NeedFull == "" || len(reqs) != 0 {
		t.Errorf("NeedFull %q after %v; want a full run asked for and no call", res.NeedFull, routes(reqs))
	}
	if _, err := (&Engine{}).RunChanges(context.Background(), ChangeSet{}); !errors.Is(err, ErrNoWatch) {
		t.Errorf("an engine without Watch: %v", err)
	}
}

// A member added in the directory is added with the group's fresh read
// and one write (plus one lookup for someone not matched yet); groups the
// change does not reach are not read at all.
func TestChangesAddAndRemoveTouchOnlyTheirGroup(t *testing.T) {
	seed := &emulator.Seed{Users: seedUsers("ann", "bob", "cat"),
		UserGroups: []emulator.SeedGroup{{ID: 100, Name: "Platform"}, {ID: 101, Name: "Data"}}}
	w := newWatchRig(t, seed, dirOf(map[string][]string{"platform": {"ann", "bob"}, "data": {"cat"}}),
		platformMapping(), config.Mapping{Source: "corp", From: "data", To: "Data"})
	w.full()

	// dan signs in to Teams and joins platform: the group's read, one
	// lookup (dan was not matched before: by e-mail, or here, with four
	// Teams users, the one page of the user listing), one write.
	w.emu.AddUser(emulator.SeedUser{ID: 13, Name: "DAN", Email: "dan@example.com"})
	w.src.dir = dirOf(map[string][]string{"platform": {"ann", "bob", "dan"}, "data": {"cat"}})
	res, reqs := w.changes()
	want := []string{"GET /user-groups/{userGroupId}", "GET /users", "POST /user-groups/{userGroupId}/members"}
	if got := routes(reqs); !slices.Equal(got, want) || res.ExitCode != 0 {
		t.Errorf("add: calls %v exit %d errors %v; want %v", got, res.ExitCode, res.Report.Errors, want)
	}
	if got := members(t, w.emu, "Platform"); !slices.Equal(got, []int{10, 11, 13}) {
		t.Errorf("Platform after the add: %v", got)
	}
	if !slices.Equal(res.Touched, []string{"Platform"}) || res.Report.Summary.ChangesApplied != 1 {
		t.Errorf("touched %v, summary %+v", res.Touched, res.Report.Summary)
	}

	w.src.dir = dirOf(map[string][]string{"platform": {"ann", "dan"}, "data": {"cat"}})
	_, reqs = w.changes()
	want = []string{"GET /user-groups/{userGroupId}", "DELETE /user-groups/{userGroupId}/members/{userId}"}
	if got := routes(reqs); !slices.Equal(got, want) {
		t.Errorf("remove: calls %v, want %v", got, want)
	}
	if got := members(t, w.emu, "Platform"); !slices.Equal(got, []int{10, 13}) {
		t.Errorf("Platform after the removal: %v", got)
	}

	// Same directory again: nothing is touched, nothing is called.
	res, reqs = w.changes()
	if len(reqs) != 0 || len(res.Touched) != 0 {
		t.Errorf("unchanged directory: touched %v, calls %v", res.Touched, routes(reqs))
	}
	lines, err := state.ReadAudit(w.store.Dir(), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	var audited []string
	for _, l := range lines {
		if l.Group == "Platform" {
			audited = append(audited, l.Kind+" "+l.Result)
		}
	}
	if !slices.Contains(audited, "add_members applied") || !slices.Contains(audited, "remove_members applied") {
		t.Errorf("audit log of Platform: %v; want the incremental add and removal", audited)
	}
}

// nestedDir is eng holding platform as a subgroup; only eng is mapped.
func nestedDir(platform ...string) *directory.Directory {
	d := dirOf(map[string][]string{"platform": platform, "eng": {"ann"}})
	d.Group("eng").Subgroups = []string{d.Group("platform").DN}
	d.Expand()
	return d
}

// A member added to a nested group changes the group above it.
func TestChangesReachThroughNesting(t *testing.T) {
	w := newWatchRig(t, &emulator.Seed{Users: seedUsers("ann", "bob", "cat")}, nestedDir("bob"),
		config.Mapping{Source: "corp", From: "eng", To: "Engineering"})
	w.full()
	w.src.dir = nestedDir("bob", "cat")
	res, _ := w.changes()
	if got := members(t, w.emu, "Engineering"); !slices.Equal(got, []int{10, 11, 12}) || !slices.Equal(res.Touched, []string{"Engineering"}) {
		t.Errorf("Engineering %v, touched %v; want cat added through platform", got, res.Touched)
	}
}

// A changed e-mail address matches another Teams account: the old one is
// removed, the new one added. A disabled account (left out by the reader)
// is removed.
func TestChangesEmailAndDisabled(t *testing.T) {
	seed := &emulator.Seed{Users: append(seedUsers("ann", "bob", "cat"), emulator.SeedUser{ID: 20, Name: "Bob New", Email: "robert@example.com"})}
	w := newWatchRig(t, seed, dirOf(map[string][]string{"platform": {"ann", "bob", "cat"}}), platformMapping())
	w.full()
	d := dirOf(map[string][]string{"platform": {"ann", "bob", "cat"}})
	d.Users["bob"].Emails = []string{"robert@example.com"}
	w.src.dir = d
	w.changes()
	if got := members(t, w.emu, "Platform"); !slices.Equal(got, []int{10, 12, 20}) {
		t.Errorf("after the e-mail change: %v, want bob's old account out and the new one in", got)
	}
	d = dirOf(map[string][]string{"platform": {"ann", "bob"}})
	d.Users["bob"].Emails = []string{"robert@example.com"}
	w.src.dir = d // cat disabled: the reader no longer returns the account
	w.changes()
	if got := members(t, w.emu, "Platform"); !slices.Equal(got, []int{10, 20}) {
		t.Errorf("after cat was disabled: %v", got)
	}
}

// A directory group that disappears, or cannot be read completely, makes
// its Teams group unknown: no removal, an error, exit 1 — as in a full run.
func TestChangesDeletedOrUnreadGroupRemovesNobody(t *testing.T) {
	w := newWatchRig(t, &emulator.Seed{Users: seedUsers("ann", "bob")}, dirOf(map[string][]string{"platform": {"ann", "bob"}}), platformMapping())
	w.full()
	w.src.dir = dirOf(map[string][]string{"other": {"ann"}})
	res, reqs := w.changes()
	if got := members(t, w.emu, "Platform"); !slices.Equal(got, []int{10, 11}) || w.emu.WriteCount() != 0 {
		t.Errorf("deleted group: Platform %v after %v; want untouched", got, routes(reqs))
	}
	if res.ExitCode != exitcode.Failure || !strings.Contains(strings.Join(res.Report.Errors, "\n"), `"platform" not found`) {
		t.Errorf("deleted group: exit %d errors %v", res.ExitCode, res.Report.Errors)
	}
	d := dirOf(map[string][]string{"platform": {"ann"}})
	d.Group("platform").Err = errors.New("size limit exceeded")
	w.src.dir = d
	res, _ = w.changes()
	if got := members(t, w.emu, "Platform"); !slices.Equal(got, []int{10, 11}) || res.ExitCode != exitcode.Failure {
		t.Errorf("unknown group: Platform %v exit %d; want untouched, exit 1", got, res.ExitCode)
	}
}

// The group is read afresh before writing: an edit made by hand in Teams
// since the last full run is seen (here a member removed in the UI comes
// back with the new one), where a cached copy would miss it.
func TestChangesReadTeamsAfresh(t *testing.T) {
	w := newWatchRig(t, &emulator.Seed{Users: seedUsers("ann", "bob", "cat")}, dirOf(map[string][]string{"platform": {"ann", "bob"}}), platformMapping())
	w.full()
	w.emu.SetGroupMembers(mustGroup(t, w.emu, "Platform"), []int{10}) // bob removed by hand
	w.src.dir = dirOf(map[string][]string{"platform": {"ann", "bob", "cat"}})
	w.changes()
	if got := members(t, w.emu, "Platform"); !slices.Equal(got, []int{10, 11, 12}) {
		t.Errorf("Platform %v; want bob back and cat added", got)
	}
}

// A mapping whose Teams group does not exist is not created by a change
// set: a full run is asked for, which creates it on a fresh listing.
func TestChangesLeaveCreatesToAFullRun(t *testing.T) {
	w := newWatchRig(t, &emulator.Seed{Users: seedUsers("ann", "bob")}, dirOf(map[string][]string{"team-a": {"ann"}}),
		config.Mapping{Source: "corp", Match: "team-*", To: "Team {name}"})
	w.full()
	w.src.dir = dirOf(map[string][]string{"team-a": {"ann"}, "team-b": {"bob"}})
	res, reqs := w.changes()
	if _, ok := w.emu.GroupByName("Team team-b"); ok || !strings.Contains(res.NeedFull, "Team team-b") {
		t.Errorf("a change set created a group, or asked no full run (%q) after %v", res.NeedFull, routes(reqs))
	}
	if got := routes(reqs); !slices.Equal(got, []string{"GET /user-groups"}) {
		t.Errorf("calls %v; want the one listing that shows the group missing", got)
	}
	w.full() // the full run creates it; the next change set writes to it
	w.src.dir = dirOf(map[string][]string{"team-a": {"ann"}, "team-b": {"bob", "ann"}})
	res, _ = w.changes()
	if got := members(t, w.emu, "Team team-b"); !slices.Equal(got, []int{10, 11}) || res.NeedFull != "" {
		t.Errorf("Team team-b %v, NeedFull %q", got, res.NeedFull)
	}
}

// A source that cannot be read fails the change set and keeps the base:
// the change is planned at the next attempt, not lost.
func TestChangesSurviveAFailedRead(t *testing.T) {
	w := newWatchRig(t, &emulator.Seed{Users: seedUsers("ann", "bob")}, dirOf(map[string][]string{"platform": {"ann"}}), platformMapping())
	w.full()
	w.src.err = errors.New("connection refused")
	if _, err := w.engine().RunChanges(context.Background(), ChangeSet{Sources: []string{"corp"}}); err == nil {
		t.Fatal("a failed read did not fail the change set")
	}
	w.src.err = nil
	w.src.dir = dirOf(map[string][]string{"platform": {"ann", "bob"}})
	w.changes()
	if got := members(t, w.emu, "Platform"); !slices.Equal(got, []int{10, 11}) {
		t.Errorf("Platform %v after the read came back", got)
	}
}

// The budgets hold per change set: a change removing most of a group is
// held (exit 4) and nobody is removed. The change set asks for a full
// run, which reports the hold where an operator sees and approves it (a
// change set's report is kept nowhere).
func TestChangesKeepTheBudgets(t *testing.T) {
	w := newWatchRig(t, &emulator.Seed{Users: seedUsers("ann", "bob", "cat", "dan")}, dirOf(map[string][]string{"platform": {"ann", "bob", "cat", "dan"}}), platformMapping())
	core, logs := observer.New(zap.InfoLevel)
	w.engine().log = zap.New(core)
	w.full()
	w.src.dir = dirOf(map[string][]string{"platform": {"ann"}})
	res, _ := w.changes()
	if got := logs.FilterMessage("change set held changes back").Len(); got != 1 || logs.FilterMessage("change set applied").Len() != 0 {
		t.Errorf("%d lines say the change set held changes back; want 1, and none that it was applied", got)
	}
	if got := members(t, w.emu, "Platform"); res.ExitCode != exitcode.Held || len(got) != 4 {
		t.Errorf("exit %d, Platform %v; want held, nobody removed", res.ExitCode, got)
	}
	if !strings.Contains(res.NeedFull, "held") {
		t.Errorf("a change set that held changes asks for no full run (NeedFull %q)", res.NeedFull)
	}
}

// flakyAdd fails the first add of members, as a refused request would.
type flakyAdd struct {
	*teams.Client
	failures int
}

func (f *flakyAdd) AddUserGroupMembers(ctx context.Context, id int, ids []int) (*teams.Roster, error) {
	if f.failures > 0 {
		f.failures--
		return nil, &teams.Error{Status: 400, Method: "POST", Route: "/user-groups/{userGroupId}/members"}
	}
	return f.Client.AddUserGroupMembers(ctx, id, ids)
}

// A change that failed is planned again with the next change set, even
// one that does not touch its group.
func TestChangesRetryWhatFailed(t *testing.T) {
	w := newWatchRig(t, &emulator.Seed{Users: seedUsers("ann", "bob", "cat")}, dirOf(map[string][]string{"platform": {"ann"}, "data": {"cat"}}),
		platformMapping(), config.Mapping{Source: "corp", From: "data", To: "Data"})
	w.full()
	w.api = &flakyAdd{Client: w.client, failures: 1}
	w.eng = nil
	w.full()
	w.src.dir = dirOf(map[string][]string{"platform": {"ann", "bob"}, "data": {"cat"}})
	res, _ := w.changes()
	if res.Report.Summary.ChangesFailed != 1 {
		t.Fatalf("summary %+v; want the add failed", res.Report.Summary)
	}
	if !res.Unfinished {
		t.Error("a change set with a failed add says it is finished")
	}
	w.src.dir = dirOf(map[string][]string{"platform": {"ann", "bob"}, "data": {}})
	res, _ = w.changes()
	if got := members(t, w.emu, "Platform"); !slices.Equal(got, []int{10, 11}) || !slices.Contains(res.Touched, "Platform") {
		t.Errorf("Platform %v, touched %v; want the failed add made again", got, res.Touched)
	}
	if res.Unfinished {
		t.Error("the change set that made the add again says it is unfinished")
	}
}

// An SME rule is re-planned when its directory group changes: the tag's
// SMEs are read (its id cached by the full run, bob matched by its user
// listing) and one write made.
func TestChangesSMEs(t *testing.T) {
	seed := &emulator.Seed{SMEEnabled: true, Users: seedUsers("ann", "bob"), Tags: []emulator.SeedTag{{ID: 5, Name: "kubernetes"}}}
	w := newWatchRig(t, seed, dirOf(map[string][]string{"k8s": {"ann"}}))
	w.cfg.SMEs = []config.SME{{Tag: "kubernetes", UsersFrom: []config.GroupRef{{Source: "corp", Group: "k8s"}}}}
	w.full()
	w.src.dir = dirOf(map[string][]string{"k8s": {"ann", "bob"}})
	res, reqs := w.changes()
	users, _ := w.emu.TagSMEs("kubernetes")
	if !slices.Equal(users, []int{10, 11}) || !slices.Equal(res.Touched, []string{"tag kubernetes"}) {
		t.Errorf("SMEs %v touched %v", users, res.Touched)
	}
	want := []string{"GET /tags/{tagId}", "POST /tags/{tagId}/subject-matter-experts/users"}
	if got := routes(reqs); !slices.Equal(got, want) {
		t.Errorf("calls %v, want %v", got, want)
	}
}

// A watching engine without a writer is a dry run: it says what it would
// do and writes nothing.
func TestChangesDryRun(t *testing.T) {
	seed := &emulator.Seed{Users: seedUsers("ann", "bob"), UserGroups: []emulator.SeedGroup{{ID: 100, Name: "Platform"}}}
	w := newWatchRig(t, seed, dirOf(map[string][]string{"platform": {"ann"}}), platformMapping())
	e, err := New(Options{Config: w.cfg, Sources: []Source{w.src}, Reader: w.api, Store: w.store, Logger: zap.NewNop(), Watch: true})
	if err != nil {
		t.Fatal(err)
	}
	w.eng = e
	if _, err := e.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	w.src.dir = dirOf(map[string][]string{"platform": {"ann", "bob"}})
	res, _ := w.changes()
	if w.emu.WriteCount() != 0 || res.Report.Mode != report.ModeDryRun || res.Report.Summary.ChangesPlanned == 0 {
		t.Errorf("dry run: %d writes, mode %s, summary %+v", w.emu.WriteCount(), res.Report.Mode, res.Report.Summary)
	}
}

// A change set whose lookup of a tag's SME group fails says so and leaves
// the tag to the next change set, which finishes it; before, it said the
// group was not known in Teams and asked for a full run. The group here
// was made in Teams after the full run, which found it missing.
func TestChangesSMEGroupLookupFails(t *testing.T) {
	seed := &emulator.Seed{SMEEnabled: true, Users: seedUsers("ann", "bob"), Tags: []emulator.SeedTag{{ID: 5, Name: "kubernetes"}}}
	r, p := faultRig(t, seed, map[string][]string{"k8s": {"ann"}})
	r.cfg.SMEs = []config.SME{{Tag: "kubernetes", UsersFrom: []config.GroupRef{{Source: "corp", Group: "k8s"}}, Groups: []string{"Security"}}}
	w := &watchRig{rig: r}
	if res, err := w.engine().RunOnce(context.Background()); err != nil || !strings.Contains(strings.Join(res.Report.Errors, "\n"), "Security") {
		t.Fatalf("full run: %v, errors %v; want the missing SME group named", err, res.Report.Errors)
	}
	if _, err := r.client.CreateUserGroup(context.Background(), teams.UserGroupRequest{Name: "Security"}); err != nil {
		t.Fatal(err)
	}
	w.src.dir = dirOf(map[string][]string{"k8s": {"ann", "bob"}})
	p.Add(faultproxy.Rule{Method: "GET", Path: "/user-groups", Fault: faultproxy.Status(503)})
	res, _ := w.changes()
	errs := strings.Join(res.Report.Errors, "\n")
	if res.NeedFull != "" || !res.Unfinished || !strings.Contains(errs, `look up its SME group "Security"`) || !strings.Contains(errs, "503") {
		t.Errorf("NeedFull %q, unfinished %v, errors:\n%s\nwant the failed lookup named, the tag left to the next change set", res.NeedFull, res.Unfinished, errs)
	}
	res, _ = w.changes()
	security, _ := w.emu.GroupByName("Security")
	if users, groups := w.emu.TagSMEs("kubernetes"); !slices.Equal(users, []int{10, 11}) || !slices.Equal(groups, []int{security.ID}) || res.Unfinished {
		t.Errorf("next change set: SME users %v groups %v, unfinished %v; want ann and bob, Security, finished", users, groups, res.Unfinished)
	}
}

// A group the full run created is known to the change sets after it by
// its id: they do not list every group again to find it.
func TestChangesKnowTheGroupsAFullRunCreated(t *testing.T) {
	seed := &emulator.Seed{SMEEnabled: true, Users: seedUsers("ann", "bob"), Tags: []emulator.SeedTag{{ID: 5, Name: "kubernetes"}}}
	w := newWatchRig(t, seed, dirOf(map[string][]string{"platform": {"ann"}, "k8s": {"ann"}}), platformMapping())
	w.cfg.SMEs = []config.SME{{Tag: "kubernetes", UsersFrom: []config.GroupRef{{Source: "corp", Group: "k8s"}}, Groups: []string{"Platform"}}}
	w.full()
	w.src.dir = dirOf(map[string][]string{"platform": {"ann", "bob"}, "k8s": {"ann", "bob"}})
	res, reqs := w.changes()
	if users, _ := w.emu.TagSMEs("kubernetes"); !slices.Equal(users, []int{10, 11}) || res.NeedFull != "" || res.Unfinished {
		t.Fatalf("SME users %v, NeedFull %q, unfinished %v", users, res.NeedFull, res.Unfinished)
	}
	if got := members(t, w.emu, "Platform"); !slices.Equal(got, []int{10, 11}) {
		t.Errorf("Platform %v, want ann and bob", got)
	}
	if slices.Contains(routes(reqs), "GET /user-groups") {
		t.Errorf("the change set listed every group: %v", routes(reqs))
	}
}

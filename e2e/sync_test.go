package e2e

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/syncd/syncd/internal/report"
	"github.com/syncd/syncd/internal/teams/emulator"
)

// Exit codes of DESIGN.md §4.
const (
	exitOK      = 0
	exitFailure = 1
	exitPending = 3
	exitHeld    = 4
)

// wantConverged checks Teams against the company directory after a full
// sync: Platform = alice bob (newbie pending), Data = carol dave, kubernetes
// SMEs = erin alice + group Platform; nothing unmanaged touched.
func (w *world) wantConverged() {
	w.t.Helper()
	w.wantMembers("Platform", append([]int{1}, teamsIDs("alice", "bob")...))
	w.wantMembers("Data", teamsIDs("carol", "dave"))
	w.wantMembers("Sales", teamsIDs("dave"))
	platform, _ := w.emu.GroupByName("Platform")
	if !w.cfg.NoSMEs {
		w.wantSMEs("kubernetes", teamsIDs("alice", "erin"), []int{platform.ID})
	}
	w.wantSMEs("go", teamsIDs("frank"), nil)
}

// TestSyncEndToEnd walks the main path: dry run, apply (create, add, remove,
// SME users and groups), a second run with zero writes, then a pending
// person who signs in and is added on the next run.
func TestSyncEndToEnd(t *testing.T) {
	w := newWorld(t, companySeed(), emulator.Options{}, configOptions{})
	before := w.emu.Snapshot()

	dry := w.sync()
	w.mustExit(dry, exitOK)
	if n := w.emu.WriteCount(); n != 0 {
		t.Fatalf("dry run made %d write calls", n)
	}
	if !reflectEqualSeed(before, w.emu.Snapshot()) {
		t.Fatal("dry run changed Teams")
	}
	rep := dry.report
	if rep == nil || rep.Mode != report.ModeDryRun {
		t.Fatalf("dry run report: %+v\n%s", rep, dry)
	}
	wantChange(t, rep, report.KindCreateGroup, "Data", report.StatusPlanned, "carol@example.com", "dave@example.com")
	wantChange(t, rep, report.KindAddMembers, "Platform", report.StatusPlanned, "alice@example.com")
	wantChange(t, rep, report.KindRemoveMembers, "Platform", report.StatusPlanned, "frank@example.com")
	wantChange(t, rep, report.KindAddSMEUsers, "kubernetes", report.StatusPlanned, "alice@example.com", "erin@example.com")
	wantSMEGroupChange(t, rep, report.KindAddSMEGroups, "kubernetes", report.StatusPlanned, "Platform")
	wantPending(t, rep, newbieMail, "Platform")
	if !strings.Contains(dry.stdout+dry.stderr, "dry run") {
		t.Errorf("dry run output does not say it is a dry run:\n%s", dry)
	}

	w.emu.ResetLog()
	applied := w.sync("--apply")
	w.mustExit(applied, exitOK)
	w.wantConverged()
	rep = applied.report
	if rep.Mode != report.ModeApply || rep.Summary.ChangesFailed != 0 || rep.Summary.ChangesApplied == 0 {
		t.Errorf("apply summary: %+v", rep.Summary)
	}
	wantChange(t, rep, report.KindCreateGroup, "Data", report.StatusApplied, "carol@example.com", "dave@example.com")
	wantPending(t, rep, newbieMail, "Platform")
	if got, calls := rep.Summary.APICalls, len(w.emu.Requests()); got != calls {
		t.Errorf("summary.api_calls = %d, the emulator served %d requests", got, calls)
	}
	if n := w.emu.Count("POST", "/user-groups"); n != 1 {
		t.Errorf("%d POST /user-groups, want 1 (Data created with its members in one call)", n)
	}
	t.Logf("cold apply: %d API calls, %d writes", len(w.emu.Requests()), w.emu.WriteCount())

	w.emu.ResetLog()
	again := w.sync("--apply")
	w.mustExit(again, exitOK)
	if n := w.emu.WriteCount(); n != 0 {
		t.Errorf("second run over unchanged data made %d write calls:\n%v", n, w.emu.Requests())
	}
	if len(again.report.Changes) != 0 {
		t.Errorf("second run planned changes: %+v", again.report.Changes)
	}
	t.Logf("steady state: %d API calls", len(w.emu.Requests()))

	// While newbie is pending and nobody new signs in, the negative cache
	// spares the lookups: one user count is the only /users call.
	w.emu.ResetLog()
	quiet := w.sync("--apply")
	w.mustExit(quiet, exitOK)
	if n := w.emu.Count("GET", "/users/by-email/{email}"); n != 0 || w.emu.Count("GET", "/users") != 1 {
		t.Errorf("nobody signed in: %d by-email lookups and %d /users calls, want 0 and the one count:\n%v",
			n, w.emu.Count("GET", "/users"), w.emu.Requests())
	}
	wantPending(t, quiet.report, newbieMail, "Platform")

	// newbie signs in for the first time: the user count changes, so the
	// next run asks again at once and adds them, cache window or not.
	w.emu.AddUser(emulator.SeedUser{ID: 50, Name: "New Hire", Email: newbieMail})
	w.emu.ResetLog()
	joined := w.sync("--apply")
	w.mustExit(joined, exitOK)
	if got := w.groupMembers("Platform"); !slices.Contains(got, 50) {
		t.Errorf("pending person not added once their account exists: Platform = %v\n%s", got, joined)
	}
	if len(joined.report.Pending) != 0 {
		t.Errorf("still pending after sign-in: %+v", joined.report.Pending)
	}

	w.wantNoWrites()

	// alice leaves k8s-experts: she stops being an SME of kubernetes; the
	// SME group stays.
	w.setDirectoryMembers("k8s-experts", "erin")
	w.emu.ResetLog()
	left := w.sync("--apply")
	w.mustExit(left, exitOK)
	platform, _ := w.emu.GroupByName("Platform")
	w.wantSMEs("kubernetes", teamsIDs("erin"), []int{platform.ID})
	wantChange(t, left.report, report.KindRemoveSMEUsers, "kubernetes", report.StatusApplied, "alice@example.com")
	if n := w.emu.WriteCount(); n != 1 {
		t.Errorf("one SME removal took %d write calls, want 1", n)
	}
}

// TestPendingWithoutState: with no state_dir there is no negative cache:
// a person who signs in is added by the very next run.
func TestPendingWithoutState(t *testing.T) {
	w := newWorld(t, companySeed(), emulator.Options{}, configOptions{NoStateDir: true})
	first := w.sync("--apply")
	w.mustExit(first, exitOK)
	wantPending(t, first.report, newbieMail, "Platform")
	w.wantConverged()

	w.emu.AddUser(emulator.SeedUser{ID: 50, Name: "New Hire", Email: newbieMail})
	r := w.sync("--apply")
	w.mustExit(r, exitOK)
	wantChange(t, r.report, report.KindAddMembers, "Platform", report.StatusApplied, newbieMail)
	w.wantMembers("Platform", append([]int{1}, append(teamsIDs("alice", "bob"), 50)...))

	w.wantNoWrites()
}

// TestCheck: --check exits 3 while changes are pending, 0 once in step.
func TestCheck(t *testing.T) {
	w := newWorld(t, companySeed(), emulator.Options{}, configOptions{})
	w.mustExit(w.sync("--check"), exitPending)
	if n := w.emu.WriteCount(); n != 0 {
		t.Fatalf("--check made %d write calls", n)
	}
	w.mustExit(w.sync("--apply"), exitOK)
	w.mustExit(w.sync("--check"), exitOK)
}

// TestTextReportOnTerminal: the default output is the text plan.
func TestTextReportOnTerminal(t *testing.T) {
	w := newWorld(t, companySeed(), emulator.Options{}, configOptions{})
	r := w.syncd("sync")
	w.mustExit(r, exitOK)
	for _, want := range []string{"+ Alice Martin <alice@example.com>", "- Frank Roy <frank@example.com>", newbieMail, "Plan:"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("text plan lacks %q:\n%s", want, r)
		}
	}
	for _, f := range []string{"markdown", "html"} {
		path := filepath.Join(w.dir, "report."+f)
		w.mustExit(w.syncd("sync", "--report", path, "--format", f), exitOK)
		data, err := os.ReadFile(path)
		if err != nil || !strings.Contains(string(data), "alice@example.com") {
			t.Errorf("%s report %s: %v\n%.400s", f, path, err, data)
		}
	}
}

// TestSlapdStopped: the directory is down, so every group is unknown: exit
// 1 and not a single removal.
func TestSlapdStopped(t *testing.T) {
	w := newWorld(t, companySeed(), emulator.Options{}, configOptions{})
	w.mustExit(w.sync("--apply"), exitOK)
	after := w.emu.Snapshot()
	w.ldap.Kill()
	w.emu.ResetLog()

	r := w.sync("--apply")
	w.mustExit(r, exitFailure)
	if n := w.emu.Count("DELETE", "/user-groups/{userGroupId}/members/{userId}") +
		w.emu.Count("PUT", "/user-groups/{userGroupId}") +
		w.emu.Count("DELETE", "/tags/{tagId}/subject-matter-experts/users/{userId}") +
		w.emu.Count("DELETE", "/tags/{tagId}/subject-matter-experts/user-groups/{userGroupId}") +
		w.emu.Count("PUT", "/tags/{tagId}/subject-matter-experts"); n != 0 {
		t.Errorf("%d removal or replace calls with the directory down", n)
	}
	if !reflectEqualSeed(after, w.emu.Snapshot()) {
		t.Error("Teams changed while the directory was down")
	}
	out := strings.ToLower(r.stdout + r.stderr)
	if !strings.Contains(out, "ldap") && !strings.Contains(out, "corp") {
		t.Errorf("the failure does not name the directory:\n%s", r)
	}
}

// TestShrunkGroupHeld: a directory group drops from 40 members to 1: the
// removals are held (exit 4, nothing removed) while an addition elsewhere
// goes through.
func TestShrunkGroupHeld(t *testing.T) {
	w := newWorld(t, companySeed(), emulator.Options{}, configOptions{
		ExtraGroups: "  - source: corp\n    from: big\n    to: Big\n",
	})
	w.mustExit(w.sync("--apply"), exitOK)
	w.wantMembers("Big", teamsIDs(uidsOf(bigPeople())...))

	w.setDirectoryMembers("big", "p01")
	w.setDirectoryMembers("data", "carol", "dave", "erin")
	w.emu.ResetLog()
	r := w.sync("--apply")
	w.mustExit(r, exitHeld)
	w.wantMembers("Big", teamsIDs(uidsOf(bigPeople())...))
	w.wantMembers("Data", teamsIDs("carol", "dave", "erin"))
	held := changes(r.report, report.KindRemoveMembers, "Big")
	if len(held) != 1 || held[0].Status != report.StatusHeld || len(held[0].Users) != 39 {
		t.Errorf("Big removal in the report: %+v", held)
	}
	if r.report.Summary.ChangesHeld == 0 {
		t.Errorf("summary.changes_held = 0")
	}
	if !strings.Contains(r.stdout+r.stderr, "Big") {
		t.Errorf("output does not name the held group:\n%s", r)
	}
}

// TestReadOnlyToken: a token without write access: exit 1, Teams
// unchanged, and a message that says the token is read-only.
func TestReadOnlyToken(t *testing.T) {
	w := newWorld(t, companySeed(), emulator.Options{}, configOptions{})
	w.token = tokenRO
	before := w.emu.Snapshot()
	r := w.sync("--apply")
	w.mustExit(r, exitFailure)
	if !reflectEqualSeed(before, w.emu.Snapshot()) {
		t.Error("Teams changed with a read-only token")
	}
	// A token's write access shows only on a write (403), so "zero writes"
	// means none went through, and syncd stops at the first refusal instead
	// of trying every group.
	ok, refused := w.writeLog()
	if ok != 0 {
		t.Errorf("%d writes succeeded with a read-only token", ok)
	}
	if refused > 1 {
		t.Errorf("%d write attempts refused; want syncd to stop after the first", refused)
	}
	if !strings.Contains(strings.ToLower(r.stdout+r.stderr), "read-only") {
		t.Errorf("no message says the token is read-only:\n%s", r)
	}
}

// TestSMEsDisabled: the site has SMEs off: the SME rule fails with that
// message while the groups still sync.
func TestSMEsDisabled(t *testing.T) {
	seed := companySeed()
	seed.SMEEnabled = false
	w := newWorld(t, seed, emulator.Options{}, configOptions{})
	r := w.sync("--apply")
	w.mustExit(r, exitFailure)
	w.wantMembers("Platform", append([]int{1}, teamsIDs("alice", "bob")...))
	w.wantMembers("Data", teamsIDs("carol", "dave"))
	text := strings.ToLower(r.stdout + r.stderr + strings.Join(r.report.Errors, "\n"))
	for _, c := range r.report.Changes {
		if c.Tag != "" {
			text += strings.ToLower(c.Error)
			if c.Status == report.StatusApplied {
				t.Errorf("SME change applied with SMEs disabled: %+v", c)
			}
		}
	}
	if !strings.Contains(text, "smes are not enabled") {
		t.Errorf("no message says SMEs are not enabled on this site:\n%s\nreport: %+v", r, r.report)
	}
}

// TestInjectedFaults: 10% of requests answer 5xx. Over several runs each
// failure is reported (exit 1 exactly when a change failed or the run hit
// an error), nothing unmanaged is touched, no group is duplicated, and once
// the faults stop the next run converges.
func TestInjectedFaults(t *testing.T) {
	const teamCount = 30
	w := newWorld(t, companySeed(), emulator.Options{FaultRate: 0.10, RandSeed: 7}, configOptions{TeamGroups: teamCount})
	faults, reported := 0, 0
	// At least six runs, and more (up to 20) until a fault was injected.
	for run := 0; run < 6 || faults == 0 && run < 20; run++ {
		w.emu.ResetLog()
		r := w.sync("--apply")
		if r.report == nil {
			t.Fatalf("run %d: no report:\n%s", run, r)
		}
		failed := checkFailuresReported(t, r)
		if failed > 0 || len(r.report.Errors) > 0 {
			reported++
		}
		for _, q := range w.emu.Requests() {
			if q.Status >= 500 {
				faults++
			}
		}
		if n := w.groupsNamed("Data"); n > 1 {
			t.Errorf("run %d: %d groups named Data", run, n)
		}
		w.wantMembers("Sales", teamsIDs("dave"))
		w.wantSMEs("go", teamsIDs("frank"), nil)
		t.Logf("faulty run %d: exit %d, %d changes failed, errors %q", run, r.code, failed, r.report.Errors)
	}
	if faults == 0 {
		t.Fatal("the emulator injected no fault: the test proves nothing")
	}
	t.Logf("%d requests answered 5xx; %d runs reported failures", faults, reported)

	w.emu.SetFaults(0, 0)
	w.mustExit(w.sync("--apply"), exitOK)
	w.wantConverged()
	for name, uids := range teamGroups(teamCount) {
		w.wantMembers("Team "+name, teamsIDs(uids...))
		if n := w.groupsNamed("Team " + name); n != 1 {
			t.Errorf("%d groups named %q", n, "Team "+name)
		}
	}
	w.wantNoWrites()
}

// checkFailuresReported checks that a run's failures are in its report and
// its exit code, and returns the number of failed changes.
func checkFailuresReported(t *testing.T, r result) int {
	t.Helper()
	failed := 0
	for _, c := range r.report.Changes {
		if c.Status == report.StatusFailed {
			failed++
			if c.Error == "" {
				t.Errorf("failed change without an error: %+v", c)
			}
		}
	}
	if failed != r.report.Summary.ChangesFailed {
		t.Errorf("summary.changes_failed = %d, %d changes failed", r.report.Summary.ChangesFailed, failed)
	}
	want := exitOK
	if failed > 0 || len(r.report.Errors) > 0 {
		want = exitFailure
	}
	if r.code != want {
		t.Errorf("exit %d with %d failed changes and %d errors, want %d:\n%s", r.code, failed, len(r.report.Errors), want, r)
	}
	return failed
}

// TestLostResponses: writes are applied but their answers are lost (502):
// no duplicate group, and the next runs converge.
func TestLostResponses(t *testing.T) {
	w := newWorld(t, companySeed(), emulator.Options{LostResponseRate: 1, RandSeed: 3}, configOptions{})
	r := w.sync("--apply")
	t.Logf("lost-response run: exit %d, failed %d", r.code, func() int {
		if r.report == nil {
			return -1
		}
		return r.report.Summary.ChangesFailed
	}())
	if n := w.groupsNamed("Data"); n != 1 {
		t.Errorf("%d Teams groups named Data after lost responses, want 1", n)
	}
	w.emu.SetFaults(0, 0)
	w.mustExit(w.sync("--apply"), exitOK)
	if n := w.groupsNamed("Data"); n != 1 {
		t.Errorf("%d Teams groups named Data, want 1", n)
	}
	w.wantConverged()
	w.wantNoWrites()
}

// TestLostResponsesManyGroups: 30 new groups while a third of the writes
// are applied but answered 502: each ambiguous create is adopted, never
// sent twice, so no group is duplicated; the next run converges.
func TestLostResponsesManyGroups(t *testing.T) {
	const teamCount = 30
	w := newWorld(t, companySeed(), emulator.Options{LostResponseRate: 0.3, RandSeed: 11}, configOptions{TeamGroups: teamCount})
	r := w.sync("--apply")
	if r.report == nil {
		t.Fatalf("no report:\n%s", r)
	}
	checkFailuresReported(t, r)
	lost := 0
	for _, q := range w.emu.Requests() {
		if q.Method != "GET" && q.Status == 502 {
			lost++
		}
	}
	t.Logf("first run: exit %d, %d writes answered 502, %d changes failed", r.code, lost, r.report.Summary.ChangesFailed)
	if lost == 0 {
		t.Fatal("no response was lost: the test proves nothing")
	}
	w.emu.SetFaults(0, 0)
	w.mustExit(w.sync("--apply"), exitOK)
	for name, uids := range teamGroups(teamCount) {
		if n := w.groupsNamed("Team " + name); n != 1 {
			t.Errorf("%d groups named %q, want 1", n, "Team "+name)
		}
		w.wantMembers("Team "+name, teamsIDs(uids...))
	}
	w.wantConverged()
	w.wantNoWrites()
}

// TestBadConfig: an unknown key is a usage error (exit 2) that names the
// file and line, and nothing is read or written.
func TestBadConfig(t *testing.T) {
	w := newWorld(t, companySeed(), emulator.Options{}, configOptions{})
	data, err := os.ReadFile(w.configPath())
	if err != nil {
		t.Fatal(err)
	}
	bad := strings.Replace(string(data), "  max_removal_percent:", "  max_removal_precent:", 1)
	if err := os.WriteFile(w.configPath(), []byte(bad), 0o600); err != nil {
		t.Fatal(err)
	}
	r := w.syncd("sync", "--apply")
	w.mustExit(r, 2)
	if !strings.Contains(r.stderr, "max_removal_precent") || !strings.Contains(r.stderr, "config.yaml:") {
		t.Errorf("the error does not name the key and where it is:\n%s", r)
	}
	if n := len(w.emu.Requests()); n != 0 {
		t.Errorf("%d API calls with a bad config", n)
	}
}

// TestSavedPlanRefusedAfterDrift: a plan saved with --plan-out is refused
// by `syncd apply` when someone changed a group by hand in between, and
// applied as is when nothing drifted.
func TestSavedPlanRefusedAfterDrift(t *testing.T) {
	w := newWorld(t, companySeed(), emulator.Options{}, configOptions{})
	plan := filepath.Join(w.dir, "plan.json")
	w.mustExit(w.syncd("sync", "--plan-out", plan), exitOK)
	if _, err := os.Stat(plan); err != nil {
		t.Fatalf("no plan saved: %v", err)
	}

	platform, _ := w.emu.GroupByName("Platform")
	w.emu.SetGroupMembers(platform.ID, append(platform.UserIDs, personByUID("carol").TeamsID))
	drifted := w.emu.Snapshot()
	w.emu.ResetLog()
	r := w.syncd("apply", "--plan", plan)
	w.mustExit(r, exitFailure)
	if n := w.emu.WriteCount(); n != 0 {
		t.Errorf("a drifted plan made %d write calls", n)
	}
	if !reflectEqualSeed(drifted, w.emu.Snapshot()) {
		t.Error("Teams changed although the plan was refused")
	}
	if !strings.Contains(r.stdout+r.stderr, "Platform") {
		t.Errorf("the refusal does not name what drifted:\n%s", r)
	}

	// Once the hand edit is undone, a fresh plan applies, and exactly as
	// saved: a directory change made after planning waits for the next sync.
	w.emu.SetGroupMembers(platform.ID, platform.UserIDs)
	w.mustExit(w.syncd("sync", "--plan-out", plan), exitOK)
	w.setDirectoryMembers("data", "carol", "dave", "erin")
	w.mustExit(w.syncd("apply", "--plan", plan), exitOK)
	w.wantConverged()
	w.mustExit(w.sync("--apply"), exitOK)
	w.wantMembers("Data", teamsIDs("carol", "dave", "erin"))
}

func wantChange(t *testing.T, rep *report.Report, kind, where, status string, emails ...string) {
	t.Helper()
	cs := changes(rep, kind, where)
	if len(cs) != 1 {
		t.Errorf("want one %s change for %s, got %+v", kind, where, cs)
		return
	}
	var got []string
	for _, u := range cs[0].Users {
		got = append(got, u.Email)
	}
	slices.Sort(got)
	slices.Sort(emails)
	if !slices.Equal(got, emails) || cs[0].Status != status {
		t.Errorf("%s %s: users %v status %s, want %v %s", kind, where, got, cs[0].Status, emails, status)
	}
}

func wantSMEGroupChange(t *testing.T, rep *report.Report, kind, tag, status string, groups ...string) {
	t.Helper()
	cs := changes(rep, kind, tag)
	if len(cs) != 1 || !slices.Equal(cs[0].Groups, groups) || cs[0].Status != status {
		t.Errorf("want one %s change for tag %s with groups %v (%s), got %+v", kind, tag, groups, status, cs)
	}
}

func wantPending(t *testing.T, rep *report.Report, email string, groups ...string) {
	t.Helper()
	for _, p := range rep.Pending {
		if strings.EqualFold(p.Email, email) {
			for _, g := range groups {
				if !slices.Contains(p.Groups, g) {
					t.Errorf("pending %s waits for %v, want %v among them", email, p.Groups, g)
				}
			}
			return
		}
	}
	t.Errorf("%s not pending in the report: %+v", email, rep.Pending)
}

// reflectEqualSeed compares groups and tags of two emulator states.
func reflectEqualSeed(a, b *emulator.Seed) bool {
	if len(a.UserGroups) != len(b.UserGroups) || len(a.Tags) != len(b.Tags) {
		return false
	}
	for i := range a.UserGroups {
		x, y := a.UserGroups[i], b.UserGroups[i]
		if x.ID != y.ID || x.Name != y.Name || x.Description != y.Description || !sameSet(x.UserIDs, y.UserIDs) {
			return false
		}
	}
	for i := range a.Tags {
		x, y := a.Tags[i], b.Tags[i]
		if x.ID != y.ID || !sameSet(x.SMEUserIDs, y.SMEUserIDs) || !sameSet(x.SMEGroupIDs, y.SMEGroupIDs) {
			return false
		}
	}
	return true
}

func sameSet(a, b []int) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

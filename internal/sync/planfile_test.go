package sync

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/syncd/syncd/internal/config"
	"github.com/syncd/syncd/internal/exitcode"
	"github.com/syncd/syncd/internal/plan"
	"github.com/syncd/syncd/internal/teams/emulator"
)

func (r *rig) engine(apply bool) *Engine {
	r.t.Helper()
	e, err := New(Options{Config: r.cfg, Sources: []Source{r.src}, Reader: r.api, Writer: writerIf(apply, r.api), Store: r.store,
		Logger: zap.NewNop(), Now: func() time.Time { return r.now }})
	if err != nil {
		r.t.Fatal(err)
	}
	return e
}

// savedRig plans Platform (one removal, one addition), SRE (one
// addition) and the kubernetes SMEs, and returns the plan as read back
// from its file.
func savedRig(t *testing.T) (*rig, *SavedPlan) {
	t.Helper()
	seed := &emulator.Seed{
		SMEEnabled: true,
		Users:      seedUsers("ann", "bob", "cat", "dan"),
		UserGroups: []emulator.SeedGroup{
			{ID: 100, Name: "Platform", UserIDs: []int{10, 13}},
			{ID: 101, Name: "SRE", UserIDs: []int{12}},
			{ID: 102, Name: "Design", UserIDs: []int{12}},
		},
		Tags: []emulator.SeedTag{{ID: 5, Name: "kubernetes", SMEUserIDs: []int{13}}},
	}
	dir := dirOf(map[string][]string{"platform": {"ann", "bob"}, "sre": {"cat", "dan"}, "k8s": {"ann"}})
	r := newRig(t, seed, dir)
	r.cfg.Groups = []config.Mapping{
		{Source: "corp", From: "platform", To: "Platform"},
		{Source: "corp", Match: "sr*", To: "{name}"},
	}
	r.cfg.SMEs = []config.SME{{Tag: "kubernetes", UsersFrom: []config.GroupRef{{Source: "corp", Group: "k8s"}}}}
	p, err := r.engine(false).Prepare(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := p.Save().Write(&buf); err != nil {
		t.Fatal(err)
	}
	s, err := ReadSavedPlan(&buf)
	if err != nil {
		t.Fatal(err)
	}
	return r, s
}

func (r *rig) applySaved(s *SavedPlan) (*Result, error) {
	r.t.Helper()
	r.emu.ResetLog()
	return r.engine(true).ApplySaved(context.Background(), s)
}

func TestApplySavedUnchangedConfig(t *testing.T) {
	r, s := savedRig(t)
	res, err := r.applySaved(s)
	if err != nil || res.ExitCode != exitcode.OK {
		t.Fatalf("exit %d, err %v, errors %v", res.ExitCode, err, res.Report.Errors)
	}
	if got := members(t, r.emu, "Platform"); !slices.Equal(got, []int{10, 11}) {
		t.Errorf("Platform: %v", got)
	}
	if got := members(t, r.emu, "SRE"); !slices.Equal(got, []int{12, 13}) {
		t.Errorf("SRE (through match): %v", got)
	}
}

// TestApplySavedRestrictsToConfig: even with the config fingerprint forged
// to match a narrower config, a plan that touches a group or tag that
// config does not manage is refused and nothing is written.
func TestApplySavedRestrictsToConfig(t *testing.T) {
	r, s := savedRig(t)
	r.cfg.Groups = r.cfg.Groups[:1] // Platform only
	r.cfg.SMEs = nil
	s.Config = configPrint(r.cfg)
	res, err := r.applySaved(s)
	if err == nil || res.ExitCode != exitcode.Failure {
		t.Fatalf("exit %d, err %v: want a refusal", res.ExitCode, err)
	}
	for _, want := range []string{`user group "SRE" is not managed`, `tag "kubernetes" are not managed`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("refusal lacks %q: %v", want, err)
		}
	}
	if n := r.emu.WriteCount(); n != 0 {
		t.Errorf("a refused plan made %d write calls: %v", n, r.emu.Requests())
	}

	kept, outside := restrictPlan(s.Plan, r.cfg)
	if len(outside) != 2 || len(kept.Groups) != 1 || kept.Groups[0].Name != "Platform" || len(kept.Tags) != 0 {
		t.Errorf("restrictPlan kept %+v, outside %v", kept, outside)
	}
}

// TestApplySavedChecksIDs: a plan whose group id was changed to another
// group's (fingerprint forged to match) is refused.
func TestApplySavedChecksIDs(t *testing.T) {
	r, s := savedRig(t)
	e := r.engine(true)
	for i := range s.Plan.Groups {
		if s.Plan.Groups[i].Name == "Platform" {
			s.Plan.Groups[i].ID = 102 // Design
		}
	}
	view, err := e.readCurrent(context.Background(), []string{"kubernetes"})
	if err != nil {
		t.Fatal(err)
	}
	s.Fingerprint = fingerprint(&s.Plan, view.cur)
	res, err := r.applySaved(s)
	if err == nil || res.ExitCode != exitcode.Failure || !strings.Contains(err.Error(), `"Platform" is no longer id 102`) {
		t.Fatalf("exit %d, err %v: want a refusal naming the id", res.ExitCode, err)
	}
	if n := r.emu.WriteCount(); n != 0 {
		t.Errorf("a refused plan made %d write calls", n)
	}
}

// TestApplySavedBudgets: the budgets in force hold a saved plan's
// removals; a raised budget does not release what the plan held.
func TestApplySavedBudgets(t *testing.T) {
	r, s := savedRig(t)
	r.cfg.Sync.MaxRemovals = 0
	res, err := r.applySaved(s)
	if err != nil || res.ExitCode != exitcode.Held {
		t.Fatalf("exit %d, err %v, want 4", res.ExitCode, err)
	}
	if got := members(t, r.emu, "Platform"); !slices.Equal(got, []int{10, 11, 13}) {
		t.Errorf("Platform: %v; want dan kept (held) and bob added", got)
	}
	if users, _ := r.emu.TagSMEs("kubernetes"); !slices.Contains(users, 13) || !slices.Contains(users, 10) {
		t.Errorf("kubernetes SMEs: %v; want dan kept (held) and ann added", users)
	}

	r, _ = savedRig(t)
	r.cfg.Sync.MaxRemovals = 0
	p, err := r.engine(false).Prepare(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	s = p.Save()
	r.cfg.Sync.MaxRemovals = 100
	res, err = r.applySaved(s)
	if err != nil || res.ExitCode != exitcode.Held || !slices.Contains(members(t, r.emu, "Platform"), 13) {
		t.Errorf("raised budget: exit %d, err %v, Platform %v; want the plan's hold kept", res.ExitCode, err, members(t, r.emu, "Platform"))
	}
}

func TestConfigDriftNames(t *testing.T) {
	saved := map[string]string{"group:A": "1", "group:B": "2", "tag:go": "3"}
	now := map[string]string{"group:A": "1", "group:B": "x", "tag:rust": "4"}
	got := configDrift(saved, now)
	want := []string{
		`the config no longer manages the SMEs of tag "go"`,
		`the config now also manages the SMEs of tag "rust"`,
		`the config's rules for user group "B" changed`,
	}
	if !slices.Equal(got, want) {
		t.Errorf("got %q", got)
	}
	if got := configDrift(nil, now); len(got) != 1 {
		t.Errorf("a plan without a config fingerprint: %q", got)
	}
}

// TestApplySavedRefusesEditedPlan: a plan file edited to remove five real
// members and add two outsiders (fingerprints untouched: Teams has not
// changed) applies only what the directory calls for now; the edits are
// refused by name and the run exits 1.
func TestApplySavedRefusesEditedPlan(t *testing.T) {
	seed := &emulator.Seed{
		Users:      seedUsers("ann", "bob", "cat", "dan", "eve", "fay", "gus", "out1", "out2"),
		UserGroups: []emulator.SeedGroup{{ID: 100, Name: "Platform", UserIDs: []int{10, 11, 12, 13, 14}}},
	}
	dir := dirOf(map[string][]string{"platform": {"ann", "bob", "cat", "dan", "eve", "fay"}})
	r := newRig(t, seed, dir)
	r.cfg.Groups = []config.Mapping{{Source: "corp", From: "platform", To: "Platform"}}
	p, err := r.engine(false).Prepare(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	s := p.Save()
	g := &s.Plan.Groups[0]
	if !slices.Equal(g.Add, []int{15}) || len(g.Remove) != 0 {
		t.Fatalf("plan as made: add %v remove %v; want fay (15) added only", g.Add, g.Remove)
	}
	g.Remove = []int{10, 11, 12, 13, 14} // every real member
	g.Add = []int{15, 17, 18}            // fay, and the outsiders out1, out2
	res, err := r.applySaved(s)
	if err != nil || res.ExitCode != exitcode.Failure {
		t.Fatalf("exit %d, err %v: want 1 with the edits refused", res.ExitCode, err)
	}
	if got := members(t, r.emu, "Platform"); !slices.Equal(got, []int{10, 11, 12, 13, 14, 15}) {
		t.Errorf("Platform: %v; want the five members kept and only fay added", got)
	}
	errs := strings.Join(res.Report.Errors, "\n")
	for _, want := range []string{`add user ids 17, 18 to user group "Platform"`, `remove user ids 10, 11, 12, 13, 14 from user group "Platform"`} {
		if !strings.Contains(errs, want) {
			t.Errorf("errors lack %q:\n%s", want, errs)
		}
	}
}

// TestApplySavedFollowsDirectoryNow: someone who left the directory group
// after the plan was made is not added by it, and someone now held by a
// policy is held.
func TestApplySavedFollowsDirectoryNow(t *testing.T) {
	r, s := savedRig(t)
	r.src.dir = dirOf(map[string][]string{"platform": {"ann"}, "sre": {"cat", "dan"}, "k8s": {"ann"}})
	res, err := r.applySaved(s)
	if err != nil || res.ExitCode != exitcode.Failure {
		t.Fatalf("exit %d, err %v: want 1", res.ExitCode, err)
	}
	if got := members(t, r.emu, "Platform"); !slices.Equal(got, []int{10}) {
		t.Errorf("Platform: %v; want bob not added, dan removed", got)
	}
	if !strings.Contains(strings.Join(res.Report.Errors, "\n"), `add user ids 11 to user group "Platform": no longer follows`) {
		t.Errorf("errors: %q", res.Report.Errors)
	}
}

func TestStillFollowsTags(t *testing.T) {
	saved := plan.Plan{Tags: []plan.TagPlan{{Tag: "go", ID: 5, AddUsers: []int{10, 11}, RemoveUsers: []int{12},
		AddGroups: []plan.GroupRef{{ID: 7, Name: "A"}, {Name: "New"}}, RemoveGroups: []plan.GroupRef{{ID: 8, Name: "B"}, {ID: 9, Name: "C"}}}}}
	fresh := plan.Plan{Tags: []plan.TagPlan{{Tag: "Go", ID: 5, AddUsers: []int{10}, AddGroups: []plan.GroupRef{{Name: "new"}},
		RemoveGroups: []plan.GroupRef{{ID: 8, Name: "B"}}, HeldUsers: []int{12}, HeldReason: "budget"}}}
	got, refused := stillFollows(saved, fresh)
	if len(got.Tags) != 1 {
		t.Fatalf("tags: %+v", got.Tags)
	}
	tp := got.Tags[0]
	if !slices.Equal(tp.AddUsers, []int{10}) || len(tp.RemoveUsers) != 0 || !slices.Equal(tp.HeldUsers, []int{12}) || tp.HeldReason != "budget" {
		t.Errorf("users: add %v remove %v held %v (%q)", tp.AddUsers, tp.RemoveUsers, tp.HeldUsers, tp.HeldReason)
	}
	if len(tp.AddGroups) != 1 || tp.AddGroups[0].Name != "New" || len(tp.RemoveGroups) != 1 || tp.RemoveGroups[0].ID != 8 {
		t.Errorf("groups: add %v remove %v", tp.AddGroups, tp.RemoveGroups)
	}
	want := []string{`add user ids 11 to the SMEs of tag "go"`, `add SME group "A" to the SMEs of tag "go"`,
		`remove SME group "C" from the SMEs of tag "go"`}
	if !slices.Equal(refused, want) {
		t.Errorf("refused %q\nwant    %q", refused, want)
	}
}

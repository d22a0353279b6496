package sync

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/syncd/syncd/internal/config"
	"github.com/syncd/syncd/internal/exitcode"
	"github.com/syncd/syncd/internal/lock"
	"github.com/syncd/syncd/internal/report"
	"github.com/syncd/syncd/internal/state"
	"github.com/syncd/syncd/internal/teams/emulator"
)

// heldChange is the one held change of a report.
func heldChange(t *testing.T, r *report.Report) report.Change {
	t.Helper()
	var held []report.Change
	for _, c := range r.Changes {
		if c.Status == report.StatusHeld {
			held = append(held, c)
		}
	}
	if len(held) != 1 {
		t.Fatalf("held changes %+v, want one", held)
	}
	return held[0]
}

// TestApprovedHeldChangeIsAppliedOnce: a removal held by the percent
// budget carries an id; the same change, approved, goes through the next
// applying run (a dry run only shows it as approved), its audit line names
// the approval, and the approval is used up. A different change stays
// held under a new id, and an approval that was never used expires into
// the audit log.
func TestApprovedHeldChangeIsAppliedOnce(t *testing.T) {
	var people []string
	var ids []int
	for i := range 10 {
		people = append(people, fmt.Sprintf("p%02d", i))
		ids = append(ids, 10+i)
	}
	seed := &emulator.Seed{Users: seedUsers(people...), UserGroups: []emulator.SeedGroup{{ID: 100, Name: "Platform", UserIDs: ids}}}
	r := newRig(t, seed, dirOf(map[string][]string{"platform": people}))
	store, err := state.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	r.store = store
	r.cfg.Teams.URL = "https://api.stackoverflowteams.com/v3/teams/acme"
	r.cfg.Sync.MaxRemovalPercent, r.cfg.Sync.MaxRemovalPercentFloor = 25, 3
	r.cfg.Groups = []config.Mapping{{Source: "corp", From: "platform", To: "Platform"}}

	r.src.dir = dirOf(map[string][]string{"platform": people[5:]}) // 5 of 10 leave: 50%
	first := heldChange(t, r.run(true).Report)
	if first.ID == "" || len(first.Users) != 5 {
		t.Fatalf("held change %+v: want 5 people and an id", first)
	}
	if again := heldChange(t, r.run(false).Report); again.ID != first.ID {
		t.Errorf("the same held change got id %s, then %s", first.ID, again.ID)
	}

	approve := func(id string, expires time.Time) {
		t.Helper()
		err := store.Approve([]state.Approval{{ID: id, Target: lock.Key(r.cfg.Teams.URL), Kind: report.KindRemoveMembers,
			Group: "Platform", By: "bob", At: r.now, Expires: expires, Reason: first.Reason}})
		if err != nil {
			t.Fatal(err)
		}
	}
	approve(first.ID, r.now.Add(24*time.Hour))

	r.src.dir = dirOf(map[string][]string{"platform": people[6:]}) // one more leaves: another change
	other := r.run(true)
	if c := heldChange(t, other.Report); c.ID == first.ID || len(c.Users) != 6 {
		t.Errorf("a different change: held %+v, want 6 people under another id", c)
	}
	if got := members(t, r.emu, "Platform"); len(got) != 10 {
		t.Fatalf("a change other than the approved one was applied: %v left", got)
	}

	r.src.dir = dirOf(map[string][]string{"platform": people[5:]}) // back to the reviewed change
	dry := r.run(false)
	if dry.ExitCode != 0 || len(dry.Report.Changes) != 1 || dry.Report.Changes[0].Approval == nil {
		t.Errorf("dry run with the approval: exit %d, changes %+v; want the removal planned as approved", dry.ExitCode, dry.Report.Changes)
	}
	res := r.run(true)
	if got := members(t, r.emu, "Platform"); res.ExitCode != 0 || !slices.Equal(got, ids[5:]) {
		t.Fatalf("approved run: exit %d (%v), members %v; want the 5 removed", res.ExitCode, res.Report.Errors, got)
	}
	c := res.Report.Changes[0]
	if c.Status != report.StatusApplied || c.ID != first.ID || c.Approval == nil || c.Approval.By != "bob" {
		t.Errorf("applied change %+v: want it applied as approved by bob", c)
	}
	if left := store.Approvals(r.now); len(left) != 0 {
		t.Errorf("approvals left after use: %v", left)
	}
	lines, err := state.ReadAuditSince(store.Dir(), time.Time{}, func(l *state.AuditLine) bool { return l.Kind == report.KindRemoveMembers })
	if err != nil || len(lines) != 1 || lines[0].Approval != first.ID || lines[0].RunID != res.Report.RunID || len(lines[0].Users) != 5 {
		t.Errorf("audit lines of the removal: %+v, %v; want one naming approval %s and run %s", lines, err, first.ID, res.Report.RunID)
	}
	if runs := store.Runs(); runs[len(runs)-1].RunID != res.Report.RunID {
		t.Errorf("run history ends with run %q, want %q", runs[len(runs)-1].RunID, res.Report.RunID)
	}

	approve("0123456789ab", r.now.Add(time.Hour))
	r.now = r.now.Add(2 * time.Hour)
	r.run(true)
	expired, _ := state.ReadAuditSince(store.Dir(), time.Time{}, func(l *state.AuditLine) bool { return l.Kind == state.AuditApprovalExpired })
	if len(expired) != 1 || expired[0].Approval != "0123456789ab" {
		t.Errorf("expired approvals in the audit log: %+v", expired)
	}
}

// TestPercentFloorLetsSmallListsChange: the configured floor reaches the
// plan: one of two members leaving (50%) is applied at the default floor
// and held at 0.
func TestPercentFloorLetsSmallListsChange(t *testing.T) {
	for _, c := range []struct {
		floor int
		code  int
	}{{3, 0}, {0, 4}} {
		seed := &emulator.Seed{Users: seedUsers("ann", "bob"), UserGroups: []emulator.SeedGroup{{ID: 100, Name: "Platform", UserIDs: []int{10, 11}}}}
		r := newRig(t, seed, dirOf(map[string][]string{"platform": {"ann"}}))
		r.cfg.Sync.MaxRemovalPercent, r.cfg.Sync.MaxRemovalPercentFloor = 25, c.floor
		r.cfg.Groups = []config.Mapping{{Source: "corp", From: "platform", To: "Platform"}}
		if res := r.run(true); res.ExitCode != c.code {
			t.Errorf("floor %d: exit %d, want %d (%+v)", c.floor, res.ExitCode, c.code, res.Report.Changes)
		}
	}
}

// TestSavedPlanKeepsTheApproval: a plan saved after the approval applies
// the approved removal as approved (its audit line names it, the approval
// is used up); a plan saved before keeps it held, as it was reviewed.
func TestSavedPlanKeepsTheApproval(t *testing.T) {
	people := []string{"p0", "p1", "p2", "p3", "p4", "p5"}
	seed := &emulator.Seed{Users: seedUsers(people...), UserGroups: []emulator.SeedGroup{{ID: 100, Name: "Platform", UserIDs: []int{10, 11, 12, 13, 14, 15}}}}
	r := newRig(t, seed, dirOf(map[string][]string{"platform": people[:2]})) // 4 of 6 go
	store, err := state.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	r.store = store
	r.cfg.Sync.MaxRemovalPercent, r.cfg.Sync.MaxRemovalPercentFloor = 25, 3
	r.cfg.Groups = []config.Mapping{{Source: "corp", From: "platform", To: "Platform"}}
	e, err := New(Options{Config: r.cfg, Sources: []Source{r.src}, Reader: r.client, Writer: r.client, Store: store, Logger: zap.NewNop(),
		Now: func() time.Time { return r.now }})
	if err != nil {
		t.Fatal(err)
	}
	save := func() *SavedPlan {
		t.Helper()
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
		return saved
	}
	before := save()
	id := before.Plan.Groups[0].HeldID(e.target())
	if err := store.Approve([]state.Approval{{ID: id, Target: e.target(), By: "bob", At: r.now, Expires: r.now.Add(time.Hour)}}); err != nil {
		t.Fatal(err)
	}
	if res, _ := e.ApplySaved(context.Background(), before); res.ExitCode != exitcode.Held || len(members(t, r.emu, "Platform")) != 6 {
		t.Errorf("plan saved before the approval: exit %d, members %v; want the removal still held", res.ExitCode, members(t, r.emu, "Platform"))
	}
	res, err := e.ApplySaved(context.Background(), save())
	if err != nil || res.ExitCode != 0 || len(members(t, r.emu, "Platform")) != 2 {
		t.Fatalf("plan saved after the approval: exit %d (%v), members %v", res.ExitCode, err, members(t, r.emu, "Platform"))
	}
	lines, _ := state.ReadAuditSince(store.Dir(), time.Time{}, func(l *state.AuditLine) bool { return l.Kind == report.KindRemoveMembers })
	if len(lines) != 1 || lines[0].Approval != id || len(store.Approvals(r.now)) != 0 {
		t.Errorf("audit %+v, approvals left %v: want the removal naming %s and the approval used", lines, store.Approvals(r.now), id)
	}
}

package plan

import (
	"reflect"
	"testing"
)

func TestChangeID(t *testing.T) {
	id := ChangeID("site", KindRemoveMembers, "Platform", []int{3, 1, 2})
	if len(id) != 12 {
		t.Fatalf("ChangeID = %q, want 12 hex digits", id)
	}
	same := []string{
		ChangeID("site", KindRemoveMembers, "Platform", []int{1, 2, 3}),
		ChangeID("site", KindRemoveMembers, "platform", []int{2, 3, 1}),
		ChangeID("site", KindRemoveMembers, "PLATFORM", []int{1, 2, 2, 3}),
	}
	for i, s := range same {
		if s != id {
			t.Errorf("same change %d: id %q, want %q", i, s, id)
		}
	}
	differ := map[string]string{
		"another site":   ChangeID("other", KindRemoveMembers, "Platform", []int{1, 2, 3}),
		"another kind":   ChangeID("site", KindRemoveSMEUsers, "Platform", []int{1, 2, 3}),
		"another group":  ChangeID("site", KindRemoveMembers, "Platform2", []int{1, 2, 3}),
		"one more":       ChangeID("site", KindRemoveMembers, "Platform", []int{1, 2, 3, 4}),
		"one fewer":      ChangeID("site", KindRemoveMembers, "Platform", []int{1, 2}),
		"other ids":      ChangeID("site", KindRemoveMembers, "Platform", []int{1, 2, 4}),
		"digits shifted": ChangeID("site", KindRemoveMembers, "Platform", []int{12, 3}),
	}
	for what, other := range differ {
		if other == id {
			t.Errorf("%s: same id %q", what, id)
		}
	}
	if got := ChangeID("site", KindRemoveMembers, "Platform", nil); got != "" {
		t.Errorf("no removal: id %q, want none", got)
	}
}

// approve plans with the policies of a run, the budgets b and approvals
// of the held changes with ids.
func approve(d Desired, cur Current, b Budgets, ids ...string) Plan {
	b.Approved = Approvals{Target: "site", IDs: map[string]bool{}}
	for _, id := range ids {
		b.Approved.IDs[id] = true
	}
	return Calculate(d, cur, Safety(b, nil)...)
}

// TestApprovedHeldChangeGoesThroughOnce: a held removal's id, approved,
// lets exactly that removal through the budgets in the next plan; one
// person more or fewer makes another change, held again under a new id.
func TestApprovedHeldChangeGoesThroughOnce(t *testing.T) {
	cur := Current{Groups: []CurrentGroup{{ID: 7, Name: "Platform", Members: []int{11, 12, 13, 14}}}}
	d := Desired{Groups: []DesiredGroup{{Name: "Platform", Members: []int{11}}}}
	b := Budgets{MaxRemovals: 100, MaxRemovalPercent: 25}
	held := approve(d, cur, b)
	g := held.Groups[0]
	id := g.HeldID("site")
	if !reflect.DeepEqual(g.Held, []int{12, 13, 14}) || id == "" {
		t.Fatalf("before approval: held %v (id %q), want 12, 13, 14 held with an id", g.Held, id)
	}

	got := approve(d, cur, b, id).Groups[0]
	if !reflect.DeepEqual(got.Remove, []int{12, 13, 14}) || len(got.Held) != 0 || got.Approved != id {
		t.Errorf("approved: remove %v, held %v, approved %q; want 12, 13, 14 removed under %q", got.Remove, got.Held, got.Approved, id)
	}

	more := Desired{Groups: []DesiredGroup{{Name: "Platform"}}} // 1 leaves too
	got = approve(more, cur, b, id).Groups[0]
	if len(got.Remove) != 0 || !reflect.DeepEqual(got.Held, []int{11, 12, 13, 14}) || got.Approved != "" {
		t.Errorf("one more leaves: remove %v, held %v, approved %q; want all held", got.Remove, got.Held, got.Approved)
	}
	if got.HeldID("site") == id {
		t.Error("a different held change kept the approved id")
	}
	fewer := Desired{Groups: []DesiredGroup{{Name: "Platform", Members: []int{11, 12}}}}
	got = approve(fewer, cur, b, id).Groups[0]
	if len(got.Remove) != 0 || !reflect.DeepEqual(got.Held, []int{13, 14}) {
		t.Errorf("one fewer leaves: remove %v, held %v; want 13, 14 held", got.Remove, got.Held)
	}
	other := Approvals{Target: "another-site", IDs: map[string]bool{id: true}}
	got = Calculate(d, cur, Safety(Budgets{MaxRemovals: 100, MaxRemovalPercent: 25, Approved: other}, nil)...).Groups[0]
	if len(got.Remove) != 0 {
		t.Errorf("approval of another site's change let %v through", got.Remove)
	}
}

// TestApprovalLiftsTheEmptiedGroupHold: an approved change is what rule 2
// asks for too (a person looked at exactly who goes).
func TestApprovalLiftsTheEmptiedGroupHold(t *testing.T) {
	cur := Current{Groups: []CurrentGroup{{ID: 7, Name: "Platform", Members: []int{11, 12}}}}
	d := Desired{Groups: []DesiredGroup{{Name: "Platform", EmptyHold: "read empty"}}}
	b := Budgets{MaxRemovals: -1, MaxRemovalPercent: -1}
	id := approve(d, cur, b).Groups[0].HeldID("site")
	if got := approve(d, cur, b, id).Groups[0]; !reflect.DeepEqual(got.Remove, []int{11, 12}) || len(got.Held) != 0 {
		t.Errorf("approved emptied group: remove %v, held %v; want both removed", got.Remove, got.Held)
	}
}

// TestApprovedRemovalsStillCount: the budgets count approved removals, so
// approving one large change holds the run's other removals rather than
// waving them through; they go at the next run, or by their own approval.
func TestApprovedRemovalsStillCount(t *testing.T) {
	cur := Current{Groups: []CurrentGroup{
		{ID: 7, Name: "A", Members: []int{11, 12, 13}},
		{ID: 8, Name: "B", Members: []int{14, 15, 16, 17, 18, 19, 20, 21, 22, 23}},
	}}
	d := Desired{Groups: []DesiredGroup{{Name: "A"}, {Name: "B", Members: []int{15, 16, 17, 18, 19, 20, 21, 22, 23}}}}
	b := Budgets{MaxRemovals: 3, MaxRemovalPercent: -1}
	first := approve(d, cur, b)
	idA := first.Groups[0].HeldID("site")
	p := approve(d, cur, b, idA)
	if a := p.Groups[0]; !reflect.DeepEqual(a.Remove, []int{11, 12, 13}) {
		t.Errorf("A approved: remove %v, want 11, 12, 13", a.Remove)
	}
	if bg := p.Groups[1]; len(bg.Remove) != 0 || !reflect.DeepEqual(bg.Held, []int{14}) {
		t.Errorf("B not approved, 4 removals in a run of budget 3: remove %v, held %v; want 4 held", bg.Remove, bg.Held)
	}
	if got := p.ApprovedIDs(); !reflect.DeepEqual(got, []string{idA}) {
		t.Errorf("ApprovedIDs = %v, want [%s]", got, idA)
	}
}

// TestApprovedSMEUsersLeaveTheGroupsHeld: a tag's held SME users and SME
// groups are two changes, approved one by one.
func TestApprovedSMEUsersLeaveTheGroupsHeld(t *testing.T) {
	cur := Current{
		Groups: []CurrentGroup{{ID: 18, Name: "SRE"}},
		Tags:   map[string]*CurrentTag{"go": {ID: 3, Name: "go", Users: []int{11, 12, 13, 14}, Groups: []int{18}}},
	}
	d := Desired{Tags: []DesiredTag{{Tag: "go", Users: []int{11}}}}
	b := Budgets{MaxRemovals: -1, MaxRemovalPercent: 25}
	held := approve(d, cur, b).Tags[0]
	users, groups := held.HeldUsersID("site"), held.HeldGroupsID("site")
	if users == "" || groups == "" || users == groups {
		t.Fatalf("held SME users id %q and groups id %q: want two ids", users, groups)
	}
	got := approve(d, cur, b, users).Tags[0]
	if !reflect.DeepEqual(got.RemoveUsers, []int{12, 13, 14}) || got.ApprovedUsers != users {
		t.Errorf("approved users: remove %v (approved %q), want 12, 13, 14", got.RemoveUsers, got.ApprovedUsers)
	}
	if len(got.RemoveGroups) != 0 || len(got.HeldGroups) != 1 || got.HeldGroupsID("site") != groups {
		t.Errorf("groups not approved: remove %v, held %v; want SRE held under %s", got.RemoveGroups, got.HeldGroups, groups)
	}
	got = approve(d, cur, b, users, groups).Tags[0]
	if len(got.RemoveGroups) != 1 || len(got.HeldUsers)+len(got.HeldGroups) != 0 {
		t.Errorf("both approved: remove groups %v, held %v %v", got.RemoveGroups, got.HeldUsers, got.HeldGroups)
	}
}

// TestPercentFloor: max_removal_percent holds only once more than the
// floor would go, so the routine changes of small groups and SME lists go
// through while a real share of a larger group is still held.
func TestPercentFloor(t *testing.T) {
	tag := Current{Tags: map[string]*CurrentTag{"go": {ID: 3, Name: "go", Users: []int{19}}}}
	replaced := Desired{Tags: []DesiredTag{{Tag: "go", Users: []int{11, 12, 13, 14, 15}}}}
	four := Current{Groups: []CurrentGroup{{ID: 7, Name: "Four", Members: []int{11, 12, 13, 14}}}}
	tests := []struct {
		name     string
		d        Desired
		cur      Current
		floor    int
		wantHeld bool
	}{
		{"the one stale SME of a tag replaced by five (100%) is routine", replaced, tag, 3, false},
		{"floor 0 holds it, as before", replaced, tag, 0, true},
		{"three of four going (75%) is within the floor", Desired{Groups: []DesiredGroup{{Name: "Four", Members: []int{11}}}}, four, 3, false},
		{"all four going is over it", Desired{Groups: []DesiredGroup{{Name: "Four", Members: []int{15}}}}, four, 3, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := Calculate(tt.d, tt.cur, Safety(Budgets{MaxRemovals: 100, MaxRemovalPercent: 25, PercentFloor: tt.floor}, nil)...)
			if p.Held() != tt.wantHeld {
				t.Errorf("held = %v, want %v: %+v %+v", p.Held(), tt.wantHeld, p.Groups, p.Tags)
			}
		})
	}
	// max_removals still counts what the floor lets through.
	p := Calculate(replaced, tag, Safety(Budgets{MaxRemovals: 0, MaxRemovalPercent: 25, PercentFloor: 3}, nil)...)
	if !p.Held() {
		t.Error("max_removals 0 must hold a removal within the percent floor")
	}
}

package plan

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestCalculateGroups(t *testing.T) {
	platform := CurrentGroup{ID: 7, Name: "Platform", Description: "old", Members: []int{1, 2, 3, 4}}
	tests := []struct {
		name    string
		desired DesiredGroup
		current []CurrentGroup
		policy  budget
		want    GroupPlan
		wantErr string
	}{
		{
			name:    "missing group is created with its members",
			desired: DesiredGroup{Name: "Platform", Description: "d", Members: []int{2, 5}},
			want:    GroupPlan{Name: "Platform", Create: true, Description: "d", Add: []int{2, 5}},
		},
		{
			name:    "exact adds and removes, never the community user",
			desired: DesiredGroup{Name: "platform", Mode: ModeExact, Members: []int{1, 2, 5}},
			current: []CurrentGroup{platform},
			want:    GroupPlan{Name: "Platform", ID: 7, Description: "old", Current: []int{1, 2, 3, 4}, Add: []int{5}, Remove: []int{3, 4}},
		},
		{
			name:    "kept ids are not removed, nor added",
			desired: DesiredGroup{Name: "Platform", Mode: ModeExact, Members: []int{2}, Keep: []int{3, 9}},
			current: []CurrentGroup{platform},
			want:    GroupPlan{Name: "Platform", ID: 7, Description: "old", Current: []int{1, 2, 3, 4}, Remove: []int{4}},
		},
		{
			name:    "add-only never removes",
			desired: DesiredGroup{Name: "Platform", Mode: ModeAddOnly, Members: []int{5}},
			current: []CurrentGroup{platform},
			want:    GroupPlan{Name: "Platform", ID: 7, Description: "old", Current: []int{1, 2, 3, 4}, Add: []int{5}},
		},
		{
			name:    "managed removes only what the ledger owns",
			desired: DesiredGroup{Name: "Platform", Mode: ModeManaged, Members: []int{2}},
			current: []CurrentGroup{platform},
			policy:  budget{MaxRemovals: -1, MaxRemovalPercent: -1, Owned: map[string][]int{"group:7": {4, 9}}},
			want:    GroupPlan{Name: "Platform", ID: 7, Description: "old", Current: []int{1, 2, 3, 4}, Remove: []int{4}},
		},
		{
			name:    "configured description is kept in step",
			desired: DesiredGroup{Name: "Platform", Description: "new", SetDescription: true, Members: []int{2, 3, 4}},
			current: []CurrentGroup{platform},
			want: GroupPlan{Name: "Platform", ID: 7, Description: "new", UpdateDescription: true, OldDescription: "old",
				Current: []int{1, 2, 3, 4}},
		},
		{
			name:    "unknown directory group: no removals, additions go on",
			desired: DesiredGroup{Name: "Platform", Members: []int{5}, Unknown: errors.New("read failed")},
			current: []CurrentGroup{platform},
			want:    GroupPlan{Name: "Platform", ID: 7, Description: "old", Current: []int{1, 2, 3, 4}, Add: []int{5}},
		},
		{
			name:    "emptied directory group is held",
			desired: DesiredGroup{Name: "Platform", EmptyHold: "empty now"},
			current: []CurrentGroup{platform},
			want:    GroupPlan{Name: "Platform", ID: 7, Description: "old", Current: []int{1, 2, 3, 4}, Held: []int{2, 3, 4}, HeldReason: "empty now"},
		},
		{
			name:    "percent budget holds the removals of the group",
			desired: DesiredGroup{Name: "Platform", Members: []int{2, 9}},
			current: []CurrentGroup{platform},
			policy:  budget{MaxRemovals: -1, MaxRemovalPercent: 50},
			want: GroupPlan{Name: "Platform", ID: 7, Description: "old", Current: []int{1, 2, 3, 4}, Add: []int{9}, Held: []int{3, 4},
				HeldReason: "removing 2 of 3 (67%) exceeds max_removal_percent 50"},
		},
		{
			name:    "percent budget at the limit lets removals through",
			desired: DesiredGroup{Name: "Platform", Members: []int{2, 3}},
			current: []CurrentGroup{platform},
			policy:  budget{MaxRemovals: -1, MaxRemovalPercent: 34},
			want:    GroupPlan{Name: "Platform", ID: 7, Description: "old", Current: []int{1, 2, 3, 4}, Remove: []int{4}},
		},
		{
			name:    "run budget holds every removal",
			desired: DesiredGroup{Name: "Platform", Members: []int{5}},
			current: []CurrentGroup{platform},
			policy:  budget{MaxRemovals: 2, MaxRemovalPercent: -1},
			want: GroupPlan{Name: "Platform", ID: 7, Description: "old", Current: []int{1, 2, 3, 4}, Add: []int{5}, Held: []int{2, 3, 4},
				HeldReason: "3 removals in this run exceed max_removals 2"},
		},
		{
			name:    "a name matching two groups is an error",
			desired: DesiredGroup{Name: "Platform", Members: []int{5}},
			current: []CurrentGroup{platform, {ID: 8, Name: "PLATFORM"}},
			wantErr: `user group "Platform": the name matches 2 Teams groups (ids 7, 8)`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.policy.MaxRemovals == 0 && tt.policy.MaxRemovalPercent == 0 {
				tt.policy.MaxRemovals, tt.policy.MaxRemovalPercent = -1, -1
			}
			p := calc(Desired{Groups: []DesiredGroup{tt.desired}}, Current{Groups: tt.current}, tt.policy)
			if tt.wantErr != "" {
				if len(p.Errors) != 1 || !strings.Contains(p.Errors[0].Error(), tt.wantErr) || len(p.Groups) != 0 {
					t.Fatalf("got errors %q, groups %+v; want one error containing %q", p.Errors, p.Groups, tt.wantErr)
				}
				return
			}
			if len(p.Errors) != 0 || len(p.Groups) != 1 {
				t.Fatalf("got errors %q, %d group plans; want none and 1", p.Errors, len(p.Groups))
			}
			if got := p.Groups[0]; !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestCalculateTags(t *testing.T) {
	groups := []CurrentGroup{{ID: 7, Name: "Platform"}, {ID: 8, Name: "SRE"}, {ID: 9, Name: "Dup"}, {ID: 10, Name: "dup"}}
	k8s := &CurrentTag{ID: 3, Name: "kubernetes", Users: []int{2, 3}, Groups: []int{8}}
	tests := []struct {
		name     string
		desired  DesiredTag
		creating []DesiredGroup
		tag      *CurrentTag
		policy   budget
		want     *TagPlan
		wantErrs int
	}{
		{
			name:    "users and groups added and removed",
			desired: DesiredTag{Tag: "Kubernetes", Users: []int{3, 4}, Groups: []string{"platform"}},
			tag:     k8s,
			want: &TagPlan{Tag: "kubernetes", ID: 3, CurrentUsers: []int{2, 3}, CurrentGroups: []int{8},
				AddUsers: []int{4}, RemoveUsers: []int{2}, AddGroups: []GroupRef{{ID: 7}}, RemoveGroups: []GroupRef{{ID: 8}}},
		},
		{
			name:     "a group created by the same plan is added by name",
			desired:  DesiredTag{Tag: "kubernetes", Users: []int{2, 3}, Groups: []string{"SRE", "New"}},
			creating: []DesiredGroup{{Name: "New"}},
			tag:      k8s,
			want: &TagPlan{Tag: "kubernetes", ID: 3, CurrentUsers: []int{2, 3}, CurrentGroups: []int{8},
				AddGroups: []GroupRef{{Name: "New"}}},
		},
		{
			name:     "an ambiguous or missing group name is an error and blocks group removals",
			desired:  DesiredTag{Tag: "kubernetes", Users: []int{2, 3}, Groups: []string{"dup", "nowhere"}},
			tag:      k8s,
			want:     &TagPlan{Tag: "kubernetes", ID: 3, CurrentUsers: []int{2, 3}, CurrentGroups: []int{8}},
			wantErrs: 2,
		},
		{
			name:    "add-only keeps everyone",
			desired: DesiredTag{Tag: "kubernetes", Mode: ModeAddOnly},
			tag:     k8s,
			want:    &TagPlan{Tag: "kubernetes", ID: 3, CurrentUsers: []int{2, 3}, CurrentGroups: []int{8}},
		},
		{
			name:    "managed removes ledger entries only",
			desired: DesiredTag{Tag: "kubernetes", Mode: ModeManaged},
			tag:     k8s,
			policy:  budget{MaxRemovals: -1, MaxRemovalPercent: -1, Owned: map[string][]int{"tag-users:3": {3}, "tag-groups:3": {8}}},
			want: &TagPlan{Tag: "kubernetes", ID: 3, CurrentUsers: []int{2, 3}, CurrentGroups: []int{8},
				RemoveUsers: []int{3}, RemoveGroups: []GroupRef{{ID: 8}}},
		},
		{
			name:    "percent budget holds users and groups together",
			desired: DesiredTag{Tag: "kubernetes", Users: []int{3}},
			tag:     k8s,
			policy:  budget{MaxRemovals: -1, MaxRemovalPercent: 50},
			want: &TagPlan{Tag: "kubernetes", ID: 3, CurrentUsers: []int{2, 3}, CurrentGroups: []int{8},
				HeldUsers: []int{2}, HeldGroups: []GroupRef{{ID: 8}}, HeldReason: "removing 2 of 3 (67%) exceeds max_removal_percent 50"},
		},
		{
			name:     "unreadable tag is an error",
			desired:  DesiredTag{Tag: "kubernetes", Users: []int{3}},
			tag:      &CurrentTag{Name: "kubernetes", Err: errors.New("SMEs are not enabled on this site")},
			wantErrs: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := Desired{Groups: tt.creating, Tags: []DesiredTag{tt.desired}}
			cur := Current{Groups: groups, Tags: map[string]*CurrentTag{"kubernetes": tt.tag}}
			if tt.policy.MaxRemovals == 0 && tt.policy.MaxRemovalPercent == 0 {
				tt.policy.MaxRemovals, tt.policy.MaxRemovalPercent = -1, -1
			}
			p := calc(d, cur, tt.policy)
			if len(p.Errors) != tt.wantErrs {
				t.Errorf("got errors %q, want %d", p.Errors, tt.wantErrs)
			}
			if tt.want == nil {
				if len(p.Tags) != 0 {
					t.Errorf("got tag plans %+v, want none", p.Tags)
				}
				return
			}
			if len(p.Tags) != 1 {
				t.Fatalf("got %d tag plans, want 1", len(p.Tags))
			}
			if got := p.Tags[0]; !reflect.DeepEqual(got, *tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, *tt.want)
			}
		})
	}
}

func TestUnknownGroupWithoutMembersIsNotCreated(t *testing.T) {
	p := calc(Desired{Groups: []DesiredGroup{{Name: "New", Unknown: errors.New("source down")}}}, Current{}, budget{MaxRemovals: -1, MaxRemovalPercent: -1})
	if len(p.Groups) != 0 {
		t.Errorf("got %+v, want no plan for a group known from nothing", p.Groups)
	}
}

func TestZeroBudgetHoldsEveryRemoval(t *testing.T) {
	d := Desired{Groups: []DesiredGroup{{Name: "A", Members: []int{3}}}}
	cur := Current{Groups: []CurrentGroup{{ID: 1, Name: "A", Members: []int{2}}}}
	p := calc(d, cur, budget{MaxRemovals: -1, MaxRemovalPercent: 0})
	if got := p.Groups[0]; len(got.Remove) != 0 || len(got.Held) != 1 || len(got.Add) != 1 {
		t.Errorf("max_removal_percent 0: got %+v, want the removal held and the addition planned", got)
	}
	p = calc(d, cur, budget{MaxRemovals: 0, MaxRemovalPercent: -1})
	if got := p.Groups[0]; len(got.Remove) != 0 || len(got.Held) != 1 {
		t.Errorf("max_removals 0: got %+v, want the removal held", got)
	}
	if got, want := p.Groups[0].HeldReason, "1 removal in this run exceeds max_removals 0"; got != want {
		t.Errorf("held reason %q, want %q", got, want)
	}
}

func TestRunBudgetCountsGroupsAndTags(t *testing.T) {
	d := Desired{
		Groups: []DesiredGroup{{Name: "A"}, {Name: "B", Members: []int{5}}},
		Tags:   []DesiredTag{{Tag: "go"}},
	}
	cur := Current{
		Groups: []CurrentGroup{{ID: 1, Name: "A", Members: []int{2}}, {ID: 2, Name: "B", Members: []int{3}}},
		Tags:   map[string]*CurrentTag{"go": {ID: 4, Name: "go", Users: []int{6}}},
	}
	under := calc(d, cur, budget{MaxRemovals: 3, MaxRemovalPercent: -1})
	if under.Held() || len(under.Groups[0].Remove)+len(under.Groups[1].Remove)+len(under.Tags[0].RemoveUsers) != 3 {
		t.Errorf("3 removals within a budget of 3: got %+v", under)
	}
	over := calc(d, cur, budget{MaxRemovals: 2, MaxRemovalPercent: -1})
	if !over.Held() || len(over.Groups[0].Remove)+len(over.Groups[1].Remove)+len(over.Tags[0].RemoveUsers) != 0 {
		t.Errorf("3 removals over a budget of 2: got %+v", over)
	}
	if got := over.Groups[1].Add; !reflect.DeepEqual(got, []int{5}) {
		t.Errorf("additions must go through a held run: got %v", got)
	}
	if !over.Pending() {
		t.Error("a plan with additions is pending")
	}
}

// budget is the config's budgets and the ledger, as the tables give them.
type budget struct {
	MaxRemovals       int
	MaxRemovalPercent float64
	Owned             map[string][]int
}

// calc plans with the policies of a run.
func calc(d Desired, cur Current, b budget) Plan {
	return Calculate(d, cur, Safety(Budgets{MaxRemovals: b.MaxRemovals, MaxRemovalPercent: b.MaxRemovalPercent}, b.Owned)...)
}

// A name syncd kept in step that no group carries now: created when the
// group that carried it is gone, refused (with the tag that names it) when
// that group is there under another name.
func TestRenamedGroupIsNotCreatedAgain(t *testing.T) {
	d := Desired{
		Groups: []DesiredGroup{{Name: "Platform", Mode: ModeExact, Members: []int{5}, KnownID: 7}},
		Tags:   []DesiredTag{{Tag: "go", Mode: ModeExact, Groups: []string{"Platform"}}},
	}
	tags := map[string]*CurrentTag{"go": {ID: 3, Name: "go"}}
	tests := []struct {
		name    string
		current []CurrentGroup
		create  bool
		errs    []string
	}{
		{"renamed", []CurrentGroup{{ID: 7, Name: "Platform Eng"}}, false, []string{
			`user group "Platform": renamed in Teams to "Platform Eng" (user group 7`,
			`tag "go": SME group "Platform" was renamed in Teams (user group 7 is "Platform Eng" now)`}},
		{"deleted in Teams", []CurrentGroup{{ID: 9, Name: "Other"}}, true, nil},
		{"there by name", []CurrentGroup{{ID: 7, Name: "platform"}}, false, nil},
		{"another group of the name", []CurrentGroup{{ID: 7, Name: "Archive"}, {ID: 8, Name: "Platform"}}, false, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := Calculate(d, Current{Groups: tc.current, Tags: tags})
			var errs []string
			for _, err := range p.Errors {
				errs = append(errs, err.Error())
			}
			if len(errs) != len(tc.errs) {
				t.Fatalf("errors %q, want %d", errs, len(tc.errs))
			}
			for i, want := range tc.errs {
				if !strings.Contains(errs[i], want) {
					t.Errorf("error %q, want it to say %q", errs[i], want)
				}
			}
			creates := len(p.Groups) == 1 && p.Groups[0].Create
			if creates != tc.create {
				t.Errorf("create %v, want %v (plan %+v)", creates, tc.create, p.Groups)
			}
			if !tc.create && len(tc.errs) == 0 && (len(p.Groups) != 1 || p.Groups[0].ID == 0) {
				t.Errorf("plan %+v, want the group found by name kept in step", p.Groups)
			}
		})
	}
}

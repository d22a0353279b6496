package sync

import (
	"context"
	"errors"
	"maps"
	"slices"
	"testing"

	"go.uber.org/zap"

	"github.com/syncd/syncd/internal/config"
	"github.com/syncd/syncd/internal/report"
	"github.com/syncd/syncd/internal/teams"
	"github.com/syncd/syncd/internal/teams/emulator"
)

// TestApplyFewestCalls checks that each change set costs the fewest calls
// the API allows, and that the calls leave Teams as planned. A full
// replace (PUT) costs a read of the object just before it (replaceCalls),
// so it is used only where the add and remove endpoints would cost more.
func TestApplyFewestCalls(t *testing.T) {
	const (
		groups       = "POST /user-groups"
		getGroup     = "GET /user-groups/{userGroupId}"
		putGroup     = "PUT /user-groups/{userGroupId}"
		groupMembers = "POST /user-groups/{userGroupId}/members"
		member       = "DELETE /user-groups/{userGroupId}/members/{userId}"
		smes         = "PUT /tags/{tagId}/subject-matter-experts"
		getTag       = "GET /tags/{tagId}" // a tag's SMEs, with its name
		smeUsers     = "POST /tags/{tagId}/subject-matter-experts/users"
		smeGroups    = "POST /tags/{tagId}/subject-matter-experts/user-groups"
		smeUser      = "DELETE /tags/{tagId}/subject-matter-experts/users/{userId}"
		smeGroupID   = "DELETE /tags/{tagId}/subject-matter-experts/user-groups/{userGroupId}"
	)
	// Teams ids: ann 10, bob 11, cat 12, dan 13. Teams group "Other" (id 200)
	// exists in every case; "SRE" (id 100) when the case seeds it.
	tests := []struct {
		name        string
		sre         []int    // members of SRE in Teams; nil: no such group
		dir         []string // directory members of "sre"
		description string
		smeUsers    []int // SME users of tag go in Teams
		smeGroups   []int
		k8s         []string       // directory members feeding go's SME users
		smeGroup    []string       // SME groups configured for go
		calls       map[string]int // the calls after the run's first reads
		wantSRE     []int
		wantUsers   []int
		wantGroups  []int
	}{
		{name: "new group: one POST carrying its members", dir: []string{"ann", "bob", "cat"},
			calls: map[string]int{groups: 1}, wantSRE: []int{10, 11, 12}},
		{name: "additions alone: one POST of the ids", sre: []int{10}, dir: []string{"ann", "bob", "cat"},
			calls: map[string]int{groupMembers: 1}, wantSRE: []int{10, 11, 12}},
		{name: "a single removal: one DELETE", sre: []int{10, 11, 12}, dir: []string{"ann", "bob"},
			calls: map[string]int{member: 1}, wantSRE: []int{10, 11}},
		{name: "two removals: two DELETEs, as cheap as a read and a PUT", sre: []int{10, 11, 12, 13}, dir: []string{"ann", "bob"},
			calls: map[string]int{member: 2}, wantSRE: []int{10, 11}},
		{name: "an addition and a removal: a POST and a DELETE", sre: []int{10, 11}, dir: []string{"ann", "cat"},
			calls: map[string]int{groupMembers: 1, member: 1}, wantSRE: []int{10, 12}},
		{name: "three removals: a read and one PUT", sre: []int{10, 11, 12, 13}, dir: []string{"ann"},
			calls: map[string]int{getGroup: 1, putGroup: 1}, wantSRE: []int{10}},
		{name: "description alone: a read and one PUT keeping the members", sre: []int{1, 10}, dir: []string{"ann"}, description: "new",
			calls: map[string]int{getGroup: 1, putGroup: 1}, wantSRE: []int{1, 10}},
		{name: "SME users added: one POST", sre: []int{10}, dir: []string{"ann"}, k8s: []string{"bob", "cat"},
			calls: map[string]int{smeUsers: 1}, wantSRE: []int{10}, wantUsers: []int{11, 12}},
		{name: "SME group added: one POST", sre: []int{10}, dir: []string{"ann"}, smeGroup: []string{"SRE"},
			calls: map[string]int{smeGroups: 1}, wantSRE: []int{10}, wantGroups: []int{100}},
		{name: "one SME user removed: one DELETE", sre: []int{10}, dir: []string{"ann"}, smeUsers: []int{11, 12}, k8s: []string{"bob"},
			calls: map[string]int{smeUser: 1}, wantSRE: []int{10}, wantUsers: []int{11}},
		{name: "one SME group removed: one DELETE", sre: []int{10}, dir: []string{"ann"}, smeGroups: []int{100, 200}, smeGroup: []string{"SRE"},
			calls: map[string]int{smeGroupID: 1}, wantSRE: []int{10}, wantGroups: []int{100}},
		{name: "SME users and groups added: two POSTs", sre: []int{10}, dir: []string{"ann"}, smeUsers: []int{13}, k8s: []string{"bob", "dan"}, smeGroup: []string{"SRE"},
			calls: map[string]int{smeUsers: 1, smeGroups: 1}, wantSRE: []int{10}, wantUsers: []int{11, 13}, wantGroups: []int{100}},
		{name: "two SME users removed: two DELETEs", sre: []int{10}, dir: []string{"ann"}, smeUsers: []int{10, 11, 12}, k8s: []string{"ann"},
			calls: map[string]int{smeUser: 2}, wantSRE: []int{10}, wantUsers: []int{10}},
		{name: "SME users added and removed, a group added: a read and one PUT", sre: []int{10}, dir: []string{"ann"}, smeUsers: []int{12, 13}, k8s: []string{"bob", "dan"}, smeGroup: []string{"SRE"},
			calls: map[string]int{getTag: 1, smes: 1}, wantSRE: []int{10}, wantUsers: []int{11, 13}, wantGroups: []int{100}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			seed := &emulator.Seed{SMEEnabled: true, Users: seedUsers("ann", "bob", "cat", "dan"),
				UserGroups: []emulator.SeedGroup{{ID: 200, Name: "Other"}},
				Tags:       []emulator.SeedTag{{ID: 5, Name: "go", SMEUserIDs: tt.smeUsers, SMEGroupIDs: tt.smeGroups}}}
			if tt.sre != nil {
				seed.UserGroups = append(seed.UserGroups, emulator.SeedGroup{ID: 100, Name: "SRE", UserIDs: tt.sre})
			}
			r := newSpecRig(t, seed, dirOf(map[string][]string{"sre": tt.dir, "k8s": tt.k8s}))
			r.cfg.Groups = []config.Mapping{{Source: "corp", From: "sre", To: "SRE", Description: tt.description}}
			r.cfg.SMEs = []config.SME{{Tag: "go", UsersFrom: []config.GroupRef{{Source: "corp", Group: "k8s"}}, Groups: tt.smeGroup}}
			res := r.run(true)
			if res.ExitCode != 0 || res.Report.Summary.ChangesFailed != 0 {
				t.Fatalf("exit %d, summary %+v, errors %v", res.ExitCode, res.Report.Summary, res.Report.Errors)
			}
			if got := callsAfterReads(r.emu.Requests()); !maps.Equal(got, tt.calls) {
				t.Errorf("calls %v, want %v:\n%v", got, tt.calls, r.emu.Requests())
			}
			if got := members(t, r.emu, "SRE"); !slices.Equal(got, tt.wantSRE) {
				t.Errorf("SRE members: got %v, want %v", got, tt.wantSRE)
			}
			if g, _ := r.emu.GroupByName("SRE"); tt.description != "" && g.Description != tt.description {
				t.Errorf("SRE description: got %q, want %q", g.Description, tt.description)
			}
			users, groupIDs := r.emu.TagSMEs("go")
			slices.Sort(users)
			slices.Sort(groupIDs)
			if !slices.Equal(users, tt.wantUsers) || !slices.Equal(groupIDs, tt.wantGroups) {
				t.Errorf("SMEs of go: got users %v groups %v, want %v %v", users, groupIDs, tt.wantUsers, tt.wantGroups)
			}
			if again := r.run(true); r.emu.WriteCount() != 0 || again.Pending {
				t.Errorf("second run: %d writes, want 0", r.emu.WriteCount())
			}
		})
	}
}

// failingCreate is the Teams client with group creation refused.
type failingCreate struct{ *teams.Client }

func (failingCreate) CreateUserGroup(context.Context, teams.UserGroupRequest) (*teams.Created, error) {
	return nil, errors.New("create refused")
}

// TestFailedCreateLeavesTheTagsOtherChanges: a group that could not be
// created cannot become an SME group, but the tag's other changes go on;
// only the SME group addition is reported failed, and the next run (with
// creation working) finishes the job.
func TestFailedCreateLeavesTheTagsOtherChanges(t *testing.T) {
	seed := &emulator.Seed{SMEEnabled: true, Users: seedUsers("ann", "bob"), Tags: []emulator.SeedTag{{ID: 5, Name: "go"}}}
	r := newRig(t, seed, dirOf(map[string][]string{"platform": {"ann"}, "gophers": {"bob"}}))
	r.cfg.Groups = []config.Mapping{{Source: "corp", From: "platform", To: "Platform"}}
	r.cfg.SMEs = []config.SME{{Tag: "go", UsersFrom: []config.GroupRef{{Source: "corp", Group: "gophers"}}, Groups: []string{"Platform"}}}
	e, err := New(Options{Config: r.cfg, Sources: []Source{r.src}, Reader: failingCreate{r.client}, Writer: failingCreate{r.client}, Store: r.store, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	res, _ := e.RunOnce(context.Background())
	status := map[string]string{}
	for _, c := range res.Report.Changes {
		status[c.Kind] = c.Status
	}
	want := map[string]string{report.KindCreateGroup: report.StatusFailed, report.KindAddSMEUsers: report.StatusApplied, report.KindAddSMEGroups: report.StatusFailed}
	if !maps.Equal(status, want) || res.ExitCode != 1 {
		t.Errorf("exit %d, changes %v; want %v", res.ExitCode, status, want)
	}
	if users, _ := r.emu.TagSMEs("go"); !slices.Equal(users, []int{11}) {
		t.Errorf("SME users %v, want bob added although the group failed", users)
	}
	if again := r.run(true); again.ExitCode != 0 || again.Report.Summary.ChangesApplied != 2 {
		t.Errorf("next run: exit %d, %+v", again.ExitCode, again.Report.Changes)
	}
	platform, _ := r.emu.GroupByName("Platform")
	if _, groups := r.emu.TagSMEs("go"); !slices.Equal(groups, []int{platform.ID}) {
		t.Errorf("SME groups %v, want Platform", groups)
	}
}

// callsAfterReads counts the calls of a run after its first reads (the
// listings, each tag's SMEs once), by "METHOD route".
func callsAfterReads(reqs []emulator.Request) map[string]int {
	out := map[string]int{}
	first := map[string]bool{}
	for _, q := range reqs {
		k := q.Method + " " + q.Route
		if q.Method == "GET" && (q.Route == "/user-groups" || q.Route == "/tags" || q.Route == "/users" || !first[k] && q.Route == "/tags/{tagId}") {
			first[k] = true
			continue
		}
		out[k]++
	}
	return out
}

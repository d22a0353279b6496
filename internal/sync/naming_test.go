package sync

import (
	"reflect"
	"testing"

	"github.com/syncd/syncd/internal/config"
	"github.com/syncd/syncd/internal/report"
	"github.com/syncd/syncd/internal/teams/emulator"
)

// TestReportNamesWhomThePlanChanges: the report names each person a
// change adds or removes by their Teams name (from the group listing or
// the SME list it was read from), else their directory name, and by the
// address they were matched by, else the one the user cache knows them by
// (people outside the directory: this run listed every Teams user).
func TestReportNamesWhomThePlanChanges(t *testing.T) {
	seed := &emulator.Seed{
		SMEEnabled: true,
		Users: []emulator.SeedUser{{ID: 1, Name: "Community"},
			{ID: 10, Name: "Ann in Teams", Email: "ann@example.com"},
			{ID: 11, Name: "", Email: "bob@example.com"},
			{ID: 12, Name: "Zed in Teams", Email: "zed@example.com"},
			{ID: 13, Name: "Yan in Teams", Email: "yan@example.com"}},
		UserGroups: []emulator.SeedGroup{{ID: 100, Name: "SRE", UserIDs: []int{10, 12}}},
		Tags:       []emulator.SeedTag{{ID: 5, Name: "go", SMEUserIDs: []int{10, 13}}},
	}
	r := newRig(t, seed, dirOf(map[string][]string{"sre": {"ann", "bob"}, "gophers": {"ann"}}))
	r.cfg.Groups = []config.Mapping{{Source: "corp", From: "sre", To: "SRE"}}
	r.cfg.SMEs = []config.SME{{Tag: "go", UsersFrom: []config.GroupRef{{Source: "corp", Group: "gophers"}}}}

	res := r.run(false)
	got := map[string][]report.User{}
	for _, c := range res.Report.Changes {
		got[c.Kind] = c.Users
	}
	want := map[string][]report.User{
		report.KindAddMembers:     {{ID: 11, Email: "bob@example.com", Name: "BOB"}},          // no Teams name: the directory's
		report.KindRemoveMembers:  {{ID: 12, Email: "zed@example.com", Name: "Zed in Teams"}}, // by the cached address
		report.KindRemoveSMEUsers: {{ID: 13, Email: "yan@example.com", Name: "Yan in Teams"}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("changes name\n%v\nwant\n%v", got, want)
	}
}

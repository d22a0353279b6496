package daemon

import (
	"slices"
	"strings"

	"github.com/syncd/syncd/e2e/harness"
	"github.com/syncd/syncd/internal/teams/emulator"
)

// The company of e2e/harness: directory groups platform, data and
// k8s-experts; Teams has Platform (bob, frank) and everyone but the new hire.
const (
	team       = harness.Team
	tokenRW    = "daemon-e2e-write-token"
	tokenRO    = "daemon-e2e-read-only-token"
	peopleDN   = harness.PeopleDN
	groupsDN   = harness.GroupsDN
	newbieMail = harness.NewbieMail
)

var people = harness.People()

var directoryGroups = [][2]string{
	{"data", "carol dave"},
	{"k8s-experts", "erin alice"},
	{"platform", "alice bob newbie"},
}

func teamsIDs(uids ...string) []int {
	var ids []int
	for _, p := range people {
		if slices.Contains(uids, p.UID) {
			ids = append(ids, p.TeamsID)
		}
	}
	slices.Sort(ids)
	return ids
}

func companyLDIF() string {
	ldif := harness.PeopleLDIF(people)
	for _, g := range directoryGroups {
		ldif += harness.GroupLDIF(g[0], strings.Fields(g[1]))
	}
	return ldif
}

func companySeed() *emulator.Seed {
	return emulator.Seed{
		SMEEnabled: true,
		Tokens: []emulator.SeedToken{
			{Token: tokenRW, Admin: true, Write: true, Team: team},
			{Token: tokenRO, Admin: true, Write: false, Team: team},
		},
		Users:      harness.SeedUsers(people),
		UserGroups: []emulator.SeedGroup{{ID: 10, Name: "Platform", Description: "Platform engineers", UserIDs: teamsIDs("bob", "frank")}},
	}.InTeam(team) // the site of the Business base URL
}

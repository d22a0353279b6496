package daemon

import (
	"fmt"
	"slices"
	"strings"

	"github.com/syncd/syncd/internal/source/ldap/slapdtest"
	"github.com/syncd/syncd/internal/teams/teamstest"
)

// The company: directory groups platform, data and k8s-experts; Teams has
// Platform (bob, frank) and everyone but the new hire.
const (
	team       = "acme"
	tokenRW    = "daemon-e2e-write-token"
	tokenRO    = "daemon-e2e-read-only-token"
	peopleDN   = "ou=people," + slapdtest.Suffix
	groupsDN   = "ou=groups," + slapdtest.Suffix
	newbieMail = "new.hire@example.com"
)

type person struct {
	UID, Name, Email string
	TeamsID          int
}

var people = []person{
	{"alice", "Alice Martin", "alice@example.com", 2},
	{"bob", "Bob Stone", "bob@example.com", 3},
	{"carol", "Carol Diaz", "carol@example.com", 4},
	{"dave", "Dave Wu", "dave@example.com", 5},
	{"erin", "Erin Cole", "erin@example.com", 6},
	{"frank", "Frank Roy", "frank@example.com", 7},
	{"newbie", "New Hire", newbieMail, 0},
}

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
	var b strings.Builder
	fmt.Fprintf(&b, "dn: %s\nobjectClass: organizationalUnit\nou: people\n\n", peopleDN)
	fmt.Fprintf(&b, "dn: %s\nobjectClass: organizationalUnit\nou: groups\n\n", groupsDN)
	for _, p := range people {
		fmt.Fprintf(&b, "dn: uid=%s,%s\nobjectClass: inetOrgPerson\nuid: %s\ncn: %s\nsn: %s\nmail: %s\n\n",
			p.UID, peopleDN, p.UID, p.Name, p.Name, p.Email)
	}
	for _, g := range directoryGroups {
		fmt.Fprintf(&b, "dn: cn=%s,%s\nobjectClass: groupOfNames\ncn: %s\n", g[0], groupsDN, g[0])
		for _, uid := range strings.Fields(g[1]) {
			fmt.Fprintf(&b, "member: uid=%s,%s\n", uid, peopleDN)
		}
		b.WriteString("\n")
	}
	return b.String()
}

func companySeed() *teamstest.Seed {
	s := &teamstest.Seed{
		SMEEnabled: true,
		Tokens: []teamstest.SeedToken{
			{Token: tokenRW, Admin: true, Write: true, Team: team},
			{Token: tokenRO, Admin: true, Write: false, Team: team},
		},
		Users:      []teamstest.SeedUser{{ID: 1, Name: "Community", Email: "community@stackoverflow.email", Role: "Moderator"}},
		UserGroups: []teamstest.SeedGroup{{ID: 10, Name: "Platform", Description: "Platform engineers", UserIDs: teamsIDs("bob", "frank")}},
	}
	for _, p := range people {
		if p.TeamsID > 0 {
			s.Users = append(s.Users, teamstest.SeedUser{ID: p.TeamsID, Name: p.Name, Email: p.Email, Role: "Registered"})
		}
	}
	return s
}

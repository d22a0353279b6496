package harness

import (
	"fmt"
	"strings"

	"github.com/syncd/syncd/internal/source/ldap/slapdtest"
	"github.com/syncd/syncd/internal/teams/emulator"
)

// The company the end-to-end packages start from: people in the directory
// (slapd, under slapdtest.Suffix) and their Teams accounts on site Team.
const (
	Team       = "acme"
	PeopleDN   = "ou=people," + slapdtest.Suffix
	GroupsDN   = "ou=groups," + slapdtest.Suffix
	NewbieMail = "new.hire@example.com" // in the directory, no Teams account yet: pending
)

// Person is one directory user and, when TeamsID > 0, their Teams account.
type Person struct {
	UID, Name, Email string
	TeamsID          int
}

// People returns the company's people, a new slice each time.
func People() []Person {
	return []Person{
		{"alice", "Alice Martin", "alice@example.com", 2},
		{"bob", "Bob Stone", "bob@example.com", 3},
		{"carol", "Carol Diaz", "carol@example.com", 4},
		{"dave", "Dave Wu", "dave@example.com", 5},
		{"erin", "Erin Cole", "erin@example.com", 6},
		{"frank", "Frank Roy", "frank@example.com", 7},
		{"newbie", "New Hire", NewbieMail, 0},
	}
}

// UserDN and GroupDN name a person's and a group's directory entries.
func UserDN(uid string) string   { return "uid=" + uid + "," + PeopleDN }
func GroupDN(name string) string { return "cn=" + name + "," + GroupsDN }

// PeopleLDIF is the two organisational units and an entry per person, in
// LDIF; GroupLDIF entries may follow it.
func PeopleLDIF(people []Person) string {
	var b strings.Builder
	fmt.Fprintf(&b, "dn: %s\nobjectClass: organizationalUnit\nou: people\n\n", PeopleDN)
	fmt.Fprintf(&b, "dn: %s\nobjectClass: organizationalUnit\nou: groups\n\n", GroupsDN)
	for _, p := range people {
		fmt.Fprintf(&b, "dn: %s\nobjectClass: inetOrgPerson\nuid: %s\ncn: %s\nsn: %s\nmail: %s\n\n",
			UserDN(p.UID), p.UID, p.Name, p.Name, p.Email)
	}
	return b.String()
}

// GroupLDIF is a groupOfNames entry with members given by uid.
func GroupLDIF(name string, uids []string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "dn: %s\nobjectClass: groupOfNames\ncn: %s\n", GroupDN(name), name)
	for _, uid := range uids {
		fmt.Fprintf(&b, "member: %s\n", UserDN(uid))
	}
	b.WriteString("\n")
	return b.String()
}

// SeedUsers are the Teams accounts: the Community user (id 1) and every
// person with a TeamsID.
func SeedUsers(people []Person) []emulator.SeedUser {
	users := []emulator.SeedUser{{ID: 1, Name: "Community", Email: "community@stackoverflow.email", Role: "Moderator"}}
	for _, p := range people {
		if p.TeamsID > 0 {
			users = append(users, emulator.SeedUser{ID: p.TeamsID, Name: p.Name, Email: p.Email, Role: "Registered"})
		}
	}
	return users
}

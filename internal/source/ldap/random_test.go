package ldap_test

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/syncd/syncd/internal/source/ldap/slapdtest"
)

// Random directories in a real slapd, read with nested groups and checked
// against a model of what they hold: groupOfNames, groupOfUniqueNames
// (some values with an RFC 4517 unique identifier after '#') and
// posixGroup (memberUid) mixed; groups nesting in chains and cycles; people
// named by an escaped RDN or a multi-valued one; member values that differ
// from the entry's DN in case, spacing and escaping; members that do not
// exist or lie outside the bases. Every group must come out with exactly
// the people the model reaches from it, with nesting and without.
//
// SYNCD_LDAP_SEED=S replays one directory; SYNCD_LDAP_DIRS=N reads more.
func TestRandomDirectoriesExpandAsModelled(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("SYNCD_LDAP_SEED"); s != "" {
		seed, _ = strconv.ParseUint(s, 10, 64)
	}
	dirs := 4
	if s := os.Getenv("SYNCD_LDAP_DIRS"); s != "" {
		dirs, _ = strconv.Atoi(s)
	}
	for i := range dirs {
		s := seed + uint64(i)
		t.Run(fmt.Sprintf("seed=%d", s), func(t *testing.T) {
			m := randomDirectory(rand.New(rand.NewPCG(s, s)))
			srv := slapdtest.Start(t, slapdtest.Options{LDIF: m.ldif})
			cfg := baseConfig(srv.URL)
			cfg.PageSize = 7 // many pages, and groups split across them
			for _, nested := range []bool{true, false} {
				cfg.Groups.Nested = nested
				d := mustRead(t, cfg)
				for _, g := range m.groups {
					want := m.reach(g.name, nested)
					if got := logins(t, d, g.name); !slices.Equal(got, want) {
						t.Errorf("%s (%s), nested %v: members %v, want %v\n%s", g.name, g.class, nested, got, want, m.ldif)
					}
				}
			}
		})
	}
}

type modelUser struct {
	login string
	rdn   string // as the entry's DN has it
}

type modelGroup struct {
	name, class string
	users       []int // direct members, by index into users; -1 none
	groups      []int // nested groups, by index
}

type dirModel struct {
	users  []modelUser
	groups []modelGroup
	ldif   string
}

// reach is the sorted logins of the people group reaches: through any
// nesting (cycles included) when nested, else its own.
func (m *dirModel) reach(name string, nested bool) []string {
	byName := map[string]int{}
	for i, g := range m.groups {
		byName[g.name] = i
	}
	seen, people := map[int]bool{}, map[string]bool{}
	var walk func(i int)
	walk = func(i int) {
		if seen[i] {
			return
		}
		seen[i] = true
		for _, u := range m.groups[i].users {
			people[m.users[u].login] = true
		}
		for _, sub := range m.groups[i].groups {
			if nested {
				walk(sub)
			}
		}
	}
	walk(byName[name])
	out := slices.Sorted(maps.Keys(people))
	if out == nil {
		out = []string{}
	}
	return out
}

const (
	peopleBase = "ou=people," + slapdtest.Suffix
	groupsBase = "ou=groups," + slapdtest.Suffix
)

// userDNVariant writes the DN of user u as an admin might in a member
// value: the case and spacing changed, a comma escaped as \2C.
func userDNVariant(r *rand.Rand, u modelUser) string {
	rdn, base := u.rdn, peopleBase
	switch r.IntN(4) {
	case 0:
		rdn, base = strings.ToUpper(rdn[:3])+rdn[3:], strings.ToUpper(base)
	case 1:
		base = strings.ReplaceAll(base, ",", ", ")
	case 2:
		rdn = strings.ReplaceAll(rdn, `\,`, `\2C`)
	}
	return rdn + "," + base
}

func randomDirectory(r *rand.Rand) *dirModel {
	m := &dirModel{}
	var b strings.Builder
	fmt.Fprintf(&b, "dn: %s\nobjectClass: organizationalUnit\nou: people\n\n", peopleBase)
	fmt.Fprintf(&b, "dn: %s\nobjectClass: organizationalUnit\nou: groups\n\n", groupsBase)
	fmt.Fprintf(&b, "dn: ou=other,%s\nobjectClass: organizationalUnit\nou: other\n\n", slapdtest.Suffix)
	fmt.Fprintf(&b, "dn: uid=outsider,ou=other,%s\nobjectClass: inetOrgPerson\nuid: outsider\ncn: Outsider\nsn: O\nmail: outsider@example.com\n\n", slapdtest.Suffix)
	for i := range 20 + r.IntN(40) {
		login := fmt.Sprintf("u%d", i)
		u := modelUser{login: login, rdn: "uid=" + login}
		switch r.IntN(5) {
		case 0:
			u.rdn = fmt.Sprintf(`cn=Last%d\, First`, i)
		case 1:
			u.rdn = fmt.Sprintf("cn=Multi%d+uid=%s", i, login)
		}
		cn := strings.ReplaceAll(strings.TrimPrefix(strings.SplitN(u.rdn, "+", 2)[0], "cn="), `\,`, ",")
		if strings.HasPrefix(u.rdn, "uid=") {
			cn = "Person " + login
		}
		fmt.Fprintf(&b, "dn: %s,%s\nobjectClass: inetOrgPerson\nuid: %s\ncn: %s\nsn: S\nmail: %s@example.com\n\n", u.rdn, peopleBase, login, cn, login)
		m.users = append(m.users, u)
	}
	classes := []string{"groupOfNames", "groupOfUniqueNames", "posixGroup"}
	n := 8 + r.IntN(15)
	for j := range n {
		m.groups = append(m.groups, modelGroup{name: fmt.Sprintf("g%d", j), class: classes[r.IntN(3)]})
	}
	for j := range m.groups {
		g := &m.groups[j]
		for range r.IntN(8) {
			g.users = append(g.users, r.IntN(len(m.users)))
		}
		if g.class == "posixGroup" {
			continue // memberUid names people only
		}
		for range r.IntN(3) {
			g.groups = append(g.groups, r.IntN(n)) // itself and cycles included
		}
	}
	for j, g := range m.groups {
		fmt.Fprintf(&b, "dn: cn=%s,%s\nobjectClass: %s\ncn: %s\n", g.name, groupsBase, g.class, g.name)
		var values []string
		attr := map[string]string{"groupOfNames": "member", "groupOfUniqueNames": "uniqueMember", "posixGroup": "memberUid"}[g.class]
		for _, u := range g.users {
			v := userDNVariant(r, m.users[u])
			if g.class == "posixGroup" {
				v = m.users[u].login
			} else if g.class == "groupOfUniqueNames" && r.IntN(3) == 0 {
				v += "#'0101'B"
			}
			values = append(values, v)
		}
		for _, sub := range g.groups {
			v := "cn=" + m.groups[sub].name + "," + groupsBase
			if r.IntN(2) == 0 {
				v = strings.ToUpper(v[:2]) + v[2:]
			}
			values = append(values, v)
		}
		if g.class != "posixGroup" {
			// Read and not found, or outside the bases: no one.
			if r.IntN(3) == 0 {
				values = append(values, "uid=gone"+strconv.Itoa(j)+","+peopleBase)
			}
			if r.IntN(3) == 0 {
				values = append(values, "uid=outsider,ou=other,"+slapdtest.Suffix)
			}
			if len(values) == 0 { // the object class requires a value
				values = append(values, "uid=gone,"+peopleBase)
			}
		} else {
			fmt.Fprintf(&b, "gidNumber: %d\n", 5000+j)
			if r.IntN(3) == 0 {
				values = append(values, "nosuchlogin")
			}
		}
		for _, v := range values {
			fmt.Fprintf(&b, "%s: %s\n", attr, v)
		}
		b.WriteString("\n")
	}
	m.ldif = b.String()
	return m
}

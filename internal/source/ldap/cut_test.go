package ldap_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/syncd/syncd/internal/directory"
	"github.com/syncd/syncd/internal/source/ldap/slapdtest"
)

// cutLDIF is 600 people and 12 groups of up to 120 members, three of them
// nested in others.
func cutLDIF() string {
	rng := rand.New(rand.NewPCG(1, 2))
	var b strings.Builder
	b.WriteString(slapdtest.People(600))
	b.WriteString("dn: ou=groups," + slapdtest.Suffix + "\nobjectClass: organizationalUnit\nou: groups\n\n")
	for g := range 12 {
		fmt.Fprintf(&b, "dn: cn=team%d,ou=groups,%s\nobjectClass: groupOfNames\ncn: team%d\n", g, slapdtest.Suffix, g)
		for _, u := range rng.Perm(600)[:1+rng.IntN(120)] {
			fmt.Fprintf(&b, "member: uid=user%d,ou=people,%s\n", u, slapdtest.Suffix)
		}
		if g%4 == 3 {
			fmt.Fprintf(&b, "member: cn=team%d,ou=groups,%s\n", g-1, slapdtest.Suffix)
		}
		b.WriteString("\n")
	}
	return b.String()
}

// canonical is a directory as text: each user with their e-mails, each
// group with its members and whether it is unknown.
func canonical(d *directory.Directory) string {
	var lines []string
	for id, u := range d.Users {
		lines = append(lines, fmt.Sprintf("user %s %s %v", id, u.Name, u.Emails))
	}
	for _, g := range d.Groups {
		lines = append(lines, fmt.Sprintf("group %s %v unknown=%v", g.DN, g.Members, g.Unknown()))
	}
	slices.Sort(lines)
	return strings.Join(lines, "\n")
}

// TestConnectionCutAnywhere cuts the connection to a real slapd once, at
// a random point of the answers (inside a message, an entry, a page, the
// users' search or the groups', which run at once), with a RST or a plain
// close, 40 times. Each read must fail, with no directory, or return the
// whole directory, exactly as read without a cut: never a part of it
// that looks whole. A directory that lost entries without saying so
// would have syncd remove their people.
func TestConnectionCutAnywhere(t *testing.T) {
	srv := slapdtest.Start(t, slapdtest.Options{LDIF: cutLDIF()})
	cfg := baseConfig(srv.URL)
	cfg.PageSize = 50
	want := canonical(mustRead(t, cfg))
	if !strings.Contains(want, "group cn=team11") || strings.Contains(want, "unknown=true") {
		t.Fatalf("the clean read is not whole:\n%s", want)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	const cuts = 40
	failed, whole := 0, 0
	for range cuts {
		at, rst := rng.Int64N(180_000), rng.IntN(2) == 0
		cfg.URLs[0] = srv.CuttingProxy(t, at, rst)
		d, err := read(t, cfg)
		switch {
		case err != nil && d != nil:
			t.Errorf("cut after %d bytes (rst %v): an error (%v) and a directory", at, rst, err)
		case err != nil:
			failed++
		case canonical(d) != want:
			t.Errorf("cut after %d bytes (rst %v): the read returned a directory that differs from the whole one", at, rst)
		default:
			whole++
		}
	}
	t.Logf("%d cuts: %d reads failed, %d read the whole directory", cuts, failed, whole)
	if failed == 0 {
		t.Errorf("no cut made a read fail: the cuts fell after the answers")
	}
}

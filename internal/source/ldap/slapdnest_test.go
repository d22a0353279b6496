package ldap_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/syncd/syncd/internal/config"
	"github.com/syncd/syncd/internal/source/ldap"
	"github.com/syncd/syncd/internal/source/ldap/slapdtest"
)

// nestLDIF adds, beside the shapes of slapdtest.Fixture: a group hidden from
// the reader account by an access rule, a group outside ou=groups, a
// groupOfNames the configured filter may exclude, a member DN under
// ou=groups that names nothing, and a referral object (ou=partner) that
// answers subtree searches with a continuation reference.
const nestLDIF = `dn: cn=hidden,ou=groups,` + slapdtest.Suffix + `
objectClass: groupOfNames
cn: hidden
member: uid=bob,ou=people,` + slapdtest.Suffix + `

dn: cn=shows-hidden,ou=groups,` + slapdtest.Suffix + `
objectClass: groupOfNames
cn: shows-hidden
member: uid=alice,ou=people,` + slapdtest.Suffix + `
member: cn=hidden,ou=groups,` + slapdtest.Suffix + `

dn: cn=outside,ou=other,` + slapdtest.Suffix + `
objectClass: groupOfNames
cn: outside
member: uid=bob,ou=people,` + slapdtest.Suffix + `

dn: cn=holds-outside,ou=groups,` + slapdtest.Suffix + `
objectClass: groupOfNames
cn: holds-outside
member: uid=zoe,ou=people,` + slapdtest.Suffix + `
member: cn=outside,ou=other,` + slapdtest.Suffix + `

dn: cn=stale,ou=groups,` + slapdtest.Suffix + `
objectClass: groupOfNames
cn: stale
member: uid=zoe,ou=people,` + slapdtest.Suffix + `
member: cn=deleted long ago,ou=groups,` + slapdtest.Suffix + `

dn: cn=gone-person,ou=groups,` + slapdtest.Suffix + `
objectClass: groupOfNames
cn: gone-person
member: uid=zoe,ou=people,` + slapdtest.Suffix + `
member: uid=left,ou=people,` + slapdtest.Suffix + `

dn: ou=partner,` + slapdtest.Suffix + `
objectClass: referral
objectClass: extensibleObject
ou: partner
ref: ldap://partner.example.net/ou=partner,` + slapdtest.Suffix + `

dn: cn=with-partner,ou=groups,` + slapdtest.Suffix + `
objectClass: groupOfNames
cn: with-partner
member: uid=bob,ou=people,` + slapdtest.Suffix + `
member: uid=pat,ou=partner,` + slapdtest.Suffix + `

`

const hideGroup = `access to dn.base="cn=hidden,ou=groups,` + slapdtest.Suffix + `" by dn.exact="` + slapdtest.RootDN + `" read by * none`

// A nested group the group search silently omits is never read as empty:
// one an access rule hides, one outside groups.base_dn, one the filter
// leaves out, and a DN under ou=groups that names nothing all make the
// groups listing them unknown. A person who left (a dangling DN outside
// the group base) is only ignored.
func TestNestedGroupOmittedBySearchIsUnknown(t *testing.T) {
	srv := slapdtest.Start(t, slapdtest.Options{LDIF: slapdtest.Fixture + nestLDIF, Access: hideGroup})
	d := mustRead(t, baseConfig(srv.URL))
	for _, name := range []string{"shows-hidden", "holds-outside", "stale"} {
		g := d.Group(name)
		if g == nil || !errors.Is(g.Err, ldap.ErrGroupNotRead) {
			t.Errorf("%s: read %v; want unknown (ErrGroupNotRead)", name, g)
		}
	}
	if g := d.Group("holds-outside"); g != nil && !strings.Contains(g.Err.Error(), "cn=outside,ou=other,dc=example,dc=com is a group that the group search did not return") {
		t.Errorf("holds-outside: err %v, want it to name the group and why", g.Err)
	}
	if got := logins(t, d, "gone-person"); len(got) != 1 || got[0] != "zoe" || d.Group("gone-person").Ignored != 1 {
		t.Errorf("gone-person = %v (ignored %d), want [zoe] and 1 ignored", got, d.Group("gone-person").Ignored)
	}
	if got := logins(t, d, "platform"); len(got) != 4 {
		t.Errorf("platform = %v: a person outside the user base must stay ignored", got)
	}

	// The group base widened to the suffix: outside is read, the rest stays.
	cfg := baseConfig(srv.URL)
	cfg.Groups.BaseDN = slapdtest.Suffix
	d = mustRead(t, cfg)
	if got := logins(t, d, "holds-outside"); strings.Join(got, ",") != "bob,zoe" {
		t.Errorf("holds-outside with the suffix as base = %v, want [bob zoe]", got)
	}
	if g := d.Group("shows-hidden"); g.Err == nil {
		t.Errorf("shows-hidden: %d members, want unknown (the nested group is hidden)", len(g.Members))
	}

	// A filter that leaves the nested group out.
	cfg = baseConfig(srv.URL)
	cfg.Groups.Filter = "(&(objectClass=groupOfNames)(!(cn=level2)))"
	d = mustRead(t, cfg)
	for _, name := range []string{"level1", "level3"} { // level1 holds level2; level3 holds level1
		if g := d.Group(name); g.Err == nil {
			t.Errorf("%s: %d members with level2 filtered out, want unknown", name, len(g.Members))
		}
	}
}

// A subtree search from the suffix meets the referral object: the entries
// beside it are all read, and only the group with a member under the
// referred subtree is unknown.
func TestContinuationReferenceFromRootBase(t *testing.T) {
	srv := slapdtest.Start(t, slapdtest.Options{LDIF: slapdtest.Fixture + nestLDIF, Access: hideGroup})
	cfg := baseConfig(srv.URL)
	cfg.Users.BaseDN = slapdtest.Suffix
	cfg.Groups.BaseDN = slapdtest.Suffix
	d := mustRead(t, cfg)
	if len(d.Users) != 7 { // the fixture's six under ou=people and carol
		t.Errorf("users = %d, want 7", len(d.Users))
	}
	if g := d.Group("with-partner"); g.Err == nil || !strings.Contains(g.Err.Error(), "referred elsewhere") {
		t.Errorf("with-partner: err %v, want unknown (a member lies behind the reference)", g.Err)
	}
	if got := logins(t, d, "platform"); len(got) != 5 {
		t.Errorf("platform = %v, want carol too", got)
	}
}

// OpenLDAP answers a filter with a matching rule it does not know with
// success and no entries: in_chain_lookup there must be refused, never read
// as every group empty.
func TestInChainRefusedOnOpenLDAP(t *testing.T) {
	srv := slapdtest.Start(t, slapdtest.Options{LDIF: slapdtest.Fixture})
	cfg := baseConfig(srv.URL)
	cfg.ActiveDirectory = &config.ADSettings{InChainLookup: true}
	d, err := read(t, cfg)
	if !errors.Is(err, ldap.ErrInChainUnsupported) || d != nil {
		t.Fatalf("in_chain_lookup on slapd: Read = %s; want ErrInChainUnsupported", failed(d, err))
	}
}

// A user search that finds nobody (a wrong filter, or an account that may
// not read the people) while groups list members fails the read: every
// group would otherwise read as empty.
func TestNoUsersSeenFailsTheRead(t *testing.T) {
	srv := slapdtest.Start(t, slapdtest.Options{LDIF: slapdtest.Fixture})
	cfg := baseConfig(srv.URL)
	cfg.Users.Filter = "(objectClass=posixAccount)" // nobody in the fixture
	d, err := read(t, cfg)
	if !errors.Is(err, ldap.ErrNoUsers) || d != nil {
		t.Fatalf("Read = %s; want ErrNoUsers", failed(d, err))
	}
	if !strings.Contains(err.Error(), "(objectClass=posixAccount)") {
		t.Errorf("err = %v, want it to name the filter", err)
	}
}

// An access rule that hides mail from syncd's account reads as nobody
// having an address (and so does a misnamed email_attribute): the read
// fails rather than every group reading as empty.
func TestHiddenMailFailsTheRead(t *testing.T) {
	srv := slapdtest.Start(t, slapdtest.Options{LDIF: slapdtest.Fixture,
		Access: "access to attrs=mail by dn.exact=" + slapdtest.ReaderDN + " none by * read"})
	d, err := read(t, baseConfig(srv.URL))
	if !errors.Is(err, ldap.ErrNoEmails) || d != nil {
		t.Fatalf("mail hidden: Read = %s; want ErrNoEmails", failed(d, err))
	}
	cfg := baseConfig(srv.URL)
	cfg.Users.EmailAttribute = "email"
	if _, err := read(t, cfg); !errors.Is(err, ldap.ErrNoEmails) || !strings.Contains(err.Error(), "email") {
		t.Fatalf("email_attribute misnamed: err %v, want ErrNoEmails naming it", err)
	}
}

// Two people with one login (here a second uid value): a memberUid of it
// makes the group unknown, not a member picked at random; a person's
// second uid value resolves as a name service resolves it.
func TestSharedLoginMakesGroupUnknown(t *testing.T) {
	srv := slapdtest.Start(t, slapdtest.Options{LDIF: slapdtest.Fixture + `
dn: uid=hank,ou=people,` + slapdtest.Suffix + `
objectClass: inetOrgPerson
uid: hank
uid: hhill
uid: alice
cn: Hank
sn: Hill
mail: hank@example.com

dn: cn=posix2,ou=groups,` + slapdtest.Suffix + `
objectClass: posixGroup
cn: posix2
gidNumber: 5002
memberUid: hhill
`})
	d := mustRead(t, baseConfig(srv.URL))
	if err := d.Group("posix").Err; !errors.Is(err, ldap.ErrSharedLogin) || !strings.Contains(err.Error(), "uid=hank") {
		t.Errorf("posix (memberUid alice, a login two people have): err %v, want ErrSharedLogin naming both", err)
	}
	if got := logins(t, d, "posix2"); !slices.Equal(got, []string{"hank"}) {
		t.Errorf("posix2 = %v, want [hank] (memberUid hhill is hank's second uid)", got)
	}
}

// An access rule that hides a group's member values from syncd's account
// (the entry itself stays readable) reads as a group with no members; the
// schema says groupOfNames and groupOfUniqueNames cannot be empty, so the
// group is unknown, and so is every group that holds it.
func TestHiddenMemberValuesMakeGroupUnknown(t *testing.T) {
	hide := func(group, attr string) string {
		return `access to dn.base="cn=` + group + `,ou=groups,` + slapdtest.Suffix + `" attrs=` + attr +
			` by dn.exact="` + slapdtest.ReaderDN + `" none by * read`
	}
	srv := slapdtest.Start(t, slapdtest.Options{LDIF: slapdtest.Fixture,
		Access: hide("level2", "member") + "\n" + hide("uniq", "uniqueMember")})
	d := mustRead(t, baseConfig(srv.URL))
	for _, name := range []string{"level2", "uniq"} {
		if err := d.Group(name).Err; !errors.Is(err, ldap.ErrHiddenMembers) {
			t.Errorf("%s (member values hidden): err %v, want ErrHiddenMembers", name, err)
		}
	}
	for _, name := range []string{"level1", "level3"} { // they hold level2, directly or not
		if g := d.Group(name); g.Err == nil {
			t.Errorf("%s: %d members, want unknown (a nested group's members are hidden)", name, len(g.Members))
		}
	}
	if got := logins(t, d, "platform"); len(got) != 4 {
		t.Errorf("platform = %v, want its 4 members (nothing hidden there)", got)
	}
}

// A member under users.base_dn that the user search did not return and
// whose entry is there but unreadable (Active Directory's answer to a deny
// ACE: the entry without its attributes) makes its groups unknown: ignored,
// the person would be removed from Teams. A DN that names no entry (a
// person deleted without refint) stays ignored
// (TestNestedGroupOmittedBySearchIsUnknown).
func TestUnreadablePersonMakesGroupUnknown(t *testing.T) {
	zoe := "uid=zoe,ou=people," + slapdtest.Suffix
	srv := slapdtest.Start(t, slapdtest.Options{LDIF: slapdtest.Fixture + nestLDIF,
		Access: `access to dn.exact="` + zoe + `" attrs=objectClass by dn.exact="` + slapdtest.ReaderDN + `" search by * read
access to dn.exact="` + zoe + `" attrs=mail by dn.exact="` + slapdtest.ReaderDN + `" none by * read`})
	cfg := baseConfig(srv.URL)
	cfg.Users.Filter = "(&(objectClass=inetOrgPerson)(mail=*))" // zoe does not match: her mail is hidden
	d := mustRead(t, cfg)
	if g := d.Group("équipe"); g == nil || !errors.Is(g.Err, ldap.ErrGroupNotRead) || !strings.Contains(g.Err.Error(), "may not read it") {
		t.Errorf("équipe (zoe alone, unreadable): %v, want unknown naming why", g)
	}
	// nomail, left out by the filter, is not unreadable: ignored as before.
	if got := logins(t, d, "platform"); len(got) != 3 || d.Group("platform").Err != nil {
		t.Errorf("platform = %v (err %v), want alice, jsmith, multi", got, d.Group("platform").Err)
	}
}

package ldap_test

import (
	"errors"
	"testing"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/syncd/syncd/internal/source/ldap"
	"github.com/syncd/syncd/internal/source/ldap/dstest"
)

// On 389-ds member is optional (an empty group is real), so a group whose
// member an ACI hides from syncd's account reads as empty; its member's
// memberOf, which FreeIPA's memberOf plugin keeps (set here by hand, as the
// plugin would), still names it: the group is unknown, and so is the group
// nesting it. An instance of this test's own: the ACI changes it.
func TestDSHiddenMembershipIsUnknown(t *testing.T) {
	srv := dstest.Start(t)
	admin, err := srv.Dial(srv.LDAPSURL)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if err := admin.Bind(dstest.RootDN, dstest.RootPW); err != nil {
		t.Fatal(err)
	}
	person := firstDSUser(t, admin)
	secret, holder := "cn=secret-team,"+dstest.Groups, "cn=holds-secret,"+dstest.Groups
	for _, g := range []struct{ cn, dn, member string }{{"secret-team", secret, person}, {"holds-secret", holder, secret}} {
		add := goldap.NewAddRequest(g.dn, nil)
		add.Attribute("objectClass", []string{"top", "groupOfNames", "nestedGroup"})
		add.Attribute("cn", []string{g.cn})
		add.Attribute("member", []string{g.member})
		if g.dn == secret {
			add.Attribute("aci", []string{`(targetattr="member")(version 3.0; acl "hide membership"; deny (read, search, compare) userdn="ldap:///` + dstest.ServiceDN + `";)`})
		}
		if err := admin.Add(add); err != nil {
			t.Fatalf("add %s: %v", g.dn, err)
		}
	}
	mod := goldap.NewModifyRequest(person, nil)
	mod.Add("memberOf", []string{secret})
	if err := admin.Modify(mod); err != nil {
		t.Fatalf("memberOf of %s: %v", person, err)
	}
	d := mustRead(t, ipaExample(t, srv, srv.LDAPSURL))
	if g := d.Group("secret-team"); g == nil || !errors.Is(g.Err, ldap.ErrHiddenMembers) {
		t.Errorf("secret-team (member hidden by an ACI): %+v, want ErrHiddenMembers", g)
	}
	if g := d.Group("holds-secret"); g == nil || g.Err == nil {
		t.Errorf("holds-secret (nests the hidden group): %+v, want unknown", g)
	}
}

// firstDSUser is an unlocked person of the fixture's user base.
func firstDSUser(t *testing.T, c *goldap.Conn) string {
	t.Helper()
	res, err := c.Search(goldap.NewSearchRequest(dstest.Users, goldap.ScopeSingleLevel, goldap.NeverDerefAliases, 1, 0, false,
		"(&(objectClass=inetOrgPerson)(mail=*)(!(nsAccountLock=true)))", []string{"dn"}, nil))
	if err != nil && !goldap.IsErrorWithCode(err, goldap.LDAPResultSizeLimitExceeded) || res == nil || len(res.Entries) == 0 {
		t.Fatalf("no user: %v", err)
	}
	return res.Entries[0].DN
}

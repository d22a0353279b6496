package ldap_test

import (
	"errors"
	"os/exec"
	"strings"
	"testing"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/syncd/syncd/internal/source/ldap"
	"github.com/syncd/syncd/internal/source/ldap/adtest"
	"github.com/syncd/syncd/internal/source/ldap/sambatest"
)

// Exchange's "hide group membership" on a real domain controller: a deny
// ACE on reading member, for syncd's account, on one group. The group
// comes back without members (AD's group class does not require one);
// its member's memberOf still names it, so the group is unknown, and so is
// the group nesting it.
func TestSambaHiddenMembershipIsUnknown(t *testing.T) {
	dc := newHidingDC(t)
	secret, holder := "CN=Secret Team,"+sambatest.Groups, "CN=Holds Secret,"+sambatest.Groups
	dc.addGroup(secret, dc.person)
	dc.addGroup(holder, secret)
	// bf9679c0-…: the schemaIDGUID of member.
	dc.deny(secret, "(OD;;RP;bf9679c0-0de6-11d0-a285-00aa003049e2;;"+dc.syncdSID+")")
	// Also with every value list cut to one value, as Active Directory cuts
	// lists longer than 1,500: the member's memberOf then names the group
	// past its first range, and Samba hands over the rest.
	for _, url := range []string{dc.srv.LDAPSURL, dc.srv.RangeLimited(t, 1).URL} {
		d := mustRead(t, adExample(t, dc.srv, url))
		if g := d.Group("Secret Team"); g == nil || !errors.Is(g.Err, ldap.ErrHiddenMembers) {
			t.Errorf("%s: Secret Team (member hidden by a deny ACE): %+v, want ErrHiddenMembers", url, g)
		}
		if g := d.Group("Holds Secret"); g == nil || g.Err == nil {
			t.Errorf("%s: Holds Secret (nests the hidden group): %+v, want unknown", url, g)
		}
	}
}

// A person hidden from syncd's account by a deny ACE (read and list): the
// domain controller answers a base search of the DN with the entry and no
// attributes. Their group is unknown, never smaller: ignored, they would
// be removed from Teams.
func TestSambaHiddenPersonIsUnknown(t *testing.T) {
	dc := newHidingDC(t)
	dc.addGroup("CN=With Hidden Person,"+sambatest.Groups, dc.person)
	dc.deny(dc.person, "(D;;RPLCLORC;;;"+dc.syncdSID+")")
	d := mustRead(t, adExample(t, dc.srv))
	if g := d.Group("With Hidden Person"); g == nil || !errors.Is(g.Err, ldap.ErrGroupNotRead) || !strings.Contains(g.Err.Error(), "may not read it") {
		t.Errorf("With Hidden Person: %+v, want unknown naming the unreadable member", g)
	}
}

// hidingDC is a domain controller of the test's own (a deny ACE changes
// it), its Administrator's connection, a person of its fixture and the
// SID of syncd's account, for the ACEs.
type hidingDC struct {
	t        *testing.T
	tool     string // samba-tool
	srv      *sambatest.Server
	admin    *goldap.Conn
	person   string
	syncdSID string
}

func newHidingDC(t *testing.T) *hidingDC {
	t.Helper()
	paths := sambatest.Require(t)
	srv := sambatest.Start(t)
	admin := sambaAdmin(t, srv)
	return &hidingDC{t: t, tool: paths["samba-tool"], srv: srv, admin: admin, person: firstUser(t, admin),
		syncdSID: objectSID(t, admin, sambatest.ServiceDN)}
}

// addGroup adds a group with one member.
func (dc *hidingDC) addGroup(dn, member string) {
	dc.t.Helper()
	add := goldap.NewAddRequest(dn, nil)
	add.Attribute("objectClass", []string{"group"})
	add.Attribute("member", []string{member})
	if err := dc.admin.Add(add); err != nil {
		dc.t.Fatalf("add %s: %v", dn, err)
	}
}

// deny adds the ACE sddl to dn's security descriptor, as an administrator
// does with samba-tool (or dsacls on Windows).
func (dc *hidingDC) deny(dn, sddl string) {
	dc.t.Helper()
	out, err := exec.Command(dc.tool, "dsacl", "set", "-H", dc.srv.URL, "-U", sambatest.AdminUPN+"%"+sambatest.AdminPW,
		"--objectdn="+dn, "--sddl="+sddl, "--action=allow").CombinedOutput()
	if err != nil {
		dc.t.Fatalf("samba-tool dsacl: %v\n%s", err, out)
	}
}

// firstUser is a person of the fixture's user base.
func firstUser(t *testing.T, c *goldap.Conn) string {
	t.Helper()
	res, err := c.Search(goldap.NewSearchRequest(sambatest.BaseDN, goldap.ScopeWholeSubtree, goldap.NeverDerefAliases, 1, 0, false,
		"(&(objectClass=user)(objectCategory=person)(mail=*)(!(userAccountControl:1.2.840.113556.1.4.803:=2)))", []string{"dn"}, nil))
	if err != nil && !goldap.IsErrorWithCode(err, goldap.LDAPResultSizeLimitExceeded) || len(res.Entries) == 0 {
		t.Fatalf("no user: %v", err)
	}
	return res.Entries[0].DN
}

// objectSID is the SID of dn, as SDDL names it.
func objectSID(t *testing.T, c *goldap.Conn, dn string) string {
	t.Helper()
	res, err := c.Search(goldap.NewSearchRequest(dn, goldap.ScopeBaseObject, goldap.NeverDerefAliases, 0, 0, false,
		"(objectClass=*)", []string{"objectSid"}, nil))
	if err != nil || len(res.Entries) != 1 {
		t.Fatalf("objectSid of %s: %v", dn, err)
	}
	sid := adtest.SID(string(res.Entries[0].GetRawAttributeValue("objectSid")))
	if !strings.HasPrefix(sid, "S-1-5-21-") {
		t.Fatalf("objectSid of %s: %q", dn, sid)
	}
	return sid
}

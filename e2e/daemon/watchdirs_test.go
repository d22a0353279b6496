package daemon

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/syncd/syncd/e2e/harness"
	"github.com/syncd/syncd/internal/source/ldap/dstest"
	"github.com/syncd/syncd/internal/source/ldap/sambatest"
	"github.com/syncd/syncd/internal/source/ldap/slapdtest"
)

// The watch scenarios run against each real directory server holding the
// same small company: the people of harness.People (but the new hire),
// platform (alice, bob), data (carol, dave) and eng (erin, and platform
// nested in it).

// watchDirectory is one directory server as the scenarios drive it.
type watchDirectory struct {
	feed    string // the feed auto is expected to pick
	ldap    string // the sources[0].ldap block, indented by six spaces
	person  func(uid string) string
	group   func(name string) string
	admin   func(t *testing.T) *goldap.Conn
	mail    string                        // the e-mail attribute
	disable func(m *goldap.ModifyRequest) // nil: the server has no disabled state syncd reads
	enable  func(m *goldap.ModifyRequest) // undoes disable
	// blink, when set, cuts syncd's connection to the directory in the
	// middle of the next answer.
	blink func()
	// newPerson is the entry of a person, the n-th made in this directory
	// (entries with ids of their own take n into them).
	newPerson func(p harness.Person, n int) *goldap.AddRequest
	stop      func(t *testing.T) // stops the server
	start     func(t *testing.T) // starts it again on the same address
	password  string             // the bind password, kept out of the log
}

var watchGroups = []struct {
	name    string
	members []string // uids; "group:NAME" nests a group
}{
	{"platform", []string{"alice", "bob"}},
	{"data", []string{"carol", "dave"}},
	{"eng", []string{"erin", "group:platform"}},
}

func watchPeople() []harness.Person {
	var out []harness.Person
	for _, p := range harness.People() {
		if p.TeamsID > 0 {
			out = append(out, p)
		}
	}
	return out
}

// slapdWatch is OpenLDAP with the syncprov overlay.
func slapdWatch(t *testing.T) *watchDirectory {
	ldif := harness.PeopleLDIF(watchPeople())
	for _, g := range watchGroups {
		ldif += fmt.Sprintf("dn: %s\nobjectClass: groupOfNames\ncn: %s\n", harness.GroupDN(g.name), g.name)
		for _, m := range g.members {
			if name, ok := strings.CutPrefix(m, "group:"); ok {
				ldif += "member: " + harness.GroupDN(name) + "\n"
			} else {
				ldif += "member: " + harness.UserDN(m) + "\n"
			}
		}
		ldif += "\n"
	}
	srv := slapdtest.Start(t, slapdtest.Options{LDIF: ldif, SyncProv: true})
	url, blink := srv.BlinkingProxy(t) // syncd's way in; the admin goes straight
	return &watchDirectory{
		feed: "syncrepl", person: harness.UserDN, group: harness.GroupDN, mail: "mail", password: slapdtest.ReaderPW,
		blink: blink,
		ldap: fmt.Sprintf(`      url: %s
      bind_dn: %s
      bind_password_file: %%PASSWORD_FILE%%
      timeout: 5s
      users: {base_dn: "%s"}
      groups: {base_dn: "%s"}
`, url, slapdtest.ReaderDN, peopleDN, groupsDN),
		admin: func(t *testing.T) *goldap.Conn {
			c, err := goldap.DialURL(srv.URL)
			if err == nil {
				err = c.Bind(slapdtest.RootDN, slapdtest.RootPW)
			}
			if err != nil {
				t.Fatal(err)
			}
			return c
		},
		stop:  func(*testing.T) { srv.Stop() },
		start: func(t *testing.T) { srv.Restart(t) },
		newPerson: func(p harness.Person, _ int) *goldap.AddRequest {
			a := goldap.NewAddRequest(harness.UserDN(p.UID), nil)
			a.Attribute("objectClass", []string{"inetOrgPerson"})
			a.Attribute("uid", []string{p.UID})
			a.Attribute("cn", []string{p.Name})
			a.Attribute("sn", []string{p.Name})
			a.Attribute("mail", []string{p.Email})
			return a
		},
	}
}

// dsWatch is a 389 Directory Server (persistent search), the company
// under ou=watch of its FreeIPA-like suffix, read as its service account.
func dsWatch(t *testing.T) *watchDirectory {
	srv := dstest.Start(t)
	base := "ou=watch," + dstest.Suffix
	url, blink := blinkingLDAPS(t, srv.LDAPSURL)
	w := &watchDirectory{
		feed: "persistent_search", mail: "mail", password: dstest.ServicePW, blink: blink,
		person: func(uid string) string { return "uid=" + uid + ",ou=people," + base },
		group:  func(name string) string { return "cn=" + name + ",ou=groups," + base },
		admin: func(t *testing.T) *goldap.Conn {
			c, err := srv.Dial(srv.LDAPSURL)
			if err == nil {
				err = c.Bind(dstest.RootDN, dstest.RootPW)
			}
			if err != nil {
				t.Fatal(err)
			}
			return c
		},
		disable: func(m *goldap.ModifyRequest) { m.Replace("nsAccountLock", []string{"TRUE"}) },
		enable:  func(m *goldap.ModifyRequest) { m.Replace("nsAccountLock", []string{"FALSE"}) },
		stop:    func(*testing.T) { srv.StopServer() },
		start:   func(t *testing.T) { srv.Restart(t) },
		ldap: fmt.Sprintf(`      url: %s
      ca_file: %s
      bind_dn: %s
      bind_password_file: %%PASSWORD_FILE%%
      timeout: 10s
      users:
        base_dn: "ou=people,%s"
        filter: (objectClass=person)
        id_attribute: ipaUniqueID
        name_attribute: displayName
        skip_disabled: true
      groups:
        base_dn: "ou=groups,%s"
        filter: (objectClass=groupOfNames)
        member_attributes: [member]
`, url, srv.CAFile, dstest.ServiceDN, base, base),
	}
	c := w.admin(t)
	defer c.Close()
	adds := []*goldap.AddRequest{ou(base, "watch"), ou("ou=people,"+base, "people"), ou("ou=groups,"+base, "groups")}
	w.newPerson = func(p harness.Person, n int) *goldap.AddRequest {
		a := goldap.NewAddRequest(w.person(p.UID), nil)
		a.Attribute("objectClass", []string{"top", "person", "organizationalPerson", "inetOrgPerson", "ipaObject"})
		a.Attribute("uid", []string{p.UID})
		a.Attribute("cn", []string{p.Name})
		a.Attribute("sn", []string{p.Name})
		a.Attribute("displayName", []string{p.Name})
		a.Attribute("mail", []string{p.Email})
		a.Attribute("ipaUniqueID", []string{fmt.Sprintf("watch-%04d", n)})
		return a
	}
	for i, p := range watchPeople() {
		adds = append(adds, w.newPerson(p, i))
	}
	adds = append(adds, groupAdds(w, []string{"top", "groupOfNames", "nestedGroup"})...)
	addAll(t, c, adds)
	return w
}

// sambaWatch is a Samba Active Directory domain controller (DirSync), the
// company under OU=Watch, read as Administrator, who has the "Replicating
// Directory Changes" right.
func sambaWatch(t *testing.T) *watchDirectory {
	srv := sambatest.Start(t)
	base := "OU=Watch," + sambatest.BaseDN
	url, blink := blinkingLDAPS(t, srv.LDAPSURL)
	w := &watchDirectory{
		feed: "dirsync", mail: "mail", password: sambatest.AdminPW, blink: blink,
		person:  func(uid string) string { return "CN=" + uid + ",OU=People," + base },
		group:   func(name string) string { return "CN=" + name + ",OU=Groups," + base },
		admin:   func(t *testing.T) *goldap.Conn { c, err := srv.AdminConn(); must(t, err); return c },
		disable: func(m *goldap.ModifyRequest) { m.Replace("userAccountControl", []string{"546"}) },
		enable:  func(m *goldap.ModifyRequest) { m.Replace("userAccountControl", []string{"544"}) },
		stop:    func(*testing.T) { srv.StopServer() },
		start:   func(t *testing.T) { srv.Restart(t) },
		ldap: fmt.Sprintf(`      url: %s
      ca_file: %s
      bind_dn: %s
      bind_password_file: %%PASSWORD_FILE%%
      timeout: 10s
      active_directory: {}
      users:
        base_dn: "OU=People,%s"
        skip_disabled: true
      groups:
        base_dn: "OU=Groups,%s"
`, url, srv.CAFile, sambatest.AdminUPN, base, base),
	}
	c := w.admin(t)
	defer c.Close()
	adds := []*goldap.AddRequest{adOU(base), adOU("OU=People," + base), adOU("OU=Groups," + base)}
	w.newPerson = func(p harness.Person, _ int) *goldap.AddRequest {
		a := goldap.NewAddRequest(w.person(p.UID), nil)
		a.Attribute("objectClass", []string{"top", "person", "organizationalPerson", "user"})
		a.Attribute("sAMAccountName", []string{"w-" + p.UID})
		a.Attribute("displayName", []string{p.Name})
		a.Attribute("mail", []string{p.Email})
		a.Attribute("userAccountControl", []string{"544"})
		return a
	}
	for i, p := range watchPeople() {
		adds = append(adds, w.newPerson(p, i))
	}
	adds = append(adds, groupAdds(w, []string{"top", "group"})...)
	addAll(t, c, adds)
	return w
}

// blinkingLDAPS is slapdtest.Blinking in front of an ldaps:// server, for
// syncd's connections (the admin's go straight).
func blinkingLDAPS(t *testing.T, ldapsURL string) (string, func()) {
	target := strings.TrimPrefix(ldapsURL, "ldaps://")
	if _, _, err := net.SplitHostPort(target); err != nil {
		target = net.JoinHostPort(target, "636")
	}
	addr, blink := slapdtest.Blinking(t, target)
	return "ldaps://" + addr, blink
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func ou(dn, name string) *goldap.AddRequest {
	a := goldap.NewAddRequest(dn, nil)
	a.Attribute("objectClass", []string{"top", "organizationalUnit"})
	a.Attribute("ou", []string{name})
	return a
}

func adOU(dn string) *goldap.AddRequest {
	a := goldap.NewAddRequest(dn, nil)
	a.Attribute("objectClass", []string{"top", "organizationalUnit"})
	return a
}

// groupAdds adds the company's groups in an order that puts a nested
// group before the group holding it.
func groupAdds(w *watchDirectory, classes []string) []*goldap.AddRequest {
	var out []*goldap.AddRequest
	for _, g := range watchGroups {
		a := goldap.NewAddRequest(w.group(g.name), nil)
		a.Attribute("objectClass", classes)
		a.Attribute("cn", []string{g.name})
		var members []string
		for _, m := range g.members {
			if name, ok := strings.CutPrefix(m, "group:"); ok {
				members = append(members, w.group(name))
			} else {
				members = append(members, w.person(m))
			}
		}
		a.Attribute("member", members)
		out = append(out, a)
	}
	return out
}

func addAll(t *testing.T, c *goldap.Conn, adds []*goldap.AddRequest) {
	t.Helper()
	for _, a := range adds {
		if err := c.Add(a); err != nil {
			t.Fatalf("add %s: %v", a.DN, err)
		}
	}
}

// passwordFile writes the bind password to a private file in dir.
func (w *watchDirectory) passwordFile(t *testing.T, dir string) string {
	path := filepath.Join(dir, "ldap-password")
	must(t, os.WriteFile(path, []byte(w.password+"\n"), 0o600))
	return path
}

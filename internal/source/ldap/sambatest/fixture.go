package sambatest

import (
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"unicode/utf16"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/syncd/syncd/internal/source/ldap/fixture"
)

// Engineers is how many people the bulk of the domain has: one group holds
// them all, more than the 1,500 values Active Directory hands over at once.
const Engineers = 1600

// Where things are in the domain.
const (
	Staff       = "OU=Staff," + BaseDN
	Engineering = "OU=Engineering," + Staff
	Sales       = "OU=Sales," + Staff
	Groups      = "OU=Groups," + BaseDN
	OtherGroups = "OU=Other Groups," + BaseDN
	Contacts    = "OU=Contacts," + BaseDN
	Services    = "OU=Service Accounts," + BaseDN
	DomainUsers = "CN=Domain Users,CN=Users," + BaseDN
	// ForeignSID is a principal of another (trusted) domain, a member of
	// Team A: the domain keeps it as a foreign security principal.
	ForeignSID = "S-1-5-21-1000-2000-3000-4000"
	ForeignDN  = "CN=" + ForeignSID + ",CN=ForeignSecurityPrincipals," + BaseDN
	ContactDN  = "CN=Partner Contact," + Contacts
)

// GroupDN names a group of the fixture under OU=Groups (name escaped as in
// a DN).
func GroupDN(rdnValue string) string { return "CN=" + rdnValue + "," + Groups }

// EngineerDN names engineer i (1-based).
func EngineerDN(i int) string { return fmt.Sprintf("CN=Engineer %04d,%s", i, Engineering) }

// fixtureData is built once: the description and the operations that load it.
var fixtureData = sync.OnceValues(buildFixture)

// Fixture describes the domain as the tests see it after loading: the
// people syncd may read (with the accounts the domain has from its
// provisioning), the groups of OU=Groups and OU=Other Groups, Domain Users
// (the primary group of all but one person), a contact and a foreign
// security principal.
//
// Shapes: Team A -> Team B -> Team C -> Team A (a cycle; Team A also holds
// the contact and the foreign principal), All Engineering with 1,600
// members, Everyone holding Domain Users (everyone through primaryGroupID,
// which member does not show), Contractors, the primary group of Contractor
// Carl, who is therefore not in its member attribute, Hidden Parent
// holding a group outside OU=Groups, names with `,` `+` `"` and non-ASCII
// characters in people and groups, disabled accounts and people without
// e-mail.
func Fixture() *fixture.Directory {
	d, _ := fixtureData()
	return d
}

func fixtureKey() string {
	_, ops := fixtureData()
	var b strings.Builder
	for _, op := range ops {
		fmt.Fprintf(&b, "%s|%v|%v|%s\n", op.add.DN, op.add.Attributes, op.addValues, op.primary)
	}
	return b.String()
}

// op is one entry to add, or with addValues, values to add to an entry;
// primary, when set, is made the entry's primary group afterwards (Active
// Directory then moves the membership out of member).
type op struct {
	add       *goldap.AddRequest
	addValues bool
	primary   string
}

type person struct {
	rdn, name, login, mail string
	disabled               bool
	primary                string
}

func buildFixture() (*fixture.Directory, []op) {
	d := &fixture.Directory{DefaultPrimary: DomainUsers,
		Others: []string{ContactDN, ForeignDN}}
	var ops []op
	for _, ou := range []string{Staff, Engineering, Sales, Groups, OtherGroups, Contacts, Services} {
		ops = append(ops, op{add: addReq(ou, "objectClass", "organizationalUnit")})
	}
	// The accounts provisioning made: Administrator (no e-mail), Guest and
	// krbtgt (disabled; Guest's primary group is Domain Guests).
	d.People = append(d.People,
		fixture.Person{DN: "CN=Administrator,CN=Users," + BaseDN, Login: "Administrator", Builtin: true},
		fixture.Person{DN: "CN=Guest,CN=Users," + BaseDN, Login: "Guest", Disabled: true, Builtin: true,
			Primary: "CN=Domain Guests,CN=Users," + BaseDN},
		fixture.Person{DN: "CN=krbtgt,CN=Users," + BaseDN, Login: "krbtgt", Disabled: true, Builtin: true})
	addPerson := func(ou string, p person) {
		dn := "CN=" + p.rdn + "," + ou
		d.People = append(d.People, fixture.Person{DN: dn, Name: p.name, Login: p.login, Mail: p.mail,
			Disabled: p.disabled, Primary: p.primary})
		uac := "544" // a normal account that needs no password
		if p.disabled {
			uac = "546"
		}
		attrs := []string{"objectClass", "user", "sAMAccountName", p.login, "userPrincipalName", p.login + "@corp.example.org",
			"displayName", p.name, "userAccountControl", uac}
		if p.mail != "" {
			attrs = append(attrs, "mail", p.mail)
		}
		ops = append(ops, op{add: addReq(dn, attrs...), primary: p.primary})
	}
	var engineers []string
	for i := 1; i <= Engineers; i++ {
		p := person{rdn: fmt.Sprintf("Engineer %04d", i), name: fmt.Sprintf("Engineer %04d", i),
			login: fmt.Sprintf("eng%04d", i), mail: fmt.Sprintf("eng%04d@corp.example.org", i),
			disabled: i%250 == 0}
		if i%97 == 0 {
			p.mail = ""
		}
		addPerson(Engineering, p)
		engineers = append(engineers, EngineerDN(i))
	}
	contractors := GroupDN("Contractors")
	specials := []person{
		{rdn: `Smith\, John`, name: "Smith, John", login: "jsmith", mail: "john.smith@corp.example.org"},
		{rdn: `R\+D Lead`, name: "R+D Lead", login: "rdlead", mail: "rd.lead@corp.example.org"},
		{rdn: `Jim \"Jimbo\" Jones`, name: `Jim "Jimbo" Jones`, login: "jjones", mail: "jim.jones@corp.example.org"},
		{rdn: "Zoë Ångström", name: "Zoë Ångström", login: "zangstrom", mail: "Zoe.Angstrom@Corp.Example.ORG"},
		{rdn: "山田 太郎", name: "山田 太郎", login: "tyamada", mail: "taro.yamada@corp.example.org"},
		{rdn: "No Mail", name: "No Mail", login: "nomail"},
		{rdn: "Disabled Dan", name: "Disabled Dan", login: "ddan", mail: "dan@corp.example.org", disabled: true},
		{rdn: "Contractor Carl", name: "Contractor Carl", login: "ccarl", mail: "carl@corp.example.org", primary: contractors},
	}
	for _, p := range specials {
		addPerson(Sales, p)
	}
	sales := func(rdn string) string { return "CN=" + rdn + "," + Sales }
	// The reader account, without e-mail; it is a person too.
	d.People = append(d.People, fixture.Person{DN: ServiceDN, Name: "syncd reader", Login: "svc-syncd"})
	ops = append(ops, op{add: addReq(ServiceDN, "objectClass", "user", "sAMAccountName", "svc-syncd",
		"userPrincipalName", ServiceUPN, "displayName", "syncd reader", "userAccountControl", "512",
		"unicodePwd", unicodePwd(ServicePW))})
	ops = append(ops, op{add: addReq(ContactDN, "objectClass", "contact", "displayName", "Partner Contact",
		"mail", "partner@partner.example.net")})

	addGroup := func(dn, name string, members ...string) {
		d.Groups = append(d.Groups, fixture.Group{DN: dn, Name: name, Members: members})
		attrs := []string{"objectClass", "group"}
		for _, m := range members {
			if m == ForeignDN {
				m = "<SID=" + ForeignSID + ">" // how AD is asked to make a foreign principal
			}
			attrs = append(attrs, "member", m)
		}
		ops = append(ops, op{add: addReq(dn, attrs...)})
	}
	addGroup(GroupDN("All Engineering"), "All Engineering", engineers...)
	addGroup(GroupDN("Team C"), "Team C", EngineerDN(4))
	addGroup(GroupDN("Team B"), "Team B", EngineerDN(3), GroupDN("Team C"))
	addGroup(GroupDN("Team A"), "Team A", EngineerDN(1), EngineerDN(2), GroupDN("Team B"), ContactDN, ForeignDN)
	ops = append(ops, op{add: addReq(GroupDN("Team C"), "member", GroupDN("Team A")), addValues: true})
	d.Group("Team C").Members = append(d.Group("Team C").Members, GroupDN("Team A"))
	// Carl is added as a member first, as AD requires, and then leaves the
	// member list when Contractors becomes his primary group.
	addGroup(contractors, "Contractors", sales(`Smith\, John`), sales("Contractor Carl"))
	d.Group("Contractors").Members = []string{sales(`Smith\, John`)}
	addGroup(GroupDN("Everyone"), "Everyone", DomainUsers, sales("Zoë Ångström"))
	addGroup(GroupDN("Special Names"), "Special Names", sales(`Smith\, John`), sales(`R\+D Lead`),
		sales(`Jim \"Jimbo\" Jones`), sales("Zoë Ångström"), sales("山田 太郎"), sales("No Mail"), sales("Disabled Dan"))
	addGroup(GroupDN(`Sales\, EMEA`), "Sales, EMEA", sales(`Smith\, John`), sales(`R\+D Lead`))
	addGroup(GroupDN(`R\+D`), "R+D", sales(`Jim \"Jimbo\" Jones`), GroupDN(`Sales\, EMEA`))
	addGroup(GroupDN("Équipe Zoë"), "Équipe Zoë", sales("Zoë Ångström"), sales("山田 太郎"))
	addGroup(GroupDN("Empty"), "Empty")
	addGroup("CN=Elsewhere,"+OtherGroups, "Elsewhere", EngineerDN(5))
	addGroup(GroupDN("Hidden Parent"), "Hidden Parent", "CN=Elsewhere,"+OtherGroups, EngineerDN(6))
	// Domain Users lists, after the move, the one person whose primary
	// group it no longer is.
	d.Groups = append(d.Groups, fixture.Group{DN: DomainUsers, Name: "Domain Users",
		Members: []string{sales("Contractor Carl")}, Builtin: true})
	return d, ops
}

func addReq(dn string, typeValues ...string) *goldap.AddRequest {
	r := goldap.NewAddRequest(dn, nil)
	for i := 0; i+1 < len(typeValues); i += 2 {
		t, v := typeValues[i], typeValues[i+1]
		if n := len(r.Attributes); n > 0 && r.Attributes[n-1].Type == t {
			r.Attributes[n-1].Vals = append(r.Attributes[n-1].Vals, v)
			continue
		}
		r.Attribute(t, []string{v})
	}
	return r
}

// unicodePwd is AD's password attribute value: the password in double
// quotes, UTF-16LE.
func unicodePwd(pw string) string {
	u := utf16.Encode([]rune(`"` + pw + `"`))
	b := make([]byte, 0, 2*len(u))
	for _, c := range u {
		b = binary.LittleEndian.AppendUint16(b, c)
	}
	return string(b)
}

// load adds the fixture over LDAPS as Administrator: the OUs, then the
// people over a few connections at once, then the rest in order, and last
// the primary groups, which must exist and hold their people first.
func load(s *Server) error {
	_, ops := fixtureData()
	var phases [3][]op
	for _, o := range ops {
		switch class := firstValue(o.add, "objectClass"); class {
		case "organizationalUnit":
			phases[0] = append(phases[0], o)
		case "user":
			phases[1] = append(phases[1], o)
		default:
			phases[2] = append(phases[2], o)
		}
	}
	for i, conns := range []int{1, 4, 1} {
		if err := s.apply(phases[i], conns); err != nil {
			return err
		}
	}
	c, err := s.AdminConn()
	if err != nil {
		return err
	}
	defer c.Close()
	for _, o := range ops {
		if o.primary == "" {
			continue
		}
		rid, err := ridOf(c, o.primary)
		if err != nil {
			return err
		}
		m := goldap.NewModifyRequest(o.add.DN, nil)
		m.Replace("primaryGroupID", []string{rid})
		if err := c.Modify(m); err != nil {
			return wrap(o.add.DN, err)
		}
	}
	return nil
}

func firstValue(r *goldap.AddRequest, attr string) string {
	for _, a := range r.Attributes {
		if a.Type == attr && len(a.Vals) > 0 {
			return a.Vals[0]
		}
	}
	return ""
}

// apply runs ops over conns connections; with one, in order.
func (s *Server) apply(ops []op, conns int) error {
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	next := make(chan op)
	for range conns {
		c, err := s.AdminConn()
		if err != nil {
			return err
		}
		wg.Go(func() {
			defer c.Close()
			for o := range next {
				if err := s.do(c, o); err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
			}
		})
	}
	for _, o := range ops {
		next <- o
	}
	close(next)
	wg.Wait()
	if len(errs) > 0 {
		return errs[0]
	}
	return nil
}

func (s *Server) do(c *goldap.Conn, o op) error {
	if o.addValues {
		m := goldap.NewModifyRequest(o.add.DN, nil)
		for _, a := range o.add.Attributes {
			m.Add(a.Type, a.Vals)
		}
		return wrap(o.add.DN, c.Modify(m))
	}
	return wrap(o.add.DN, c.Add(o.add))
}

func wrap(dn string, err error) error {
	if err != nil {
		return fmt.Errorf("%s: %w", dn, err)
	}
	return nil
}

// ridOf reads the last part of an entry's objectSid.
func ridOf(c *goldap.Conn, dn string) (string, error) {
	res, err := c.Search(goldap.NewSearchRequest(dn, goldap.ScopeBaseObject, 0, 0, 0, false, "(objectClass=*)", []string{"objectSid"}, nil))
	if err != nil {
		return "", wrap(dn, err)
	}
	if len(res.Entries) != 1 {
		return "", fmt.Errorf("%s: not found", dn)
	}
	sid := res.Entries[0].GetRawAttributeValue("objectSid")
	if len(sid) < 12 {
		return "", fmt.Errorf("%s: no objectSid", dn)
	}
	return strconv.FormatUint(uint64(binary.LittleEndian.Uint32(sid[len(sid)-4:])), 10), nil
}

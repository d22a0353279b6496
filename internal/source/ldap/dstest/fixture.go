package dstest

import (
	"crypto/sha1"
	"encoding/base64"
	"fmt"
	"strings"
	"sync"

	"github.com/syncd/syncd/internal/source/ldap/fixture"
)

// The directory, laid out as FreeIPA lays out its own.
const (
	Suffix      = "dc=ipa,dc=example,dc=org"
	Accounts    = "cn=accounts," + Suffix
	Users       = "cn=users," + Accounts
	Groups      = "cn=groups," + Accounts
	SysAccounts = "cn=sysaccounts,cn=etc," + Suffix
	// Projects holds groups outside cn=groups,cn=accounts: read only
	// with the suffix as group base.
	Projects = "ou=projects," + Suffix
	// Partners is a referral object: searches through it get a
	// continuation reference to another server instead of its entries.
	Partners = "ou=partners," + Suffix
)

// The reader account, a FreeIPA system account, and a second one with a
// per-account size limit of 100 entries (nsSizeLimit).
const (
	ServiceDN = "uid=syncd," + SysAccounts
	ServicePW = "Syncd-Reader-2024"
	LimitedDN = "uid=limited," + SysAccounts
)

// ReadAttributes are the attributes the reader accounts may read (their
// only grant), as docs/freeipa-389ds.md gives them: what the FreeIPA
// example reads, and ref, without which 389-ds hides referral objects.
const ReadAttributes = "objectClass || cn || uid || displayName || mail || member || memberOf || ipaUniqueID || nsAccountLock || ref"

// Engineers is how many bulk people the directory has; ipausers holds
// them all (more than 1,500).
const Engineers = 1600

// Schema declares the few FreeIPA classes and attributes the fixture uses
// (FreeIPA ships them with its own schema; 389-ds alone does not have them).
// The OIDs are under 1.3.6.1.4.1.32473, the arc RFC 5612 reserves for
// documentation, since these are stand-ins.
const Schema = `dn: cn=schema
attributeTypes: ( 1.3.6.1.4.1.32473.1.1.1 NAME 'ipaUniqueID' DESC 'stand-in for FreeIPA ipaUniqueID' EQUALITY caseIgnoreMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 SINGLE-VALUE X-ORIGIN 'syncd tests' )
objectClasses: ( 1.3.6.1.4.1.32473.1.2.1 NAME 'ipaObject' SUP top AUXILIARY MAY ( ipaUniqueID ) X-ORIGIN 'syncd tests' )
objectClasses: ( 1.3.6.1.4.1.32473.1.2.2 NAME 'ipaUserGroup' SUP top AUXILIARY MAY ( description ) X-ORIGIN 'syncd tests' )
objectClasses: ( 1.3.6.1.4.1.32473.1.2.3 NAME 'nestedGroup' SUP top AUXILIARY MAY ( member $ memberOf ) X-ORIGIN 'syncd tests' )
`

// UserDN names a person by uid.
func UserDN(uid string) string { return "uid=" + uid + "," + Users }

// GroupDN names a group under cn=groups (cn escaped as in a DN).
func GroupDN(cn string) string { return "cn=" + cn + "," + Groups }

var fixtureData = sync.OnceValues(buildFixture)

// Fixture describes the directory: 1,600 bulk people in ipausers, people
// with `,` `+` `"` and non-ASCII characters in their names, one whose DN
// has a multi-valued RDN with an escaped comma, people without e-mail,
// locked accounts (nsAccountLock TRUE and true) and one explicitly
// unlocked (FALSE); groups team-a -> team-b -> team-c -> team-a (a cycle),
// groups whose names hold `,` `+` `"` and non-ASCII characters, an empty
// group; and under ou=projects a group hidden from the reader account by an
// access rule, one holding it, and one with a member behind the ou=partners
// referral.
func Fixture() *fixture.Directory {
	d, _ := fixtureData()
	return d
}

// LDIF is the directory as imported (ldif2db), entries in parent-first order.
func LDIF() string {
	_, ldif := fixtureData()
	return ldif
}

func buildFixture() (*fixture.Directory, string) {
	d := &fixture.Directory{Referred: []string{Partners}}
	var b strings.Builder
	entry := func(dn string, typeValues ...string) {
		fmt.Fprintf(&b, "dn:%s\n", value(dn))
		for i := 0; i+1 < len(typeValues); i += 2 {
			fmt.Fprintf(&b, "%s:%s\n", typeValues[i], value(typeValues[i+1]))
		}
		b.WriteString("\n")
	}
	reader := `userdn="ldap:///` + ServiceDN + ` || ldap:///` + LimitedDN + `"`
	entry(Suffix, "objectClass", "top", "objectClass", "domain", "dc", "ipa",
		"aci", `(targetattr="`+ReadAttributes+`")(version 3.0; acl "syncd: read people and groups"; allow (read, search, compare) `+reader+`;)`)
	for _, c := range []string{"accounts", "users,cn=accounts", "groups,cn=accounts", "etc", "sysaccounts,cn=etc"} {
		dn := "cn=" + c + "," + Suffix
		entry(dn, "objectClass", "top", "objectClass", "nsContainer", "cn", strings.Split(c, ",")[0])
	}
	entry(ServiceDN, "objectClass", "account", "objectClass", "simpleSecurityObject", "uid", "syncd",
		"userPassword", ssha(ServicePW))
	entry(LimitedDN, "objectClass", "account", "objectClass", "simpleSecurityObject", "uid", "limited",
		"userPassword", ssha(ServicePW), "nsSizeLimit", "100")

	n := 0
	addPerson := func(dn, uid, name, mail, lock string) {
		n++
		d.People = append(d.People, fixture.Person{DN: dn, Name: name, Login: uid, Mail: mail,
			Disabled: strings.EqualFold(lock, "true")})
		attrs := []string{"objectClass", "top", "objectClass", "person", "objectClass", "organizationalPerson",
			"objectClass", "inetOrgPerson", "objectClass", "inetUser", "objectClass", "posixAccount", "objectClass", "ipaObject",
			"uid", uid, "cn", name, "sn", name, "displayName", name, "uidNumber", fmt.Sprint(10000 + n),
			"gidNumber", fmt.Sprint(10000 + n), "homeDirectory", "/home/" + uid, "ipaUniqueID", uniqueID(n)}
		if mail != "" {
			attrs = append(attrs, "mail", mail)
		}
		if lock != "" {
			attrs = append(attrs, "nsAccountLock", lock)
		}
		entry(dn, attrs...)
	}
	addPerson(UserDN("admin"), "admin", "Administrator", "", "")
	var all []string
	for i := 1; i <= Engineers; i++ {
		uid := fmt.Sprintf("user%04d", i)
		mail, lock := uid+"@ipa.example.org", ""
		if i%97 == 0 {
			mail = ""
		}
		if i%250 == 0 {
			lock = "TRUE"
		}
		addPerson(UserDN(uid), uid, fmt.Sprintf("User %04d", i), mail, lock)
		all = append(all, UserDN(uid))
	}
	specials := []struct{ uid, name, mail, lock string }{
		{"jsmith", "Smith, John", "john.smith@ipa.example.org", ""},
		{"rdlead", "R+D Lead", "rd.lead@ipa.example.org", ""},
		{"jjones", `Jim "Jimbo" Jones`, "jim.jones@ipa.example.org", ""},
		{"zangstrom", "Zoë Ångström", "Zoe.Angstrom@IPA.Example.ORG", ""},
		{"tyamada", "山田 太郎", "taro.yamada@ipa.example.org", ""},
		{"nomail", "No Mail", "", ""},
		{"locked", "Locked Out", "locked@ipa.example.org", "TRUE"},
		{"locked2", "Locked Lowercase", "locked2@ipa.example.org", "true"},
		{"unlocked", "Unlocked Explicitly", "unlocked@ipa.example.org", "FALSE"},
	}
	for _, p := range specials {
		addPerson(UserDN(p.uid), p.uid, p.name, p.mail, p.lock)
		all = append(all, UserDN(p.uid))
	}
	jane := `cn=Smith\, Jane+uid=jane,` + Users
	addPerson(jane, "jane", "Smith, Jane", "jane.smith@ipa.example.org", "")
	all = append(all, jane)

	addGroup := func(dn, name string, hidden bool, members ...string) {
		n++
		d.Groups = append(d.Groups, fixture.Group{DN: dn, Name: name, Members: members, Hidden: hidden})
		attrs := []string{"objectClass", "top", "objectClass", "groupOfNames", "objectClass", "nestedGroup",
			"objectClass", "ipaUserGroup", "objectClass", "ipaObject", "objectClass", "posixGroup",
			"cn", name, "gidNumber", fmt.Sprint(10000 + n), "ipaUniqueID", uniqueID(n)}
		for _, m := range members {
			attrs = append(attrs, "member", m)
		}
		if hidden {
			attrs = append(attrs, "aci", `(targetattr="*")(version 3.0; acl "hidden from syncd"; deny (all) userdn="ldap:///`+ServiceDN+`";)`)
		}
		entry(dn, attrs...)
	}
	addGroup(GroupDN("ipausers"), "ipausers", false, all...)
	addGroup(GroupDN("admins"), "admins", false, UserDN("admin"))
	addGroup(GroupDN("team-c"), "team-c", false, UserDN("user0004"), GroupDN("team-a"))
	addGroup(GroupDN("team-b"), "team-b", false, UserDN("user0003"), GroupDN("team-c"))
	addGroup(GroupDN("team-a"), "team-a", false, UserDN("user0001"), UserDN("user0002"), GroupDN("team-b"))
	addGroup(GroupDN(`sales\, emea`), "sales, emea", false, UserDN("jsmith"), UserDN("rdlead"))
	addGroup(GroupDN(`r\+d`), "r+d", false, UserDN("jjones"), GroupDN(`sales\, emea`))
	addGroup(GroupDN(`the \"a\" team`), `the "a" team`, false, UserDN("zangstrom"), UserDN("tyamada"), UserDN("nomail"), jane)
	addGroup(GroupDN("équipe"), "équipe", false, UserDN("zangstrom"), UserDN("locked"), UserDN("unlocked"))
	addGroup(GroupDN("locked-ones"), "locked-ones", false, UserDN("locked"), UserDN("locked2"), UserDN("unlocked"), UserDN("user0250"))
	addGroup(GroupDN("empty"), "empty", false)

	entry(Projects, "objectClass", "top", "objectClass", "organizationalUnit", "ou", "projects")
	entry(Partners, "objectClass", "top", "objectClass", "referral", "objectClass", "extensibleObject", "ou", "partners",
		"ref", "ldap://partners.example.net/"+Partners)
	secret := "cn=secret-team," + Projects
	addGroup(secret, "secret-team", true, UserDN("user0007"))
	addGroup("cn=holds-secret,"+Projects, "holds-secret", false, secret, UserDN("user0008"))
	addGroup("cn=partner liaisons,"+Projects, "partner liaisons", false, UserDN("user0009"), "uid=pat,"+Partners)
	return d, b.String()
}

// value writes an LDIF value: base64 unless plain ASCII that LDIF allows
// as is.
func value(v string) string {
	for i := 0; i < len(v); i++ {
		if v[i] < 0x20 || v[i] > 0x7e {
			return ": " + base64.StdEncoding.EncodeToString([]byte(v))
		}
	}
	if v != "" && (v[0] == ' ' || v[0] == ':' || v[0] == '<') {
		return ": " + base64.StdEncoding.EncodeToString([]byte(v))
	}
	return " " + v
}

func uniqueID(n int) string { return fmt.Sprintf("%08x-5eed-4a1b-8c0d-%012x", n, n*7919) }

// ssha hashes a password the way 389-ds stores {SSHA} ones.
func ssha(pw string) string {
	salt := []byte("syncdsalt")
	h := sha1.Sum(append([]byte(pw), salt...))
	return "{SSHA}" + base64.StdEncoding.EncodeToString(append(h[:], salt...))
}

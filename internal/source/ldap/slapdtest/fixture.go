package slapdtest

import (
	"encoding/base64"
	"fmt"
	"strings"
)

// Fixture is a small directory with the shapes that trip up readers:
// groupOfNames, groupOfUniqueNames (with the #'…'B suffix), posixGroup with
// a memberUid that matches nobody, three levels of nesting with a cycle,
// non-ASCII names, a DN with an escaped comma (referred to as `\,` and as
// `\2C`), a multi-valued RDN, a user without e-mail, mixed-case e-mails,
// member DNs spelled with other case and spacing, and a member outside the
// user base.
//
// Users under ou=people: alice, bob, zoe (Zoë Ångström), jsmith (cn=Smith\,
// John), multi (cn=Multi+uid=multi), nomail. carol lives under ou=other.
var Fixture = `dn: ou=people,` + Suffix + `
objectClass: organizationalUnit
ou: people

dn: ou=groups,` + Suffix + `
objectClass: organizationalUnit
ou: groups

dn: ou=other,` + Suffix + `
objectClass: organizationalUnit
ou: other

` + person("uid=alice", "alice", "Alice Anders", "Alice@Example.COM", "alice.alt@example.com") +
	person("uid=bob", "bob", "Bob Brown", "bob@example.com") +
	person("uid=zoe", "zoe", "Zoë Ångström", "ZOE@example.com") +
	person(`cn=Smith\, John`, "jsmith", "Smith, John", "jsmith@example.com") +
	person("cn=Multi+uid=multi", "multi", "Multi", "multi@example.com") +
	person("uid=nomail", "nomail", "No Mail") +
	`dn: uid=carol,ou=other,` + Suffix + `
objectClass: inetOrgPerson
uid: carol
cn: Carol
sn: Carol
mail: carol@example.com

dn: cn=platform,ou=groups,` + Suffix + `
objectClass: groupOfNames
cn: platform
member: UID=Alice , OU=People,DC=Example,DC=com
member: cn=Smith\2C John,ou=people,` + Suffix + `
member: uid=multi+cn=Multi,ou=people,` + Suffix + `
member: uid=nomail,ou=people,` + Suffix + `
member: uid=carol,ou=other,` + Suffix + `

dn: cn=uniq,ou=groups,` + Suffix + `
objectClass: groupOfUniqueNames
cn: uniq
uniqueMember: uid=bob,ou=people,` + Suffix + `#'0101'B
uniqueMember: uid=alice,ou=people,` + Suffix + `

dn: cn=posix,ou=groups,` + Suffix + `
objectClass: posixGroup
cn: posix
gidNumber: 5000
memberUid: alice
memberUid: ZOE
memberUid: ghost

dn: cn=level1,ou=groups,` + Suffix + `
objectClass: groupOfNames
cn: level1
member: uid=bob,ou=people,` + Suffix + `
member: cn=level2,ou=groups,` + Suffix + `

dn: cn=level2,ou=groups,` + Suffix + `
objectClass: groupOfNames
cn: level2
member: uid=alice,ou=people,` + Suffix + `
member: cn=level3,ou=groups,` + Suffix + `

dn: cn=level3,ou=groups,` + Suffix + `
objectClass: groupOfNames
cn: level3
member: uid=zoe,ou=people,` + Suffix + `
member: cn=level1,ou=groups,` + Suffix + `

dn:: ` + b64("cn=équipe,ou=groups,"+Suffix) + `
objectClass: groupOfNames
cn:: ` + b64("équipe") + `
member: uid=zoe,ou=people,` + Suffix + `

`

func person(rdn, uid, cn string, mails ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "dn:: %s\nobjectClass: inetOrgPerson\nuid: %s\ncn:: %s\nsn: %s\n",
		b64(rdn+",ou=people,"+Suffix), uid, b64(cn), uid)
	for _, m := range mails {
		fmt.Fprintf(&b, "mail: %s\n", m)
	}
	b.WriteString("\n")
	return b.String()
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// People writes n inetOrgPerson entries under ou=people (with the ou) as
// LDIF: uid=userN, mail userN@example.com.
func People(n int) string {
	var b strings.Builder
	b.WriteString("dn: ou=people," + Suffix + "\nobjectClass: organizationalUnit\nou: people\n\n")
	for i := range n {
		fmt.Fprintf(&b, "dn: uid=user%d,ou=people,%s\nobjectClass: inetOrgPerson\nuid: user%d\ncn: User %d\nsn: %d\nmail: user%d@example.com\n\n",
			i, Suffix, i, i, i, i)
	}
	return b.String()
}

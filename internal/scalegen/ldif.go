package scalegen

import (
	"bufio"
	"io"
)

// WriteLDIF writes the company's directory as LDIF for slapadd: the two
// organisational units under BaseDN (not BaseDN itself, which a server's
// own base entry provides), then each person as an inetOrgPerson (uid,
// cn, sn, mail) and each group as a groupOfNames listing its members'
// DNs, parents before children. Read back with the users' id_attribute
// set to uid, it gives exactly Dir: the same ids, names, e-mail addresses
// and memberships.
func (c *Company) WriteLDIF(w io.Writer) error {
	bw := bufio.NewWriterSize(w, 1<<16)
	bw.WriteString("dn: " + PeopleDN + "\nobjectClass: organizationalUnit\nou: people\n\n")
	bw.WriteString("dn: " + GroupsDN + "\nobjectClass: organizationalUnit\nou: groups\n\n")
	for i := range c.Size.Users {
		uid := UID(i)
		u := c.Dir.Users[uid]
		bw.WriteString("dn: " + u.DN + "\nobjectClass: inetOrgPerson\nuid: " + uid + "\ncn: " + u.Name +
			"\nsn: " + uid + "\nmail: " + u.Emails[0] + "\n\n")
	}
	for _, g := range c.Dir.Groups {
		bw.WriteString("dn: " + g.DN + "\nobjectClass: groupOfNames\ncn: " + g.Name + "\n")
		for _, uid := range g.DirectMembers {
			bw.WriteString("member: " + c.Dir.Users[uid].DN + "\n")
		}
		bw.WriteString("\n")
	}
	return bw.Flush()
}

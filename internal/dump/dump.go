// Package dump renders what syncd read from one directory source, for
// `syncd source dump`: the JSON form of the command-line contract
// (DESIGN.md §4) and the same content as text for people. Nested groups
// are already resolved in what it is given.
package dump

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/syncd/syncd/internal/directory"
	"github.com/syncd/syncd/internal/jsonenc"
	"github.com/syncd/syncd/internal/plural"
	"github.com/syncd/syncd/internal/termsafe"
)

// Document is the JSON form. An unknown group carries "error" and null
// members: it must never read as empty.
type Document struct {
	Groups []Group `json:"groups"`
	Users  int     `json:"users"`
}

// Group is one directory group of a Document.
type Group struct {
	Name    string   `json:"name"`
	DN      string   `json:"dn"`
	Members []Member `json:"members"`
	Error   string   `json:"error,omitempty"`
}

// Member is one resolved member of a Group.
type Member struct {
	Email string `json:"email"`
	Name  string `json:"name"`
	ID    string `json:"id"`
}

// New builds the Document of d: groups by name, members by e-mail then id.
func New(d *directory.Directory) Document {
	out := Document{Groups: []Group{}, Users: len(d.Users)}
	for _, g := range sortedGroups(d) {
		dg := Group{Name: g.Name, DN: g.DN}
		if g.Err != nil {
			dg.Error = g.Err.Error()
		} else {
			dg.Members = members(d, g)
		}
		out.Groups = append(out.Groups, dg)
	}
	return out
}

// WriteJSON writes the Document of d, indented for people, byte for byte
// as json.Encoder with SetIndent("", "  ") writes it
// (TestWriteJSONSameAsEncoder), but straight from d into a buffered
// writer (strings by jsonenc): the encoder builds the whole document
// compact and then formats it again indented, which was half the CPU of
// a large dump.
func WriteJSON(w io.Writer, d *directory.Directory) error {
	out := newWriter(w)
	groups := sortedGroups(d)
	l := prepareLists(d, groups)
	defer l.close()
	out.b = append(out.b, "{\n  \"groups\": ["...)
	for i, g := range groups {
		if i > 0 {
			out.b = append(out.b, ',')
		}
		ms := l.next()
		writeJSONGroup(out, g, ms)
		l.recycle(ms)
	}
	if len(groups) > 0 {
		out.b = append(out.b, "\n  "...)
	}
	out.b = append(out.b, "],\n  \"users\": "...)
	out.b = strconv.AppendInt(out.b, int64(len(d.Users)), 10)
	out.b = append(out.b, "\n}\n"...)
	return out.close()
}

// writeJSONGroup writes one group of the document with its sorted
// members.
func writeJSONGroup(out *writer, g *directory.Group, ms []Member) {
	out.b = append(out.b, "\n    {\n      \"name\": "...)
	out.b = jsonenc.String(out.b, g.Name)
	out.b = append(out.b, ",\n      \"dn\": "...)
	out.b = jsonenc.String(out.b, g.DN)
	out.b = append(out.b, ",\n      \"members\": "...)
	if g.Err != nil {
		out.b = append(out.b, "null"...)
		if msg := g.Err.Error(); msg != "" { // omitempty
			out.b = append(out.b, ",\n      \"error\": "...)
			out.b = jsonenc.String(out.b, msg)
		}
		out.b = append(out.b, "\n    }"...)
		out.commit()
		return
	}
	out.b = append(out.b, '[')
	for j, m := range ms {
		if j > 0 {
			out.b = append(out.b, ',')
		}
		out.b = append(out.b, "\n        {\n          \"email\": "...)
		out.b = jsonenc.String(out.b, m.Email)
		out.b = append(out.b, ",\n          \"name\": "...)
		out.b = jsonenc.String(out.b, m.Name)
		out.b = append(out.b, ",\n          \"id\": "...)
		out.b = jsonenc.String(out.b, m.ID)
		out.b = append(out.b, "\n        }"...)
		out.commit()
	}
	if len(ms) > 0 {
		out.b = append(out.b, "\n      "...)
	}
	out.b = append(out.b, "]\n    }"...)
}

// Unknown counts the groups of d that could not be read completely.
func Unknown(d *directory.Directory) int {
	n := 0
	for _, g := range d.Groups {
		if g.Unknown() {
			n++
		}
	}
	return n
}

// members lists a group's resolved members, ordered by e-mail then id.
func members(d *directory.Directory, g *directory.Group) []Member {
	return membersIn(make([]Member, 0, len(g.Members)), d, g)
}

// membersIn is members in buf's memory (from its start): the renderers
// reuse one slice for every group.
func membersIn(buf []Member, d *directory.Directory, g *directory.Group) []Member {
	out := buf[:0]
	for _, id := range g.Members {
		u := d.Users[id]
		if u == nil {
			continue
		}
		m := Member{Name: u.Name, ID: u.ID}
		if len(u.Emails) > 0 {
			m.Email = u.Emails[0]
		}
		out = append(out, m)
	}
	slices.SortFunc(out, func(a, b Member) int {
		return cmp.Or(cmp.Compare(a.Email, b.Email), cmp.Compare(a.ID, b.ID))
	})
	return out
}

func sortedGroups(d *directory.Directory) []*directory.Group {
	gs := slices.Clone(d.Groups)
	slices.SortFunc(gs, func(a, b *directory.Group) int {
		return cmp.Or(cmp.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name)), cmp.Compare(a.DN, b.DN))
	})
	return gs
}

// WriteText prints the same content for people: a summary, then each
// group with its members, what was ignored and what could not be read.
// Every text value is directory data, shown with terminal controls
// escaped (termsafe): a name may hold an escape sequence.
func WriteText(w io.Writer, d *directory.Directory) error {
	// The first lists are prepared while every user is looked at.
	groups := sortedGroups(d)
	l := prepareLists(d, groups)
	defer l.close()
	var noMail []*directory.User
	for _, u := range d.Users {
		if len(u.Emails) == 0 {
			noMail = append(noMail, u)
		}
	}
	out := newWriter(w)
	out.printf("source %s: %s (%d without e-mail), %s (%d unknown)\n",
		d.Source, plural.Count(len(d.Users), "user"), len(noMail), plural.Count(len(d.Groups), "group"), Unknown(d))
	byDN := map[string]string{}
	for _, g := range d.Groups {
		byDN[g.DN] = g.Name
	}
	for _, g := range groups {
		ms := l.next()
		writeGroupText(out, g, byDN, ms)
		l.recycle(ms)
	}
	if len(noMail) > 0 {
		slices.SortFunc(noMail, func(a, b *directory.User) int { return cmp.Compare(a.DN+a.ID, b.DN+b.ID) })
		out.printf("\nusers without e-mail (kept, but no Teams account can match them):\n")
		for _, u := range noMail {
			out.printf("  %s  %s\n", orDash(u.Name), orDash(cmp.Or(u.DN, u.ID)))
		}
	}
	return out.close()
}

// writeGroupText prints one group with its sorted members.
func writeGroupText(out *writer, g *directory.Group, byDN map[string]string, ms []Member) {
	out.printf("\n%s  (%s)\n", g.Name, g.DN)
	if g.Err != nil {
		out.printf("  UNKNOWN: %v\n  (no removals are made for an unknown group)\n", g.Err)
		return
	}
	line := fmt.Sprintf("  %s", plural.Count(len(g.Members), "member"))
	if len(g.Subgroups) > 0 {
		names := make([]string, 0, len(g.Subgroups))
		for _, dn := range g.Subgroups {
			names = append(names, cmp.Or(byDN[dn], dn))
		}
		line += fmt.Sprintf(", nested groups: %s", strings.Join(names, ", "))
	}
	line += leftOut(g)
	out.printf("%s\n", line)
	for _, m := range ms {
		out.b = appendMemberLine(out.b, m)
		out.commit()
	}
}

// leftOut tells what a known group's listing named that is not among its
// members, each kind apart: inactive users were read and are no members;
// other references named nothing read (a 404 from a SCIM provider, an
// entry outside the LDAP bases). A member that could not be identified
// makes the group unknown instead, so it is never counted here.
func leftOut(g *directory.Group) string {
	var s string
	if g.Inactive > 0 {
		s += fmt.Sprintf(", %s left out", plural.Count(g.Inactive, "inactive user"))
	}
	if g.Ignored > 0 {
		s += fmt.Sprintf(", %s ignored (outside the users and groups read)", plural.Count(g.Ignored, "member reference"))
	}
	return s
}

// appendMemberLine appends "  %-40s %s\n" of the member's e-mail address
// and name, each escaped (termsafe), as termsafe.Fprintf would print it:
// the width counts characters, as fmt's does.
func appendMemberLine(b []byte, m Member) []byte {
	b = append(b, "  "...)
	start := len(b)
	b = termsafe.Append(b, cmp.Or(m.Email, "(no e-mail)"))
	if n := utf8.RuneCount(b[start:]); n < emailWidth {
		b = append(b, padding[:emailWidth-n]...)
	}
	b = append(b, ' ')
	b = termsafe.Append(b, m.Name)
	return append(b, '\n')
}

const (
	emailWidth = 40
	padding    = "                                        " // emailWidth spaces
)

func orDash(s string) string { return cmp.Or(s, "-") }

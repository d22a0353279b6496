// Package dump renders what syncd read from one directory source, for
// `syncd source dump`: the JSON form of the command-line contract
// (DESIGN.md §4) and the same content as text for people. Nested groups
// are already resolved in what it is given.
package dump

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/syncd/syncd/internal/directory"
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

// WriteJSON writes the Document of d, indented.
func WriteJSON(w io.Writer, d *directory.Directory) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(New(d))
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
	out := make([]Member, 0, len(g.Members))
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
func WriteText(w io.Writer, d *directory.Directory) error {
	var noMail []*directory.User
	for _, u := range d.Users {
		if len(u.Emails) == 0 {
			noMail = append(noMail, u)
		}
	}
	ew := &errWriter{w: w}
	ew.printf("source %s: %s (%d without e-mail), %s (%d unknown)\n",
		d.Source, plural.Count(len(d.Users), "user"), len(noMail), plural.Count(len(d.Groups), "group"), Unknown(d))
	byDN := map[string]string{}
	for _, g := range d.Groups {
		byDN[g.DN] = g.Name
	}
	for _, g := range sortedGroups(d) {
		writeGroupText(ew, d, g, byDN)
	}
	if len(noMail) > 0 {
		slices.SortFunc(noMail, func(a, b *directory.User) int { return cmp.Compare(a.DN+a.ID, b.DN+b.ID) })
		ew.printf("\nusers without e-mail (kept, but no Teams account can match them):\n")
		for _, u := range noMail {
			ew.printf("  %s  %s\n", orDash(u.Name), orDash(cmp.Or(u.DN, u.ID)))
		}
	}
	return ew.err
}

func writeGroupText(ew *errWriter, d *directory.Directory, g *directory.Group, byDN map[string]string) {
	ew.printf("\n%s  (%s)\n", g.Name, g.DN)
	if g.Err != nil {
		ew.printf("  UNKNOWN: %v\n  (no removals are made for an unknown group)\n", g.Err)
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
	if g.Ignored > 0 {
		line += fmt.Sprintf(", %s ignored (outside the users and groups read)", plural.Count(g.Ignored, "member reference"))
	}
	ew.printf("%s\n", line)
	for _, m := range members(d, g) {
		ew.printf("  %-40s %s\n", cmp.Or(m.Email, "(no e-mail)"), m.Name)
	}
}

func orDash(s string) string { return cmp.Or(s, "-") }

// errWriter keeps the first write error so printing code stays linear.
// Every text argument is directory data, shown with terminal controls
// escaped (termsafe): a name may hold an escape sequence.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) printf(format string, args ...any) {
	if e.err == nil {
		_, e.err = termsafe.Fprintf(e.w, format, args...)
	}
}

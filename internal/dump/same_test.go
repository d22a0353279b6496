package dump

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/syncd/syncd/internal/directory"
	"github.com/syncd/syncd/internal/plural"
	"github.com/syncd/syncd/internal/termsafe"
)

// oddDirectory holds what the renderers must write exactly as before:
// HTML and JSON specials, controls, bytes that are not UTF-8, line
// separators, wide and combining characters before the padded column, an
// address longer than the column, people without e-mail, unknown groups
// (one whose error says nothing), an empty group, nesting and ignored
// references.
func oddDirectory() *directory.Directory {
	users := map[string]*directory.User{}
	add := func(id, name string, emails ...string) {
		users[id] = &directory.User{ID: id, DN: "uid=" + id + ",ou=people", Name: name, Emails: emails}
	}
	add("1", "Ann <admin> & \"co\"", "ann@x.org")
	add("2", hostile, "eve\u202e@x.org")
	add("3", "李雷 Zoë", "李雷@例子.中国")
	add("4", "no mail\ttab")
	add("5", "bad \xff\xfe byte", "bad\xff@x.org")
	add("6", "sep \u2028 \u2029 \\ back", "a-very-long-address-past-the-column@subdomain.example.org")
	add("7", "combining e\u0301", "e\u0301@x.org")
	add("8", "bell \x07 \b \f \r \n", "ctl@x.org")
	return &directory.Directory{Source: "corp\x1b", Users: users, Groups: []*directory.Group{
		{Name: "b-team", DN: "cn=b-team,ou=g", DirectMembers: []string{"1", "2", "3", "4", "5", "6", "7", "8"}, Ignored: 2, Inactive: 3},
		{Name: "A-team <&>", DN: "cn=a,ou=g", DirectMembers: []string{"3"}, Subgroups: []string{"cn=b-team,ou=g", "cn=gone,ou=g"}},
		{Name: "empty", DN: "cn=empty,ou=g"},
		{Name: "broken", DN: "cn=broken,ou=g", Err: errors.New("server said \x1b[2J <no>")},
		{Name: "silent", DN: "cn=silent,ou=g", Err: errors.New("")},
		{Name: "b-team", DN: "cn=b-team,ou=other"},
	}}
}

// encoderJSON is WriteJSON as first written: the Document through
// json.Encoder, indented.
func encoderJSON(w io.Writer, d *directory.Directory) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(New(d))
}

func TestWriteJSONSameAsEncoder(t *testing.T) {
	for name, d := range map[string]*directory.Directory{
		"odd":       oddDirectory(),
		"no groups": {Source: "corp", Users: map[string]*directory.User{}},
		"one empty": {Source: "corp", Groups: []*directory.Group{{Name: "e", DN: "cn=e"}}},
	} {
		d.Expand()
		var got, want bytes.Buffer
		if err := WriteJSON(&got, d); err != nil {
			t.Fatal(err)
		}
		if err := encoderJSON(&want, d); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.Bytes(), want.Bytes()) {
			t.Errorf("%s: WriteJSON differs from json.Encoder:\n got %q\nwant %q", name, got.String(), want.String())
		}
	}
}

// fmtText is WriteText as first written: a termsafe.Fprintf per line.
func fmtText(w io.Writer, d *directory.Directory) {
	var noMail []*directory.User
	for _, u := range d.Users {
		if len(u.Emails) == 0 {
			noMail = append(noMail, u)
		}
	}
	termsafe.Fprintf(w, "source %s: %s (%d without e-mail), %s (%d unknown)\n",
		d.Source, plural.Count(len(d.Users), "user"), len(noMail), plural.Count(len(d.Groups), "group"), Unknown(d))
	byDN := map[string]string{}
	for _, g := range d.Groups {
		byDN[g.DN] = g.Name
	}
	for _, g := range sortedGroups(d) {
		termsafe.Fprintf(w, "\n%s  (%s)\n", g.Name, g.DN)
		if g.Err != nil {
			termsafe.Fprintf(w, "  UNKNOWN: %v\n  (no removals are made for an unknown group)\n", g.Err)
			continue
		}
		line := fmt.Sprintf("  %s", plural.Count(len(g.Members), "member"))
		if len(g.Subgroups) > 0 {
			names := make([]string, 0, len(g.Subgroups))
			for _, dn := range g.Subgroups {
				names = append(names, cmp.Or(byDN[dn], dn))
			}
			line += fmt.Sprintf(", nested groups: %s", strings.Join(names, ", "))
		}
		if g.Inactive > 0 {
			line += fmt.Sprintf(", %s left out", plural.Count(g.Inactive, "inactive user"))
		}
		if g.Ignored > 0 {
			line += fmt.Sprintf(", %s ignored (outside the users and groups read)", plural.Count(g.Ignored, "member reference"))
		}
		termsafe.Fprintf(w, "%s\n", line)
		for _, m := range members(d, g) {
			termsafe.Fprintf(w, "  %-40s %s\n", cmp.Or(m.Email, "(no e-mail)"), m.Name)
		}
	}
	if len(noMail) > 0 {
		slices.SortFunc(noMail, func(a, b *directory.User) int { return cmp.Compare(a.DN+a.ID, b.DN+b.ID) })
		termsafe.Fprintf(w, "\nusers without e-mail (kept, but no Teams account can match them):\n")
		for _, u := range noMail {
			termsafe.Fprintf(w, "  %s  %s\n", orDash(u.Name), orDash(cmp.Or(u.DN, u.ID)))
		}
	}
}

func TestWriteTextSameAsFprintf(t *testing.T) {
	d := oddDirectory()
	d.Expand()
	var got, want bytes.Buffer
	if err := WriteText(&got, d); err != nil {
		t.Fatal(err)
	}
	fmtText(&want, d)
	if !bytes.Equal(got.Bytes(), want.Bytes()) {
		t.Errorf("WriteText differs from a termsafe.Fprintf per line:\n got %q\nwant %q", got.String(), want.String())
	}
}

// A dump larger than the buffer arrives whole and in order, in writes of
// the buffer's size, not one per line.
func TestLargeDumpIsBuffered(t *testing.T) {
	d := &directory.Directory{Source: "corp", Users: map[string]*directory.User{}}
	var ids []string
	for i := range 3000 {
		id := fmt.Sprintf("u%05d", i)
		d.Users[id] = &directory.User{ID: id, Name: "Person " + id, Emails: []string{id + "@example.org"}}
		ids = append(ids, id)
	}
	for g := range 20 {
		d.Groups = append(d.Groups, &directory.Group{Name: fmt.Sprintf("g%02d", g), DN: fmt.Sprintf("cn=g%02d", g), DirectMembers: ids[g*100 : g*100+500]})
	}
	d.Expand()
	for name, write := range map[string]func(io.Writer, *directory.Directory) error{"json": WriteJSON, "text": WriteText} {
		var got countingWriter
		if err := write(&got, d); err != nil {
			t.Fatal(err)
		}
		var want bytes.Buffer
		if name == "json" {
			_ = encoderJSON(&want, d)
		} else {
			fmtText(&want, d)
		}
		if !bytes.Equal(got.Bytes(), want.Bytes()) {
			t.Errorf("%s: %d bytes written, want the %d of the unbuffered form", name, got.Len(), want.Len())
		}
		if most := want.Len()/(60<<10) + 1; got.writes > most {
			t.Errorf("%s: %d write calls for %d bytes, want at most %d", name, got.writes, want.Len(), most)
		}
	}
}

type countingWriter struct {
	bytes.Buffer
	writes int
}

func (c *countingWriter) Write(p []byte) (int, error) {
	c.writes++
	return c.Buffer.Write(p)
}

// The first write error ends the dump and is returned.
func TestWriteError(t *testing.T) {
	d := oddDirectory()
	d.Expand()
	boom := errors.New("disk full")
	for name, write := range map[string]func(io.Writer, *directory.Directory) error{"json": WriteJSON, "text": WriteText} {
		if err := write(failingWriter{boom}, d); !errors.Is(err, boom) {
			t.Errorf("%s: error %v, want %v", name, err, boom)
		}
	}
}

type failingWriter struct{ err error }

func (f failingWriter) Write([]byte) (int, error) { return 0, f.err }

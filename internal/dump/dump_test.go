package dump

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/syncd/syncd/internal/directory"
)

func TestDumpShowsUnknownGroups(t *testing.T) {
	d := &directory.Directory{Source: "corp", Users: map[string]*directory.User{
		"1": {ID: "1", Name: "Ann", Emails: []string{"ann@x.org"}}}, Groups: []*directory.Group{
		{Name: "ok", DN: "cn=ok", DirectMembers: []string{"1"}},
		{Name: "broken", DN: "cn=broken", Err: errors.New("Size Limit Exceeded")},
	}}
	d.Expand()
	var js, text bytes.Buffer
	if err := WriteJSON(&js, d); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(js.String(), `"members": null,`) || !strings.Contains(js.String(), `"error": "Size Limit Exceeded"`) {
		t.Errorf("unknown group in JSON must have null members and its error:\n%s", js.String())
	}
	if err := WriteText(&text, d); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(text.String(), "UNKNOWN: Size Limit Exceeded") || !strings.Contains(text.String(), "(1 unknown)") {
		t.Errorf("text dump hides the unknown group:\n%s", text.String())
	}
	if n := Unknown(d); n != 1 {
		t.Errorf("Unknown = %d, want 1", n)
	}
}

// hostile are values a directory may hold that a terminal would act on:
// a clear-screen, a window title, a C1 CSI, and a right-to-left override.
const hostile = "Eve \x1b[2J\x1b]0;pwned\x07 \u009b31m \u202eexe.txt"

func TestDumpTextEscapesControls(t *testing.T) {
	d := &directory.Directory{Source: "corp", Users: map[string]*directory.User{
		"1": {ID: "1", Name: hostile, Emails: []string{"eve\u202e@x.org"}},
		"2": {ID: "2", Name: hostile, DN: "uid=" + hostile}}, Groups: []*directory.Group{
		{Name: "g " + hostile, DN: "cn=" + hostile, DirectMembers: []string{"1"}},
		{Name: "broken", DN: "cn=broken", Err: errors.New("server said " + hostile)},
	}}
	d.Expand()
	var text bytes.Buffer
	if err := WriteText(&text, d); err != nil {
		t.Fatal(err)
	}
	out := text.String()
	if i := strings.IndexAny(out, "\x1b\x07\u009b\u202e"); i >= 0 {
		t.Errorf("the text dump prints a terminal control raw at byte %d:\n%q", i, out)
	}
	if !strings.Contains(out, `\x1b[2J`) || !strings.Contains(out, `\u202eexe.txt`) {
		t.Errorf("the text dump does not show the controls escaped:\n%q", out)
	}
	if strings.Count(out, `\x1b[2J`) < 5 {
		t.Errorf("some field is printed raw or not at all:\n%s", out)
	}
}

// Members are ordered by e-mail then id; groups by name, case-insensitively.
func TestDocumentOrder(t *testing.T) {
	d := &directory.Directory{Source: "corp", Users: map[string]*directory.User{
		"2": {ID: "2", Name: "B", Emails: []string{"b@x.org"}},
		"1": {ID: "1", Name: "A", Emails: []string{"a@x.org"}},
		"3": {ID: "3", Name: "No mail"}}, Groups: []*directory.Group{
		{Name: "beta", DN: "cn=beta", DirectMembers: []string{"2", "1", "3"}},
		{Name: "Alpha", DN: "cn=alpha"},
	}}
	d.Expand()
	doc := New(d)
	if len(doc.Groups) != 2 || doc.Groups[0].Name != "Alpha" || doc.Groups[1].Name != "beta" || doc.Users != 3 {
		t.Fatalf("document = %+v", doc)
	}
	var got []string
	for _, m := range doc.Groups[1].Members {
		got = append(got, m.ID)
	}
	if strings.Join(got, ",") != "3,1,2" {
		t.Errorf("members in order %v, want 3 (no e-mail), 1, 2", got)
	}
	if doc.Groups[0].Members == nil {
		t.Error("an empty group that was read has null members: it would read as unknown")
	}
}

// TestDumpTextCountsApart: inactive users and references to nothing read
// are counted apart, so that a read problem is not hidden among people
// the directory disabled.
func TestDumpTextCountsApart(t *testing.T) {
	d := &directory.Directory{Source: "idp", Users: map[string]*directory.User{}, Groups: []*directory.Group{
		{Name: "both", DN: "g1", Inactive: 2, Ignored: 1},
		{Name: "inactive", DN: "g2", Inactive: 1},
	}}
	d.Expand()
	var text bytes.Buffer
	if err := WriteText(&text, d); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"0 members, 2 inactive users left out, 1 member reference ignored (outside the users and groups read)\n",
		"0 members, 1 inactive user left out\n",
	} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text dump lacks %q:\n%s", want, text.String())
		}
	}
}

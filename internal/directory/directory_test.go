package directory

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

// fixture: all -> (eng -> (ops -> eng: a cycle)), and broken, unreadable.
func fixture() *Directory {
	return &Directory{
		Users: map[string]*User{"a": {ID: "a"}, "b": {ID: "b"}, "c": {ID: "c"}},
		Groups: []*Group{
			{Name: "all", DN: "cn=all", DirectMembers: []string{"a"}, Subgroups: []string{"cn=eng"}},
			{Name: "eng", DN: "cn=eng", DirectMembers: []string{"b"}, Subgroups: []string{"cn=ops"}},
			{Name: "ops", DN: "cn=ops", DirectMembers: []string{"c", "b"}, Subgroups: []string{"cn=eng", "cn=missing"}},
			{Name: "wrap", DN: "cn=wrap", Subgroups: []string{"cn=broken"}},
			{Name: "broken", DN: "cn=broken", Err: errors.New("size limit exceeded")},
		},
	}
}

func TestExpandResolvesNestingAndCycles(t *testing.T) {
	d := fixture()
	d.Expand()
	for name, want := range map[string][]string{
		"all": {"a", "b", "c"},
		"eng": {"b", "c"},
		"ops": {"b", "c"},
	} {
		g := d.Group(name)
		if !slices.Equal(g.Members, want) {
			t.Errorf("%s: members = %v, want %v", name, g.Members, want)
		}
		if g.Unknown() {
			t.Errorf("%s: unknown (%v), want known", name, g.Err)
		}
	}
}

func TestExpandPropagatesUnknown(t *testing.T) {
	d := fixture()
	d.Expand()
	wrap := d.Group("wrap")
	if !errors.Is(wrap.Err, ErrNestedUnknown) {
		t.Fatalf("wrap: err = %v, want ErrNestedUnknown", wrap.Err)
	}
	if got := d.Group("broken").Err.Error(); got != "size limit exceeded" {
		t.Errorf("broken keeps its own error, got %q", got)
	}
}

func TestPathFollowsNesting(t *testing.T) {
	d := fixture()
	d.Expand()
	all := d.Group("all")
	if got, want := d.Path(all, "c"), []string{"all", "eng", "ops"}; !slices.Equal(got, want) {
		t.Errorf("path to c = %v, want %v", got, want)
	}
	if got := d.Path(all, "a"); !slices.Equal(got, []string{"all"}) {
		t.Errorf("path to a = %v, want [all]", got)
	}
	if got := d.Path(d.Group("wrap"), "a"); got != nil {
		t.Errorf("path to a non-member = %v, want nil", got)
	}
}

func TestGroupLookup(t *testing.T) {
	d := fixture()
	for key, want := range map[string]string{"ENG": "eng", "CN=Ops": "ops", " cn = all ": "all"} {
		g := d.Group(key)
		if g == nil || g.Name != want {
			t.Errorf("Group(%q) = %v, want %s", key, g, want)
		}
	}
	if g := d.Group("nope"); g != nil {
		t.Errorf("Group(nope) = %v, want nil", g)
	}
}

func TestLookupByEscapedDNAndAmbiguousName(t *testing.T) {
	d := &Directory{Groups: []*Group{
		{Name: "Smith, John", DN: `cn=Smith\, John,ou=groups,dc=x`},
		{Name: "eng", DN: "cn=eng,ou=emea,dc=x"},
		{Name: "eng", DN: "cn=eng,ou=us,dc=x"},
	}}
	g, err := d.Lookup(`CN=smith\2C john, OU=Groups,DC=X`)
	if err != nil || g == nil || g.Name != "Smith, John" {
		t.Errorf("escaped DN lookup = %v, %v; want the Smith group", g, err)
	}
	g, err = d.Lookup("ENG")
	if g != nil || !errors.Is(err, ErrAmbiguous) {
		t.Fatalf("shared name: %v, %v; want ErrAmbiguous", g, err)
	}
	for _, dn := range []string{"cn=eng,ou=emea,dc=x", "cn=eng,ou=us,dc=x"} {
		if !strings.Contains(err.Error(), dn) {
			t.Errorf("error %q does not name %s", err, dn)
		}
	}
	if g, err := d.Lookup("cn=eng,ou=us,dc=x"); err != nil || g != d.Groups[2] {
		t.Errorf("DN picks one of the namesakes: %v, %v", g, err)
	}
}

func TestNormalizeEmail(t *testing.T) {
	if got := NormalizeEmail("  Alice.Smith@Example.COM "); got != "alice.smith@example.com" {
		t.Errorf("NormalizeEmail = %q", got)
	}
}

func TestClosuresLeaveGroupsAlone(t *testing.T) {
	a := &Group{Name: "a", DN: "cn=a", DirectMembers: []string{"1"}, Subgroups: []string{"cn=b"}}
	b := &Group{Name: "b", DN: "cn=b", DirectMembers: []string{"2"}, Subgroups: []string{"cn=a"}}
	bad := &Group{Name: "bad", DN: "cn=bad", Err: errors.New("range cut")}
	c := &Group{Name: "c", DN: "cn=c", DirectMembers: []string{"3"}, Subgroups: []string{"cn=bad"}}
	d := &Directory{Groups: []*Group{a, b, bad, c}}
	got := d.Closures()
	if !slices.Equal(got[a], []string{"1", "2"}) || !slices.Equal(got[b], []string{"1", "2"}) || !slices.Equal(got[c], []string{"3"}) {
		t.Errorf("closures = %v", got)
	}
	if a.Members != nil || c.Err != nil {
		t.Errorf("Closures changed the groups: a.Members %v, c.Err %v", a.Members, c.Err)
	}
}

// A group that nests nothing gets its direct members sorted and unique,
// in a slice of its own: DirectMembers keeps the order the source gave.
func TestExpandFlatGroup(t *testing.T) {
	g := &Group{Name: "flat", DN: "cn=flat", DirectMembers: []string{"c", "a", "b", "a"}}
	empty := &Group{Name: "empty", DN: "cn=empty"}
	d := &Directory{Groups: []*Group{g, empty}}
	d.Expand()
	if !slices.Equal(g.Members, []string{"a", "b", "c"}) {
		t.Errorf("members = %v, want [a b c]", g.Members)
	}
	if !slices.Equal(g.DirectMembers, []string{"c", "a", "b", "a"}) {
		t.Errorf("Expand reordered DirectMembers: %v", g.DirectMembers)
	}
	if empty.Members == nil || len(empty.Members) != 0 {
		t.Errorf("an empty group's members = %#v, want empty, not nil", empty.Members)
	}
}

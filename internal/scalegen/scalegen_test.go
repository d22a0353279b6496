package scalegen

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"

	"github.com/syncd/syncd/internal/config"
	"github.com/syncd/syncd/internal/source/ldif"
	"github.com/syncd/syncd/internal/teams/emulator"
)

func TestGenerate(t *testing.T) {
	s := Size{Users: 500, Groups: 40, PerGroup: 30, Mappings: 20, Tags: 4}
	c := Generate(s)
	if len(c.Dir.Users) != s.Users || len(c.Dir.Groups) != s.Groups {
		t.Fatalf("%d users and %d groups, want %d and %d", len(c.Dir.Users), len(c.Dir.Groups), s.Users, s.Groups)
	}
	memberships := 0
	for _, g := range c.Dir.Groups {
		if len(g.Members) != s.PerGroup || !slices.IsSorted(g.Members) {
			t.Fatalf("group %s has %d members (sorted: %v), want %d", g.Name, len(g.Members), slices.IsSorted(g.Members), s.PerGroup)
		}
		memberships += len(g.Members)
	}
	if memberships != s.Memberships() {
		t.Errorf("%d memberships, want %d", memberships, s.Memberships())
	}
	if len(c.Config.Groups) != s.Mappings || len(c.Config.SMEs) != s.Tags {
		t.Fatalf("%d mappings and %d SME rules, want %d and %d", len(c.Config.Groups), len(c.Config.SMEs), s.Mappings, s.Tags)
	}
	for i, m := range c.Config.Groups {
		g, err := c.Dir.Lookup(m.From)
		if err != nil || g != c.Dir.Groups[i] || m.To != TeamsGroupName(i) {
			t.Errorf("mapping %d (from %q to %q) finds %v, %v", i, m.From, m.To, g, err)
		}
	}
	if again := Generate(s); !reflect.DeepEqual(again.Dir.Groups[7].Members, c.Dir.Groups[7].Members) {
		t.Error("the same size gave another company")
	}
}

// The steady seed is the Teams site in step: each mapped group with its
// directory members' Teams ids, each tag with the members of its group
// and that group as SMEs; the cold seed has the people and tags only.
func TestSeeds(t *testing.T) {
	c := Generate(Size{Users: 300, Groups: 12, PerGroup: 25, Mappings: 10, Tags: 3})
	steady, cold := c.SteadySeed(), c.ColdSeed()
	for _, seed := range []*emulator.Seed{steady, cold} {
		if err := seed.Validate(); err != nil {
			t.Fatal(err)
		}
	}
	if len(cold.UserGroups) != 0 || len(cold.Users) != 301 || len(cold.Tags) != 3 || len(cold.Tags[0].SMEUserIDs) != 0 {
		t.Errorf("cold seed: %d groups, %d users, %d tags", len(cold.UserGroups), len(cold.Users), len(cold.Tags))
	}
	if len(steady.UserGroups) != 10 {
		t.Fatalf("steady seed: %d groups, want 10", len(steady.UserGroups))
	}
	for g, sg := range steady.UserGroups {
		var want []int
		for _, uid := range c.Dir.Groups[g].Members {
			want = append(want, TeamsID(person(uid)))
		}
		if sg.Name != TeamsGroupName(g) || !slices.Equal(sg.UserIDs, want) {
			t.Errorf("Teams group %q has %v, want %v", sg.Name, sg.UserIDs, want)
		}
	}
	if tag := steady.Tags[2]; !slices.Equal(tag.SMEUserIDs, steady.UserGroups[2].UserIDs) || !slices.Equal(tag.SMEGroupIDs, []int{steady.UserGroups[2].ID}) {
		t.Errorf("tag %s: SMEs %v and groups %v", tag.Name, tag.SMEUserIDs, tag.SMEGroupIDs)
	}
}

// The LDIF, read back as a directory source reads it (ids from uid), is
// the generated directory: the same people and the same memberships.
func TestWriteLDIF(t *testing.T) {
	c := Generate(Size{Users: 300, Groups: 12, PerGroup: 25})
	path := filepath.Join(t.TempDir(), "company.ldif")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.WriteLDIF(f); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	r, err := ldif.New(Source, config.LDIF{Path: path,
		Users:  config.LDAPUsers{BaseDN: PeopleDN, IDAttribute: "uid"},
		Groups: config.LDAPGroups{BaseDN: GroupsDN}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := r.Read(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Users) != len(c.Dir.Users) || len(got.Groups) != len(c.Dir.Groups) {
		t.Fatalf("read %d users and %d groups, want %d and %d", len(got.Users), len(got.Groups), len(c.Dir.Users), len(c.Dir.Groups))
	}
	for id, want := range c.Dir.Users {
		if u := got.Users[id]; u == nil || u.Name != want.Name || u.DN != want.DN || !slices.Equal(u.Emails, want.Emails) {
			t.Errorf("user %s: read %+v, want %+v", id, u, want)
		}
	}
	for i, want := range c.Dir.Groups {
		g := got.Group(want.DN)
		if g == nil || g.Name != want.Name || !slices.Equal(g.Members, want.Members) {
			t.Errorf("group %d (%s): read %+v", i, want.Name, g)
		}
	}
}

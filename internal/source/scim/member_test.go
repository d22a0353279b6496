package scim

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/syncd/syncd/internal/config"
	"github.com/syncd/syncd/internal/directory"
)

// startMappedPeer runs the peer with js as its SCIM_MAP module: a
// function (kind, resource) => resource applied to every listed resource,
// to send what real providers send and scimmy never writes.
func startMappedPeer(tb testing.TB, s *seed, js string, env ...string) *peer {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "map.mjs")
	if err := os.WriteFile(path, []byte(js), 0o600); err != nil {
		tb.Fatal(err)
	}
	return startPeer(tb, s, append(env, "SCIM_MAP="+path)...)
}

// memberSeed: six active users and groups whose members the map below
// rewrites, one form per group.
func memberSeed() *seed {
	s := &seed{}
	var all []seedMember
	for _, id := range []string{"a", "b", "c", "d", "e", "f"} {
		s.Users = append(s.Users, seedUser{ID: id, UserName: id + "@corp.example", Active: true})
		all = append(all, seedMember{Value: id, Type: "User"})
	}
	for _, name := range []string{"ref-only", "ref-no-type", "value-empty", "value-null", "ref-group", "bad-ref", "ref-conflict", "sub"} {
		g := seedGroup{ID: "g-" + name, DisplayName: name, Members: slices.Clone(all)}
		if name == "ref-group" {
			g.Members = []seedMember{{Value: "a", Type: "User"}, {Value: "g-sub", Type: "Group"}}
		}
		if name == "sub" {
			g.Members = all[4:]
		}
		s.Groups = append(s.Groups, g)
	}
	return s
}

// memberMap rewrites the first members of each group the way the group's
// name says; "sub" and the users are left alone.
const memberMap = `
export default (kind, r) => {
	if (kind !== "Group") return r;
	const base = "https://idp.example.com/scim/v2/";
	const ms = r.members ?? [];
	switch (r.displayName) {
	case "ref-only":     ms.slice(0, 3).forEach((m) => { m.$ref = base + "Users/" + m.value; delete m.value; }); break;
	case "ref-no-type":  ms.slice(0, 3).forEach((m) => { m.$ref = base + "Users/" + m.value; delete m.value; delete m.type; }); break;
	case "value-empty":  ms[0].$ref = "/scim/v2/Users/" + ms[0].value; ms[0].value = ""; break;
	case "value-null":   ms[1].value = null; delete ms[1].$ref; break;
	case "ref-group":    ms[1].$ref = base + "Groups/" + ms[1].value; delete ms[1].value; delete ms[1].type; break;
	case "bad-ref":      ms[2].$ref = base + "People/" + ms[2].value; delete ms[2].value; break;
	case "ref-conflict": ms[0].$ref = base + "Users/" + ms[0].value; delete ms[0].value; ms[0].type = "Group"; break;
	}
	return r;
};
`

// TestMembersWithoutValue: a member named only by $ref is read from it; one
// that cannot be identified makes its group unknown, never smaller.
func TestMembersWithoutValue(t *testing.T) {
	p := startMappedPeer(t, memberSeed(), memberMap)
	dir, err := newReader(t, p.URL, peerToken, true).Read(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	six := []string{"a", "b", "c", "d", "e", "f"}
	for _, tc := range []struct {
		group   string
		members []string
		err     string // substring of the group's error; "" for a known group
	}{
		{"ref-only", six, ""},
		{"ref-no-type", six, ""},
		{"value-empty", six, ""},
		{"ref-group", []string{"a", "e", "f"}, ""},
		{"value-null", nil, "member 2 of 6: member cannot be identified: no value (missing, null or empty) and no $ref"},
		{"bad-ref", nil, `member 3 of 6: member cannot be identified: no value, and $ref "https://idp.example.com/scim/v2/People/c" does not end in Users/{id} or Groups/{id}`},
		{"ref-conflict", nil, `member 1 of 6: member cannot be identified: no value, and type "Group" contradicts $ref`},
	} {
		g := dir.Group(tc.group)
		switch {
		case g == nil:
			t.Errorf("group %s not read", tc.group)
		case tc.err == "" && (g.Err != nil || !slices.Equal(g.Members, tc.members)):
			t.Errorf("group %s: members %v, error %v; want %v", tc.group, g.Members, g.Err, tc.members)
		case tc.err != "" && (!errors.Is(g.Err, ErrUnidentifiedMember) || !strings.Contains(g.Err.Error(), tc.err)):
			t.Errorf("group %s: error %v, want ErrUnidentifiedMember saying %q", tc.group, g.Err, tc.err)
		}
	}
}

func TestParseRef(t *testing.T) {
	for _, tc := range []struct{ ref, id, typ string }{
		{"https://idp/scim/v2/Users/2819c223", "2819c223", "user"},
		{"https://idp/scim/v2/groups/g1/", "g1", "group"},
		{"Users/a%2Fb", "a/b", "user"},
		{"/scim/v2/Groups/x?attributes=id", "x", "group"},
		{"https://idp/scim/v2/Users", "", ""},
		{"https://idp/scim/v2/Users/", "", ""},
		{"urn:example:user:1", "", ""},
		{"2819c223", "", ""},
	} {
		id, typ, why := parseRef(tc.ref)
		if id != tc.id || typ != tc.typ || (tc.id == "") != (why != "") {
			t.Errorf("parseRef(%q) = %q, %q, %q; want %q, %q", tc.ref, id, typ, why, tc.id, tc.typ)
		}
	}
}

// TestSameDisplayName: two groups whose displayNames differ only in case
// are both read; a mapping by that name is refused as ambiguous, and the
// warning and the error say to map one by its SCIM id (a SCIM group has
// no DN).
func TestSameDisplayName(t *testing.T) {
	s := memberSeed()
	s.Groups = []seedGroup{{ID: "g-1", DisplayName: "Everyone"}, {ID: "g-2", DisplayName: "EVERYONE"}}
	p := startPeer(t, s)
	core, logs := observer.New(zap.WarnLevel)
	r, err := New("idp", config.SCIM{URL: p.URL, Token: config.Secret(peerToken)}, zap.New(core))
	if err != nil {
		t.Fatal(err)
	}
	dir, err := r.Read(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if g, err := dir.Lookup("everyone"); g != nil || !errors.Is(err, directory.ErrAmbiguous) || !strings.Contains(err.Error(), "name one by its SCIM id") {
		t.Errorf("Lookup(everyone) = %v, %v; want ErrAmbiguous advising the SCIM id", g, err)
	}
	if g, err := dir.Lookup("g-2"); err != nil || g == nil || g.Name != "EVERYONE" {
		t.Errorf("Lookup(g-2) = %+v, %v; want the group by its id", g, err)
	}
	warned := logs.FilterMessageSnippet("share a displayName").All()
	if len(warned) != 1 || !strings.Contains(warned[0].Message, "refused as ambiguous") || strings.Contains(warned[0].Message, "see the first") {
		t.Errorf("warnings = %+v, want one saying the mapping is refused as ambiguous", warned)
	}
}

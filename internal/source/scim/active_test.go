package scim

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/syncd/syncd/internal/directory"
)

// activeMap gives users the active values providers send besides JSON
// booleans; primary as a string too.
const activeMap = `
export default (kind, r) => {
	if (kind !== "User") return r;
	const forms = {a: "False", b: "TRUE", c: "maybe", d: 0, e: "true", f: null};
	if (r.id in forms) r.active = forms[r.id];
	if (r.id === "e") r.emails = [{value: "e.alias@corp.example"}, {value: "E@corp.example", primary: "True"}];
	return r;
};
`

// TestActiveForms: "active" as a boolean or "true"/"false" in any case is
// read; a value that is neither makes the groups listing that user
// unknown, and only those.
func TestActiveForms(t *testing.T) {
	s := &seed{}
	for _, id := range []string{"a", "b", "c", "d", "e", "f"} {
		s.Users = append(s.Users, seedUser{ID: id, UserName: id + "@corp.example", Active: true})
	}
	member := func(ids ...string) []seedMember {
		var ms []seedMember
		for _, id := range ids {
			ms = append(ms, seedMember{Value: id, Type: "User"})
		}
		return ms
	}
	s.Groups = []seedGroup{
		{ID: "g1", DisplayName: "readable", Members: member("a", "b", "e", "f")},
		{ID: "g2", DisplayName: "maybe", Members: member("b", "c")},
		{ID: "g3", DisplayName: "zero", Members: member("d")},
		{ID: "g4", DisplayName: "nesting", Members: []seedMember{{Value: "g2", Type: "Group"}}},
	}
	p := startMappedPeer(t, s, activeMap)
	dir, err := newReader(t, p.URL, peerToken, true).Read(context.Background())
	if err != nil {
		t.Fatalf("Read = %v, want the source read and only some groups unknown", err)
	}
	if g := dir.Group("readable"); g == nil || g.Err != nil || !slices.Equal(g.Members, []string{"b", "e", "f"}) {
		t.Errorf("group readable = %+v, want members b, e, f (a is inactive)", g)
	}
	if u := dir.Users["e"]; u == nil || !slices.Equal(u.Emails, []string{"e@corp.example", "e.alias@corp.example"}) {
		t.Errorf("user e = %+v, want the primary \"True\" address first", u)
	}
	for _, tc := range []struct {
		group string
		is    error
		want  string
	}{
		{"maybe", ErrUnreadableActive, `member c: active is not a boolean: "maybe"`},
		{"zero", ErrUnreadableActive, `member d: active is not a boolean: 0`},
		{"nesting", directory.ErrNestedUnknown, `member c: active is not a boolean`},
	} {
		g := dir.Group(tc.group)
		if g == nil || !errors.Is(g.Err, tc.is) || !strings.Contains(g.Err.Error(), tc.want) {
			t.Errorf("group %s = %+v, want unknown, saying %q", tc.group, g, tc.want)
		}
	}
}

// TestActiveUnreadableOnLookup: a member missing from the listing whose
// own GET has an unreadable active makes its group unknown.
func TestActiveUnreadableOnLookup(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body any
		switch r.URL.Path {
		case "/scim/v2/Users":
			body = map[string]any{"totalResults": 0, "Resources": []any{}}
		case "/scim/v2/Groups":
			body = map[string]any{"totalResults": 1, "Resources": []any{
				map[string]any{"id": "g", "displayName": "late", "members": []any{map[string]any{"value": "x"}}}}}
		case "/scim/v2/Users/x":
			body = map[string]any{"id": "x", "userName": "x@corp.example", "active": "off"}
		default:
			w.WriteHeader(http.StatusNotFound)
			return
		}
		_ = json.NewEncoder(w).Encode(body)
	}))
	t.Cleanup(srv.Close)
	dir, err := newReader(t, srv.URL+"/scim/v2", "tok", true).Read(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if g := dir.Group("late"); g == nil || !errors.Is(g.Err, ErrUnreadableActive) {
		t.Fatalf("group late = %+v, want unknown with ErrUnreadableActive", g)
	}
}

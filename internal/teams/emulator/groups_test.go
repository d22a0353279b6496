package emulator_test

import (
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/syncd/syncd/internal/teams/emulator"
)

func TestGroupList(t *testing.T) {
	e := newEnv(t, nil, emulator.Options{})
	var p page[group]
	e.do("GET", "/api/v3/user-groups", "admin-token", "").want(t, 200).decode(t, &p)
	names := []string{}
	for _, g := range p.Items {
		names = append(names, g.Name)
	}
	if !slices.Equal(names, []string{"empty", "Kube Experts", "Platform"}) || p.Sort != "name" || p.Order != "asc" {
		t.Errorf("default order: %v (%s %s)", names, p.Sort, p.Order)
	}
	if got := memberIDs(p.Items[2]); !slices.Equal(got, []int{2, 4, 5}) {
		t.Errorf("list items carry members: %v", got)
	}
	e.do("GET", "/api/v3/user-groups?sort=size&order=desc", "admin-token", "").want(t, 200).decode(t, &p)
	if p.Items[0].Name != "Platform" || p.Items[2].Name != "empty" {
		t.Errorf("by size desc: %v", p.Items)
	}
	var g group
	e.do("GET", "/api/v3/user-groups/3", "reader-token", "").want(t, 200).decode(t, &g)
	if g.Name != "Kube Experts" || !slices.Equal(memberIDs(g), []int{4, 6}) {
		t.Errorf("get group 3: %+v", g)
	}
	e.do("GET", "/api/v3/user-groups/77", "admin-token", "").want(t, 404).problem(t)
}

func TestGroupCreate(t *testing.T) {
	e := newEnv(t, nil, emulator.Options{})
	r := e.do("POST", "/api/v3/user-groups", "admin-token", `{"name":"SRE","description":"on call","userIds":[3,2,3]}`).want(t, 201)
	var g group
	r.decode(t, &g)
	if g.ID != 4 || g.Name != "SRE" || g.Description != "on call" || !slices.Equal(memberIDs(g), []int{3, 2}) {
		t.Errorf("created: %+v", g)
	}
	if loc := r.header.Get("Location"); loc != "/api/v3/user-groups/4" {
		t.Errorf("Location %q", loc)
	}
	// Names need not be unique; description and userIds are optional.
	e.do("POST", "/api/v3/user-groups", "admin-token", `{"name":"SRE"}`).want(t, 201).decode(t, &g)
	if g.ID != 5 || g.Description != "" || len(g.Users) != 0 || g.Users == nil {
		t.Errorf("second SRE: %+v", g)
	}
	for _, body := range []string{`{}`, `{"name":""}`, `{"name":null}`, `{"description":"x"}`, `[]`, `{"name":"x","userIds":["abc"]}`,
		`{"name":"x","userIds":[1.5]}`, `{"name":"x","userIds":5}`, `{"name":7}`, `not json`} {
		e.do("POST", "/api/v3/user-groups", "admin-token", body).want(t, 400).problem(t)
	}
	before := e.emu.Snapshot()
	e.do("POST", "/api/v3/user-groups", "admin-token", `{"name":"Ghosts","userIds":[2,999]}`).want(t, 404).problem(t)
	if !reflect.DeepEqual(before, e.emu.Snapshot()) {
		t.Error("a create naming an unknown user changed the state")
	}
}

func TestBodyFormats(t *testing.T) {
	e := newEnv(t, nil, emulator.Options{})
	for _, ct := range []string{"application/json", "application/json; charset=utf-8", "application/json-patch+json",
		"text/json", "application/vnd.example+json", "APPLICATION/JSON"} {
		var g group
		e.do("POST", "/api/v3/user-groups", "admin-token", `{"name":"`+ct+`"}`, ct).want(t, 201).decode(t, &g)
		if g.Name != ct {
			t.Errorf("%s: %+v", ct, g)
		}
	}
	for _, ct := range []string{"text/plain", "application/x-www-form-urlencoded", "application/xml", ""} {
		e.do("POST", "/api/v3/user-groups", "admin-token", `{"name":"x"}`, ct).want(t, 415).problem(t)
	}
	// Property names any case, ids as numeric strings (ASP.NET defaults).
	var g group
	e.do("POST", "/api/v3/user-groups", "admin-token", `{"NAME":"Mixed","Description":"d","USERIDS":["4",5]}`).want(t, 201).decode(t, &g)
	if g.Name != "Mixed" || g.Description != "d" || !slices.Equal(memberIDs(g), []int{4, 5}) {
		t.Errorf("case-insensitive properties: %+v", g)
	}
	e.do("POST", "/api/v3/user-groups/2/members", "admin-token", `["3"]`).want(t, 200).decode(t, &g)
	if !slices.Equal(memberIDs(g), []int{3}) {
		t.Errorf("string id in members: %v", memberIDs(g))
	}
	e.do("POST", "/api/v3/user-groups", "admin-token", "", "application/json").want(t, 400).problem(t)
	// A property given twice in two spellings: the last wins, every time.
	for range 20 {
		e.do("PUT", "/api/v3/user-groups/2", "admin-token", `{"name":"first","NAME":"second","userIds":[2],"UserIds":[3]}`).want(t, 200).decode(t, &g)
		if g.Name != "second" || !slices.Equal(memberIDs(g), []int{3}) {
			t.Fatalf("duplicate properties: %+v, want the last of each", g)
		}
	}
}

func TestGroupReplaceIsFull(t *testing.T) {
	e := newEnv(t, nil, emulator.Options{})
	var g group
	e.do("PUT", "/api/v3/user-groups/1", "admin-token", `{"name":"Platform Eng"}`).want(t, 200).decode(t, &g)
	if g.Name != "Platform Eng" || g.Description != "" || len(g.Users) != 0 {
		t.Errorf("PUT with only a name must clear description and members: %+v", g)
	}
	e.do("PUT", "/api/v3/user-groups/1", "admin-token", `{"name":"Platform","description":"back","userIds":[5,4]}`).want(t, 200).decode(t, &g)
	if g.Description != "back" || !slices.Equal(memberIDs(g), []int{5, 4}) {
		t.Errorf("PUT full: %+v", g)
	}
	e.do("PUT", "/api/v3/user-groups/1", "admin-token", `{"description":"no name"}`).want(t, 400).problem(t)
	e.do("PUT", "/api/v3/user-groups/1", "admin-token", `{"name":""}`).want(t, 400).problem(t)
	e.do("PUT", "/api/v3/user-groups/404", "admin-token", `{"name":"x"}`).want(t, 404).problem(t)
	before := e.emu.Snapshot()
	e.do("PUT", "/api/v3/user-groups/1", "admin-token", `{"name":"x","userIds":[4,999]}`).want(t, 404).problem(t)
	if !reflect.DeepEqual(before, e.emu.Snapshot()) {
		t.Error("a PUT naming an unknown user changed the state")
	}
}

func TestGroupMembers(t *testing.T) {
	e := newEnv(t, nil, emulator.Options{})
	var g group
	e.do("POST", "/api/v3/user-groups/1/members", "admin-token", `[4, 3, 3]`).want(t, 200).decode(t, &g)
	if !slices.Equal(memberIDs(g), []int{2, 4, 5, 3}) {
		t.Errorf("add existing and new: %v, want [2 4 5 3] (no duplicates)", memberIDs(g))
	}
	before := e.emu.Snapshot()
	r := e.do("POST", "/api/v3/user-groups/1/members", "admin-token", `[6, 999]`).want(t, 404)
	if p := r.problem(t); !strings.Contains(p.Detail, "not found") {
		t.Errorf("unknown user detail %q", p.Detail)
	}
	if !reflect.DeepEqual(before, e.emu.Snapshot()) {
		t.Error("an add naming an unknown user changed the state")
	}
	e.do("POST", "/api/v3/user-groups/99/members", "admin-token", `[2]`).want(t, 404).problem(t)
	e.do("POST", "/api/v3/user-groups/1/members", "admin-token", `{"userIds":[2]}`).want(t, 400).problem(t)

	e.do("DELETE", "/api/v3/user-groups/1/members/4", "admin-token", "").want(t, 200).decode(t, &g)
	if !slices.Equal(memberIDs(g), []int{2, 5, 3}) {
		t.Errorf("after delete: %v", memberIDs(g))
	}
	e.do("DELETE", "/api/v3/user-groups/1/members/4", "admin-token", "").want(t, 404).problem(t)
	e.do("DELETE", "/api/v3/user-groups/9/members/2", "admin-token", "").want(t, 404).problem(t)

	e204 := newEnv(t, nil, emulator.Options{DeleteMemberStatus: http.StatusNoContent})
	r = e204.do("DELETE", "/api/v3/user-groups/1/members/4", "admin-token", "").want(t, 204)
	if len(r.body) != 0 {
		t.Errorf("204 with a body: %s", r.body)
	}
	if _, err := emulator.New(mustSeed(t), emulator.Options{DeleteMemberStatus: 202}); err == nil {
		t.Error("DeleteMemberStatus 202 accepted")
	}
}

// TestUnknownUserStatus: REFERENCE.md §9.5 leaves open whether a write
// naming a user that does not exist is 404 or 400; Options picks one, and
// nothing changes either way.
func TestUnknownUserStatus(t *testing.T) {
	for _, status := range []int{http.StatusNotFound, http.StatusBadRequest} {
		e := newEnv(t, nil, emulator.Options{UnknownUserStatus: status})
		before := e.emu.Snapshot()
		for _, w := range []struct{ method, path, body string }{
			{"POST", "/api/v3/user-groups", `{"name":"Ghosts","userIds":[2,999]}`},
			{"PUT", "/api/v3/user-groups/1", `{"name":"x","userIds":[4,999]}`},
			{"POST", "/api/v3/user-groups/1/members", `[6, 999]`},
			{"POST", "/api/v3/tags/1/subject-matter-experts/users", `[999]`},
		} {
			r := e.do(w.method, w.path, "admin-token", w.body).want(t, status)
			if p := r.problem(t); !strings.Contains(p.Detail, "User") || !strings.Contains(p.Detail, "999") {
				t.Errorf("%d %s %s: detail %q does not name the user", status, w.method, w.path, p.Detail)
			}
		}
		if !reflect.DeepEqual(before, e.emu.Snapshot()) {
			t.Errorf("%d: a write naming an unknown user changed the state", status)
		}
	}
	if _, err := emulator.New(mustSeed(t), emulator.Options{UnknownUserStatus: 422}); err == nil {
		t.Error("UnknownUserStatus 422 accepted")
	}
}

func TestNoGroupDeletion(t *testing.T) {
	e := newEnv(t, nil, emulator.Options{})
	r := e.do("DELETE", "/api/v3/user-groups/1", "admin-token", "").want(t, http.StatusMethodNotAllowed)
	if allow := r.header.Get("Allow"); allow != "GET, PUT" {
		t.Errorf("Allow %q", allow)
	}
	if _, ok := e.emu.GroupByName("Platform"); !ok {
		t.Error("group gone")
	}
	e.do("PATCH", "/api/v3/user-groups/1", "admin-token", `{"name":"x"}`).want(t, http.StatusMethodNotAllowed)
}

func TestWritePermissions(t *testing.T) {
	e := newEnv(t, nil, emulator.Options{})
	before := e.emu.Snapshot()
	writes := []struct{ method, path, body string }{
		{"POST", "/api/v3/user-groups", `{"name":"x"}`},
		{"PUT", "/api/v3/user-groups/1", `{"name":"x"}`},
		{"POST", "/api/v3/user-groups/1/members", `[3]`},
		{"DELETE", "/api/v3/user-groups/1/members/2", ``},
		{"PUT", "/api/v3/tags/1/subject-matter-experts", `{}`},
		{"POST", "/api/v3/tags/1/subject-matter-experts/users", `[2]`},
		{"POST", "/api/v3/tags/1/subject-matter-experts/user-groups", `[1]`},
		{"DELETE", "/api/v3/tags/1/subject-matter-experts/users/4", ``},
		{"DELETE", "/api/v3/tags/1/subject-matter-experts/user-groups/3", ``},
	}
	for _, w := range writes {
		e.do(w.method, w.path, "reader-token", w.body).want(t, 403).problem(t)
		e.do(w.method, "/v3/teams/acme"+strings.TrimPrefix(w.path, "/api/v3"), "acme-reader", w.body).want(t, 403).problem(t)
	}
	if !reflect.DeepEqual(before, e.emu.Snapshot()) {
		t.Error("a read-only token changed the state")
	}
	// Write access is not enough: user groups are an admin's to manage,
	// SMEs an admin's or a moderator's (REFERENCE.md §2.2).
	for _, w := range writes {
		r := e.do(w.method, w.path, "writer-token", w.body).want(t, 403)
		if p := r.problem(t); p.Title != "Inadequate permissions" {
			t.Errorf("%s %s by a non-admin: title %v, want \"Inadequate permissions\"", w.method, w.path, p.Title)
		}
		want := 403
		if strings.Contains(w.path, "/tags/") {
			want = 0 // a moderator may
		}
		if want != 0 {
			e.do(w.method, w.path, "moderator-token", w.body).want(t, want)
		}
	}
	if !reflect.DeepEqual(before, e.emu.Snapshot()) {
		t.Error("a token without the role changed the state")
	}
	e.do("POST", "/api/v3/tags/2/subject-matter-experts/users", "moderator-token", `[2]`).want(t, 200)
	e.do("POST", "/api/v3/user-groups/2/members", "admin-token", `[3]`).want(t, 200)

	// A permissive seed (demos) lets any write token write.
	seed := mustSeed(t)
	seed.Permissive = true
	lax := newEnv(t, seed, emulator.Options{})
	lax.do("POST", "/api/v3/user-groups/2/members", "writer-token", `[3]`).want(t, 200)
	lax.do("PUT", "/api/v3/user-groups/2", "reader-token", `{"name":"x"}`).want(t, 403) // read-only still
}

// TestPrivateTeamNamespaces: each private team has user groups (and tags)
// of its own; a group of one namespace is not found from another, and
// cannot be made an SME group there.
func TestPrivateTeamNamespaces(t *testing.T) {
	e := newEnv(t, nil, emulator.Options{})
	var list struct {
		TotalCount int `json:"totalCount"`
	}
	e.do("GET", "/api/v3/teams/acme/user-groups", "acme-token", "").want(t, 200).decode(t, &list)
	if list.TotalCount != 0 {
		t.Errorf("acme sees %d of the main site's groups", list.TotalCount)
	}
	var g group
	e.do("POST", "/api/v3/teams/acme/user-groups", "acme-token", `{"name":"Platform"}`).want(t, 201).decode(t, &g)
	e.do("GET", fmt.Sprintf("/v3/teams/acme/user-groups/%d", g.ID), "acme-token", "").want(t, 200)
	e.do("GET", fmt.Sprintf("/api/v3/user-groups/%d", g.ID), "admin-token", "").want(t, 404)
	e.do("GET", "/api/v3/teams/acme/user-groups/1", "acme-token", "").want(t, 404) // the main site's Platform
	e.do("POST", "/api/v3/teams/acme/user-groups/1/members", "acme-token", `[2]`).want(t, 404)
	e.do("GET", "/api/v3/teams/acme/tags/1", "acme-token", "").want(t, 404)
	e.do("POST", "/api/v3/tags/2/subject-matter-experts/user-groups", "admin-token", fmt.Sprintf("[%d]", g.ID)).want(t, 404)
	e.do("GET", "/api/v3/user-groups", "admin-token", "").want(t, 200).decode(t, &list)
	if list.TotalCount != 3 {
		t.Errorf("the main site lists %d groups, want its 3", list.TotalCount)
	}
}

// TestUsersManage: GET /users/manage is served (an admin's token, the
// Enterprise main site), not taken for /users/{userId}.
func TestUsersManage(t *testing.T) {
	e := newEnv(t, nil, emulator.Options{})
	var page struct {
		TotalCount int `json:"totalCount"`
		Items      []struct {
			ID            int     `json:"id"`
			Email         *string `json:"email"`
			IsDeactivated bool    `json:"isDeactivated"`
		} `json:"items"`
	}
	e.do("GET", "/api/v3/users/manage?sort=email&order=desc&pageSize=30", "admin-token", "").want(t, 200).decode(t, &page)
	if page.TotalCount != 5 || len(page.Items) != 5 || page.Items[0].ID != 5 || page.Items[4].ID != 6 || page.Items[4].Email != nil {
		t.Errorf("users/manage: %+v", page)
	}
	e.do("GET", "/api/v3/users/manage?isDeactivated=true", "admin-token", "").want(t, 200).decode(t, &page)
	if page.TotalCount != 0 {
		t.Errorf("deactivated: %d", page.TotalCount)
	}
	e.do("GET", "/api/v3/users/manage?sort=reputation", "admin-token", "").want(t, 400)
	e.do("GET", "/api/v3/users/manage?lastAccessDateFrom=yesterday", "admin-token", "").want(t, 400)
	e.do("GET", "/api/v3/users/manage", "reader-token", "").want(t, 403)
	e.do("GET", "/v3/teams/acme/users/manage", "acme-token", "").want(t, 404).problem(t)
}

func TestUnknownPaths(t *testing.T) {
	e := newEnv(t, nil, emulator.Options{})
	for _, p := range []string{"/api/v3/nothing", "/v2.3/users", "/v3/users", "/api/v3/users/1/2/3", "/", "/v3/teams//users"} {
		r := e.do("GET", p, "admin-token", "").want(t, 404)
		if len(r.body) != 0 {
			t.Errorf("GET %s: 404 with a body %s (a bad URL has none)", p, r.body)
		}
	}
}

func TestConcurrentWrites(t *testing.T) {
	seed := mustSeed(t)
	for i := 100; i < 140; i++ {
		seed.Users = append(seed.Users, emulator.SeedUser{ID: i, Name: "U"})
	}
	e := newEnv(t, seed, emulator.Options{})
	done := make(chan struct{})
	for i := 100; i < 140; i++ {
		go func() {
			defer func() { done <- struct{}{} }()
			body := "[" + strconv.Itoa(i) + "]"
			// Errorf, not Fatalf: this is not the test's goroutine.
			if r := e.do("POST", "/api/v3/user-groups/2/members", "admin-token", body); r.status != 200 {
				t.Errorf("add %d: %d", i, r.status)
			}
			if r := e.do("GET", "/api/v3/user-groups?pageSize=100", "reader-token", ""); r.status != 200 {
				t.Errorf("list: %d", r.status)
			}
		}()
	}
	for i := 100; i < 140; i++ {
		<-done
	}
	g, _ := e.emu.GroupByName("empty")
	if len(g.UserIDs) != 40 {
		t.Errorf("%d members after 40 concurrent adds", len(g.UserIDs))
	}
	if e.emu.WriteCount() != 40 {
		t.Errorf("WriteCount %d", e.emu.WriteCount())
	}
}

// UnknownUserStatus 200: an add of members or SME users naming an unknown
// user adds the others and answers 200, the lists without the unknown id.
func TestUnknownUserIgnored(t *testing.T) {
	e := newEnv(t, nil, emulator.Options{UnknownUserStatus: http.StatusOK})
	var g group
	e.do("POST", "/api/v3/user-groups/1/members", "admin-token", "[6, 999]").want(t, 200).decode(t, &g)
	got, _ := e.emu.GroupByName(g.Name)
	if !slices.Contains(got.UserIDs, 6) || slices.Contains(got.UserIDs, 999) {
		t.Errorf("members after adding [6, 999]: %v; want 6 in, 999 ignored", got.UserIDs)
	}
	e.do("POST", "/api/v3/tags/1/subject-matter-experts/users", "admin-token", "[999]").want(t, 200)
}

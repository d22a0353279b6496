package emulator_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/syncd/syncd/internal/teams/emulator"
)

func TestURLFormsAndTokenTeams(t *testing.T) {
	e := newEnv(t, nil, emulator.Options{})
	cases := []struct {
		path, token string
		status      int
	}{
		{"/api/v3/users/me", "admin-token", 200},
		{"/v3/teams/acme/users/me", "acme-token", 200},
		{"/api/v3/teams/acme/users/me", "acme-token", 200},
		{"/API/V3/Users/Me/", "admin-token", 200},           // ASP.NET routing: any case, trailing slash
		{"/api/v3/users/me", "acme-token", 401},             // team token on the main site
		{"/v3/teams/acme/users/me", "admin-token", 401},     // main-site token on a team
		{"/v3/teams/other/users/me", "acme-token", 401},     // another team
		{"/api/v3/teams/other/users/me", "acme-token", 401}, // another team, Enterprise form
	}
	for _, c := range cases {
		r := e.do("GET", c.path, c.token, "")
		if r.status != c.status {
			t.Errorf("GET %s with %s: %d, want %d (%s)", c.path, c.token, r.status, c.status, r.body)
		}
		if c.status == 401 && (string(r.body) != "Invalid access token" || !strings.HasPrefix(r.header.Get("Content-Type"), "text/plain")) {
			t.Errorf("GET %s: 401 body %q type %q", c.path, r.body, r.header.Get("Content-Type"))
		}
	}
	// The same operations on every form: a write through the Business form
	// is visible through the Enterprise private-team form.
	var g group
	e.do("POST", "/v3/teams/acme/user-groups", "acme-token", `{"name":"Via Business"}`).want(t, 201).decode(t, &g)
	e.do("GET", fmt.Sprintf("/api/v3/teams/acme/user-groups/%d", g.ID), "acme-token", "").want(t, 200)
}

func TestAuthentication(t *testing.T) {
	e := newEnv(t, nil, emulator.Options{})
	for _, auth := range []string{"", "nope", "Bearer", "Bearer "} {
		req, _ := http.NewRequest("GET", e.url+"/api/v3/users", nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 401 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/plain") {
			t.Errorf("Authorization %q: %d %s", auth, res.StatusCode, res.Header.Get("Content-Type"))
		}
	}
	e.do("GET", "/api/v3/users", "unknown-token", "").want(t, 401)
	req, _ := http.NewRequest("GET", e.url+"/api/v3/users", nil)
	req.Header.Set("Authorization", "Basic admin-token")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 401 {
		t.Errorf("Basic scheme: %d, want 401", res.StatusCode)
	}
}

func TestEmailVisibility(t *testing.T) {
	e := newEnv(t, nil, emulator.Options{})
	var all, seen page[user]
	e.do("GET", "/api/v3/users?pageSize=100", "admin-token", "").want(t, 200).decode(t, &all)
	e.do("GET", "/api/v3/users?pageSize=100", "reader-token", "").want(t, 200).decode(t, &seen)
	for _, u := range all.Items {
		if u.ID != 6 && u.Email == nil {
			t.Errorf("admin: user %d has no email", u.ID)
		}
		if u.ID == 6 && u.Email != nil {
			t.Errorf("user without an email shows %q", *u.Email)
		}
	}
	for _, u := range seen.Items {
		if own := u.ID == 3; (u.Email != nil) != own {
			t.Errorf("non-admin: user %d email %v", u.ID, u.Email)
		}
	}
	var me user
	e.do("GET", "/api/v3/users/me", "reader-token", "").want(t, 200).decode(t, &me)
	if me.ID != 3 || me.Email == nil || *me.Email != "Bob.Reader+teams@example.com" {
		t.Errorf("me: %+v", me)
	}
	var other user
	e.do("GET", "/api/v3/users/2", "reader-token", "").want(t, 200).decode(t, &other)
	if other.Email != nil {
		t.Errorf("non-admin sees another user's email %q", *other.Email)
	}
	// A token without a userId belongs to the first user of the seed.
	e.do("GET", "/v3/teams/acme/users/me", "acme-reader", "").want(t, 200).decode(t, &me)
	if me.ID != 2 {
		t.Errorf("acme-reader is user %d, want 2", me.ID)
	}
}

func TestUserShape(t *testing.T) {
	e := newEnv(t, nil, emulator.Options{})
	var u user
	e.do("GET", "/api/v3/users/3", "admin-token", "").want(t, 200).decode(t, &u)
	if u.Role != "Registered" || u.AccountID == nil || !strings.HasPrefix(u.AvatarURL, "https://") ||
		!strings.Contains(u.WebURL, "/users/3") || u.ExternalID == nil || *u.ExternalID != "ext-bob" {
		t.Errorf("user 3: %+v", u)
	}
	e.do("GET", "/v3/teams/acme/users/3", "acme-token", "").want(t, 200).decode(t, &u)
	if !strings.HasPrefix(u.WebURL, "https://stackoverflowteams.com/c/acme/users/3") {
		t.Errorf("Business webUrl %q", u.WebURL)
	}
	e.do("GET", "/api/v3/users/99", "admin-token", "").want(t, 404).problem(t)
	e.do("GET", "/api/v3/users/abc", "admin-token", "").want(t, 400).problem(t)
	e.do("GET", "/api/v3/users/0", "admin-token", "").want(t, 400).problem(t)
}

func TestUserByEmail(t *testing.T) {
	e := newEnv(t, nil, emulator.Options{})
	for _, p := range []string{
		"alice@example.com", "alice%40example.com", "ALICE@Example.COM",
	} {
		var u user
		e.do("GET", "/api/v3/users/by-email/"+p, "admin-token", "").want(t, 200).decode(t, &u)
		if u.ID != 2 {
			t.Errorf("by-email %s: user %d", p, u.ID)
		}
	}
	var u user
	for _, p := range []string{"bob.reader%2Bteams%40example.com", "Bob.Reader+teams@example.com"} {
		e.do("GET", "/api/v3/users/by-email/"+p, "admin-token", "").want(t, 200).decode(t, &u)
		if u.ID != 3 {
			t.Errorf("by-email %s: user %d", p, u.ID)
		}
	}
	e.do("GET", "/api/v3/users/by-email/nobody@example.com", "admin-token", "").want(t, 404).problem(t)
	e.do("GET", "/api/v3/users/by-email/alice@example.com", "reader-token", "").want(t, 403).problem(t)
}

func TestUsersByExternalID(t *testing.T) {
	e := newEnv(t, nil, emulator.Options{})
	var us []user
	e.do("GET", "/api/v3/users/by-external-id/ext-shared", "admin-token", "").want(t, 200).decode(t, &us)
	ids := []int{}
	for _, u := range us {
		ids = append(ids, u.ID)
	}
	if !slices.Equal(ids, []int{5, 6}) {
		t.Errorf("ext-shared: %v", ids)
	}
	r := e.do("GET", "/api/v3/users/by-external-id/none", "admin-token", "").want(t, 200)
	if strings.TrimSpace(string(r.body)) != "[]" {
		t.Errorf("no match: %s, want []", r.body)
	}
}

func TestUserPagingAndSort(t *testing.T) {
	seed := mustSeed(t)
	for i := 10; i < 36; i++ { // 31 users in all
		seed.Users = append(seed.Users, emulator.SeedUser{ID: i, Name: fmt.Sprint("U", i), Email: fmt.Sprintf("u%d@example.com", i), Reputation: i})
	}
	e := newEnv(t, seed, emulator.Options{})
	var p page[user]
	e.do("GET", "/api/v3/users", "admin-token", "").want(t, 200).decode(t, &p)
	if p.TotalCount != 31 || p.PageSize != 15 || p.Page != 1 || p.TotalPages != 3 || len(p.Items) != 15 || p.Sort != "reputation" {
		t.Errorf("default page: %+v", p)
	}
	var asc page[user]
	e.do("GET", "/api/v3/users?sort=reputation&order=asc&pagesize=30&PAGE=2", "admin-token", "").want(t, 200).decode(t, &asc)
	if asc.PageSize != 30 || asc.Page != 2 || asc.TotalPages != 2 || len(asc.Items) != 1 || asc.Items[0].ID != 2 || asc.Order != "asc" {
		t.Errorf("asc page 2 of 30: %+v", asc)
	}
	var past page[user]
	e.do("GET", "/api/v3/users?page=9", "admin-token", "").want(t, 200).decode(t, &past)
	if len(past.Items) != 0 || past.TotalPages != 3 || past.Page != 9 {
		t.Errorf("page past the end: %+v", past)
	}
}

package emulator_test

import (
	"net/http/httptest"
	"testing"

	"github.com/syncd/syncd/internal/teams/emulator"
	"github.com/syncd/syncd/internal/teams/teamstest/spectest"
)

// TestValidTrafficStrict drives every operation with requests that follow
// the spec, under spectest.Wrap: requests and responses are both checked,
// on all three base URL forms.
func TestValidTrafficStrict(t *testing.T) {
	for _, f := range []struct{ base, token, team string }{
		{"/api/v3", "admin-token", ""}, {"/v3/teams/acme", "acme-token", "acme"}, {"/api/v3/teams/acme", "acme-token", "acme"},
	} {
		emu, err := emulator.New(mustSeed(t).InTeam(f.team), emulator.Options{NoThrottle: true})
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(spectest.Wrap(t, emu))
		e := &env{t: t, emu: emu, url: srv.URL}
		b, tok := f.base, f.token
		e.do("GET", b+"/users?page=1&pageSize=100&sort=reputation&order=asc", tok, "").want(t, 200)
		e.do("GET", b+"/users/me", tok, "").want(t, 200)
		e.do("GET", b+"/users/3", tok, "").want(t, 200)
		e.do("GET", b+"/users/99", tok, "").want(t, 404)
		e.do("GET", b+"/users/by-email/alice%40example.com", tok, "").want(t, 200)
		e.do("GET", b+"/users/by-external-id/ext-shared", tok, "").want(t, 200)
		e.do("GET", b+"/user-groups?pageSize=30&sort=size&order=desc", tok, "").want(t, 200)
		e.do("GET", b+"/user-groups/1", tok, "").want(t, 200)
		e.do("POST", b+"/user-groups", tok, `{"name":"New","description":"d","userIds":[2,3]}`, "application/json-patch+json").want(t, 201)
		e.do("PUT", b+"/user-groups/4", tok, `{"name":"New","description":"","userIds":[3]}`, "text/json").want(t, 200)
		e.do("POST", b+"/user-groups/4/members", tok, `[2,5]`).want(t, 200)
		e.do("POST", b+"/user-groups/4/members", tok, `[999]`).want(t, 404)
		e.do("DELETE", b+"/user-groups/4/members/5", tok, "").want(t, 200)
		e.do("GET", b+"/tags?partialName=kube&hasSmes=true&sort=postCount&order=desc", tok, "").want(t, 200)
		e.do("GET", b+"/tags/1", tok, "").want(t, 200)
		e.do("GET", b+"/tags/1/subject-matter-experts", tok, "").want(t, 200)
		e.do("PUT", b+"/tags/1/subject-matter-experts", tok, `{"userIds":[2],"userGroupIds":[1]}`).want(t, 200)
		e.do("POST", b+"/tags/1/subject-matter-experts/users", tok, `[3]`).want(t, 200)
		e.do("POST", b+"/tags/1/subject-matter-experts/user-groups", tok, `[3]`).want(t, 200)
		e.do("DELETE", b+"/tags/1/subject-matter-experts/users/3", tok, "").want(t, 204)
		e.do("DELETE", b+"/tags/1/subject-matter-experts/user-groups/3", tok, "").want(t, 204)
		e.do("GET", b+"/users", "wrong-token", "").want(t, 401)
		emu.SetSMEEnabled(false)
		e.do("GET", b+"/tags/1/subject-matter-experts", tok, "").want(t, 422)
		e.do("GET", b+"/tags/1", tok, "").want(t, 200)
		srv.Close()
	}
}

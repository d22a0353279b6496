package scimserver

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"go.uber.org/zap"
)

func TestAuth(t *testing.T) {
	rc := newReceiver(t)
	for _, tc := range []struct{ name, method, path, auth string }{
		{"no header", "GET", "/Users", ""},
		{"wrong token", "GET", "/Users", "Bearer wrong"},
		{"token prefix", "GET", "/Users", "Bearer " + testToken[:5]},
		{"token plus more", "GET", "/Users", "Bearer " + testToken + "x"},
		{"basic scheme", "GET", "/Users", "Basic " + testToken},
		{"unknown endpoint", "GET", "/Nothing", ""},
		{"discovery", "GET", "/ServiceProviderConfig", ""},
		{"write", "POST", "/Users", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := rc.doAuth(tc.method, tc.path, "", tc.auth)
			wantError(t, r, 401, "")
			if r.header.Get("WWW-Authenticate") == "" {
				t.Error("no WWW-Authenticate header")
			}
		})
	}
	// The scheme is case-insensitive (RFC 7235).
	if r := rc.doAuth("GET", "/Users", "", "bearer "+testToken); r.status != 200 {
		t.Errorf("lower-case scheme: %d", r.status)
	}
	if rc.changes.Load() != 0 {
		t.Error("a refused request changed something")
	}
}

// TestWrongTokensRationed: a guessed SCIM token would let anyone push a
// directory. After a burst of wrong tokens, every token presented, the
// right one too, is answered 429 with Retry-After and not checked, so a
// guesser cannot tell when it found it; nothing is stored meanwhile.
func TestWrongTokensRationed(t *testing.T) {
	rc := newReceiver(t)
	for i := range 10 {
		if r := rc.doAuth("GET", "/Users", "", fmt.Sprintf("Bearer guess-%d", i)); r.status != 401 {
			t.Fatalf("wrong token %d = %d, want 401", i+1, r.status)
		}
	}
	r := rc.doAuth("POST", "/Users", `{"userName": "mallory@x.com"}`, "Bearer "+testToken)
	wantError(t, r, 429, "")
	if got := r.header.Get("Retry-After"); got != "6" {
		t.Errorf("Retry-After = %q, want 6", got)
	}
	if r := rc.doAuth("GET", "/Users", "", ""); r.status != 401 {
		t.Errorf("no token while rationed = %d, want 401 as always", r.status)
	}
	if rc.changes.Load() != 0 {
		t.Error("a refused request changed something")
	}
}

func TestNoTokenRefusesAll(t *testing.T) {
	store, err := OpenStore(StorePath(t.TempDir(), "x"))
	if err != nil {
		t.Fatal(err)
	}
	h := NewHandler("x", store, "", nil, zap.NewNop())
	for _, auth := range []string{"", "Bearer ", "Bearer  "} {
		req := httptest.NewRequest("GET", "/scim/x/v2/Users", nil)
		req.Header.Set("Authorization", auth)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != 401 {
			t.Errorf("empty configured token, Authorization %q: %d", auth, w.Code)
		}
	}
}

func TestErrors(t *testing.T) {
	rc := newReceiver(t)
	uid := str(rc.must(201, "POST", "/Users", `{"userName": "a@x.com"}`).body, "id")
	gid := str(rc.must(201, "POST", "/Groups", `{"displayName": "g"}`).body, "id")
	cases := []struct {
		method, path, body string
		status             int
		scimType           string
	}{
		{"GET", "/Users?filter=" + q(`userName eq`), "", 400, "invalidFilter"},
		{"GET", "/Users?filter=" + q(`userName zz "a"`), "", 400, "invalidFilter"},
		{"GET", "/Users?filter=" + q(`(userName eq "a"`), "", 400, "invalidFilter"},
		{"GET", "/Users?filter=" + q(`userName eq a`), "", 400, "invalidFilter"},
		{"GET", "/Users?startIndex=x", "", 400, "invalidValue"},
		{"GET", "/Users/nope", "", 404, ""},
		{"GET", "/Nothing", "", 404, ""},
		{"POST", "/Users", `{"displayName": "no userName"}`, 400, "invalidValue"},
		{"POST", "/Users", `{"userName": `, 400, "invalidSyntax"},
		{"POST", "/Users", `[1, 2]`, 400, "invalidSyntax"},
		{"POST", "/Groups", `{"displayName": "m", "members": [{"display": "no value"}]}`, 400, "invalidValue"},
		{"POST", "/Groups", `{"displayName": "m", "members": {"value": "x"}}`, 400, "invalidValue"},
		{"POST", "/Users/" + uid, `{"userName": "b"}`, 405, ""},
		{"DELETE", "/Users", "", 405, ""},
		{"PUT", "/ServiceProviderConfig", `{}`, 405, ""},
		{"PATCH", "/Users/" + uid, `{"Operations": []}`, 400, "invalidValue"},
		{"PATCH", "/Users/" + uid, `{"Operations": [{"op": "move", "path": "userName", "value": "x"}]}`, 400, "invalidSyntax"},
		{"PATCH", "/Users/" + uid, `{"Operations": [{"op": "remove"}]}`, 400, "noTarget"},
		{"PATCH", "/Users/" + uid, `{"Operations": [{"op": "replace", "value": "not an object"}]}`, 400, "invalidValue"},
		{"PATCH", "/Users/" + uid, `{"Operations": [{"op": "replace", "path": "emails[type eq", "value": "x"}]}`, 400, "invalidPath"},
		{"PATCH", "/Users/" + uid, `{"Operations": [{"op": "replace", "path": "emails[type ne \"work\"].value", "value": "x"}]}`, 400, "noTarget"},
		{"PATCH", "/Users/" + uid, `{"Operations": [{"op": "remove", "path": "userName"}]}`, 400, "invalidValue"},
		{"PATCH", "/Groups/" + gid, `{"Operations": [{"op": "replace", "path": "displayName", "value": ""}]}`, 400, "invalidValue"},
		{"PATCH", "/Groups/nope", `{"Operations": [{"op": "add", "path": "members", "value": [{"value": "x"}]}]}`, 404, ""},
		{"DELETE", "/Users/nope", "", 404, ""},
	}
	for _, c := range cases {
		t.Run(c.method+" "+c.path+" "+c.body, func(t *testing.T) {
			wantError(t, rc.do(c.method, c.path, c.body), c.status, c.scimType)
		})
	}
	// Nothing above changed anything after the two creates.
	if n := rc.changes.Load(); n != 2 {
		t.Errorf("onChange called %d times, want 2", n)
	}
	r := rc.must(200, "GET", "/Users/"+uid, "")
	if str(r.body, "userName") != "a@x.com" {
		t.Errorf("user changed by failed requests: %s", r.raw)
	}
}

func TestBodyLimit(t *testing.T) {
	rc := newReceiver(t)
	big := `{"userName": "` + strings.Repeat("x", MaxBodyBytes) + `"}`
	wantError(t, rc.do("POST", "/Users", big), 413, "")
	req, _ := http.NewRequest("POST", rc.base+"/Users", strings.NewReader(`{"userName":"a"}`))
	req.Header.Set("Authorization", "Bearer "+testToken)
	req.Header.Set("Content-Type", "text/plain")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 415 {
		t.Errorf("text/plain body: %d, want 415", resp.StatusCode)
	}
}

func TestDiscovery(t *testing.T) {
	rc := newReceiver(t)
	r := rc.must(200, "GET", "/ServiceProviderConfig", "")
	if r.body["patch"].(object)["supported"] != true || r.body["filter"].(object)["supported"] != true || r.body["bulk"].(object)["supported"] != false {
		t.Errorf("ServiceProviderConfig: %s", r.raw)
	}
	r = rc.must(200, "GET", "/ResourceTypes", "")
	if listTotal(t, r) != 2 {
		t.Errorf("ResourceTypes: %s", r.raw)
	}
	r = rc.must(200, "GET", "/ResourceTypes/User", "")
	if str(r.body, "endpoint") != "/Users" || str(r.body, "schema") != userSchema {
		t.Errorf("ResourceTypes/User: %s", r.raw)
	}
	r = rc.must(200, "GET", "/Schemas", "")
	if listTotal(t, r) != 3 {
		t.Errorf("Schemas: %s", r.raw)
	}
	r = rc.must(200, "GET", "/Schemas/"+groupSchema, "")
	if str(r.body, "name") != "Group" {
		t.Errorf("Schemas/Group: %s", r.raw)
	}
	rc.must(404, "GET", "/Schemas/urn:nope", "")
}

func TestListPaging(t *testing.T) {
	rc := newReceiver(t)
	for i := range 25 {
		rc.must(201, "POST", "/Users", fmt.Sprintf(`{"userName": "u%02d@x.com", "active": %v}`, i, i%2 == 0))
	}
	var seen []string
	for start := 1; ; {
		r := rc.must(200, "GET", fmt.Sprintf("/Users?startIndex=%d&count=10&attributes=userName", start), "")
		if listTotal(t, r) != 25 {
			t.Fatalf("totalResults: %s", r.raw)
		}
		res := resources(r)
		if int(r.body["itemsPerPage"].(float64)) != len(res) || int(r.body["startIndex"].(float64)) != start {
			t.Errorf("page envelope: %s", r.raw)
		}
		if len(res) == 0 {
			break
		}
		for _, u := range res {
			if _, has := u["active"]; has {
				t.Errorf("attributes=userName returned active: %v", u)
			}
			seen = append(seen, str(u, "userName"))
		}
		start += len(res)
	}
	for i, s := range seen {
		if s != fmt.Sprintf("u%02d@x.com", i) {
			t.Fatalf("paged order %v", seen)
		}
	}
	if len(seen) != 25 {
		t.Errorf("paged %d users, want 25", len(seen))
	}
	r := rc.must(200, "GET", "/Users?count=0", "")
	if listTotal(t, r) != 25 || len(resources(r)) != 0 {
		t.Errorf("count=0: %s", r.raw)
	}
	r = rc.must(200, "GET", "/Users?filter="+q(`active eq true and (userName sw "u0" or userName ew "9@x.com")`), "")
	// active (even) and (u00..u09 or u09, u19): u00 u02 u04 u06 u08
	if listTotal(t, r) != 5 {
		t.Errorf("filter with and, or, parentheses: %s", r.raw)
	}
}

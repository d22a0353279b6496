package scimserver

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"
)

// nested returns a filter n levels deep: ((( userName eq "a" ))).
func nested(n int) string {
	return strings.Repeat("(", n) + `userName eq "a"` + strings.Repeat(")", n)
}

func TestFilterLimits(t *testing.T) {
	for _, ok := range []string{nested(maxFilterDepth), `emails[type eq "work" and (value co "x" or not (primary eq true))]`} {
		if _, err := parseFilter(ok); err != nil {
			t.Errorf("%.60s: %v", ok, err)
		}
	}
	for _, bad := range []string{
		strings.Repeat("(", 4<<20), // a whole request body of nesting
		nested(maxFilterDepth + 1),
		strings.Repeat("not (", maxFilterDepth+1) + `id pr` + strings.Repeat(")", maxFilterDepth+1),
		strings.Repeat("emails[", maxFilterDepth+1) + `id pr` + strings.Repeat("]", maxFilterDepth+1),
		`userName eq "` + strings.Repeat("x", maxFilterLen) + `"`,
	} {
		if _, err := parseFilter(bad); err == nil {
			t.Errorf("%.60s… (%d bytes) parsed", bad, len(bad))
		}
	}
	if _, err := parsePatchPath("members[" + strings.Repeat("(", 4<<20) + "]"); err == nil {
		t.Error("a 4 MiB path parsed")
	}
	if _, err := parsePatchPath(`members[` + nested(maxFilterDepth+1) + `]`); err == nil {
		t.Error("a path nested too deep parsed")
	}
}

// TestDeepPathRefused: one PATCH whose path nests a request body's worth
// of parentheses is a 400, not a stack overflow that ends the daemon.
func TestDeepPathRefused(t *testing.T) {
	rc := newReceiver(t)
	id := str(rc.must(201, "POST", "/Groups", `{"displayName": "g"}`).body, "id")
	for _, tc := range []struct{ name, path string }{
		{"huge", "members[" + strings.Repeat("(", MaxBodyBytes-200) + `value eq "x"]`},
		{"deep", "members[" + nested(maxFilterDepth+1) + "]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body, err := json.Marshal(object{"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"},
				"Operations": []object{{"op": "remove", "path": tc.path}}})
			if err != nil {
				t.Fatal(err)
			}
			r := rc.do("PATCH", "/Groups/"+id, string(body))
			wantError(t, r, 400, "invalidPath")
			if len(r.raw) > 2000 {
				t.Errorf("error body of %d bytes: the path is echoed whole", len(r.raw))
			}
		})
	}
	for _, f := range []string{nested(maxFilterDepth + 1), `displayName eq "` + strings.Repeat("x", 100<<10) + `"`} {
		r := rc.do("GET", "/Groups?filter="+url.QueryEscape(f), "")
		wantError(t, r, 400, "invalidFilter")
		if len(r.raw) > 2000 {
			t.Errorf("error body of %d bytes: the filter is echoed whole", len(r.raw))
		}
	}
	// Still serving, and the group untouched.
	if g := rc.must(200, "GET", "/Groups/"+id, "").body; str(g, "displayName") != "g" {
		t.Errorf("group after refused PATCHes: %v", g)
	}
}

package scimserver

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestListFilterResolved: Entra ID's membership check (members eq "id"),
// meta filters compared as date-times, and Entra ID's matching query
// emails[type eq "work"].value eq "x" answer what they ask; a filter the
// receiver cannot evaluate is 400 invalidFilter, never an empty list.
func TestListFilterResolved(t *testing.T) {
	rc := newReceiver(t)
	before := time.Now().UTC().Add(-time.Minute).Format(time.RFC3339)
	u1 := rc.must(201, "POST", "/Users", `{"userName": "u1@corp.example", "emails": [{"value": "u1@corp.example", "type": "work"}, {"value": "u1@home.example", "type": "home"}]}`).body
	u2 := str(rc.must(201, "POST", "/Users", `{"userName": "u2@corp.example"}`).body, "id")
	id1 := str(u1, "id")
	created := str(u1["meta"].(object), "created")
	gid := str(rc.must(201, "POST", "/Groups", fmt.Sprintf(`{"displayName": "E", "members": [{"value": %q}]}`, id1)).body, "id")
	rc.must(201, "POST", "/Groups", fmt.Sprintf(`{"displayName": "F", "members": [{"value": %q}, {"value": %q}]}`, id1, u2))
	after := time.Now().UTC().Add(time.Minute).Format(time.RFC3339)

	for _, tc := range []struct {
		path string
		want int
	}{
		{"/Groups?excludedAttributes=members&filter=" + q(fmt.Sprintf(`id eq %q and members eq %q`, gid, id1)), 1},
		{"/Groups?filter=" + q(fmt.Sprintf(`id eq %q and members eq %q`, gid, u2)), 0},
		{"/Groups?filter=" + q(fmt.Sprintf(`members eq %q`, id1)), 2},
		{"/Groups?filter=" + q(fmt.Sprintf(`members.value eq %q`, u2)), 1},
		{"/Users?filter=" + q(fmt.Sprintf(`meta.lastModified gt %q`, before)), 2},
		{"/Users?filter=" + q(fmt.Sprintf(`meta.created lt %q`, before)), 0},
		{"/Users?filter=" + q(fmt.Sprintf(`meta.created le %q and meta.created ge %q`, after, created)), 2},
		{"/Users?filter=" + q(fmt.Sprintf(`meta.created eq %q`, created)), 1},
		{"/Users?filter=" + q(`meta.created pr`), 2},
		{"/Users?filter=" + q(`meta.resourceType eq "User"`), 2},
		{"/Groups?filter=" + q(`meta.resourceType eq "User"`), 0},
		{"/Users?filter=" + q(`emails eq "u1@home.example"`), 1},
		{"/Users?filter=" + q(`emails[type eq "work"].value eq "u1@corp.example"`), 1},
		{"/Users?filter=" + q(`emails[type eq "work"].value eq "u1@home.example"`), 0},
		{"/Users?filter=" + q(`emails[type eq "home"].value pr`), 1},
		// An address compares without case (RFC 7643 §4.1.2), inside [...]
		// as in emails.value; a member's value is an id, compared exactly.
		{"/Users?filter=" + q(`emails[type eq "work"].value eq "U1@Corp.Example"`), 1},
		{"/Users?filter=" + q(`emails[type eq "work" and value eq "U1@CORP.example"]`), 1},
		{"/Groups?filter=" + q(fmt.Sprintf(`members[value eq %q]`, strings.ToUpper(id1))), 0},
	} {
		if got := listTotal(t, rc.must(200, "GET", tc.path, "")); got != tc.want {
			t.Errorf("GET %s: totalResults %d, want %d", tc.path, got, tc.want)
		}
	}
	for _, f := range []string{
		`meta.version eq "W/1"`,
		`meta.location co "x"`,
		`meta.created gt "yesterday"`,
		`meta.created gt 5`,
		`meta.lastModified sw "2024"`,
		`junk eq "x"`,
		`userName.value eq "x"`,
		`name eq "x"`,
		`groups.value eq "x"`,
		`emails[junk eq "x"]`,
		`emails[type eq "work"].junk eq "x"`,
		`emails[type eq "work"].value`,
		`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:junk eq "x"`,
		`urn:ietf:params:scim:schemas:core:2.0:Group:members eq "x"`,
	} {
		wantError(t, rc.do("GET", "/Users?filter="+q(f), ""), 400, "invalidFilter")
	}
	wantError(t, rc.do("GET", "/Groups?filter="+q(`userName eq "x"`), ""), 400, "invalidFilter")
	// An extension syncd has no definition of is evaluated as stored.
	if got := listTotal(t, rc.must(200, "GET", "/Users?filter="+q(`urn:example:custom:2.0:User:badge eq "7"`), "")); got != 0 {
		t.Errorf("custom extension filter: %d results, want 0", got)
	}
}

package scimserver

import (
	"strings"
	"testing"
)

// TestPatchUnknownPath: a PATCH naming what the resource's schemas do not
// have (an unknown attribute, one holding a NUL, a sub-attribute or a
// filter attribute that does not exist, another resource's attribute or
// extension) answers 400 invalidPath and leaves the resource as
// it was; before, the junk attribute was stored.
func TestPatchUnknownPath(t *testing.T) {
	rc := newReceiver(t)
	uid := str(rc.must(201, "POST", "/Users", `{"userName": "a@x.com", "name": {"givenName": "A"},
		"emails": [{"value": "a@x.com", "type": "work", "primary": true}]}`).body, "id")
	gid := str(rc.must(201, "POST", "/Groups", `{"displayName": "g", "members": [{"value": "`+uid+`"}]}`).body, "id")
	user := rc.must(200, "GET", "/Users/"+uid, "").raw
	group := rc.must(200, "GET", "/Groups/"+gid, "").raw
	const ent = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
	for _, tc := range []struct{ resource, ops string }{
		{"/Users/", `[{"op": "add", "path": "junk", "value": "x"}]`},
		{"/Users/", `[{"op": "add", "path": "name\u0000x", "value": "x"}]`},
		{"/Users/", `[{"op": "replace", "path": "userName\u0000", "value": "b@x.com"}]`},
		{"/Users/", `[{"op": "replace", "path": "name.junk", "value": "x"}]`},
		{"/Users/", `[{"op": "replace", "path": "emails[type eq \"work\"].junk", "value": "x"}]`},
		{"/Users/", `[{"op": "add", "path": "emails[junk eq \"x\"].value", "value": "x"}]`},
		{"/Users/", `[{"op": "replace", "path": "userName[value eq \"x\"]", "value": "x"}]`},
		{"/Users/", `[{"op": "add", "path": "` + ent + `:junk", "value": "x"}]`},
		{"/Users/", `[{"op": "add", "path": "` + ent + `:manager.junk", "value": "x"}]`},
		{"/Groups/", `[{"op": "add", "path": "urn:example:params:scim:schemas:custom:2.0:User:badge", "value": "x"}]`},
		{"/Groups/", `[{"op": "add", "value": {"urn:example:params:scim:schemas:custom:2.0:User": {"badge": "x"}}}]`},
		{"/Users/", `[{"op": "add", "path": "members", "value": [{"value": "x"}]}]`},
		{"/Users/", `[{"op": "remove", "path": "junk"}]`},
		{"/Users/", `[{"op": "replace", "value": {"junk": 1}}]`},
		{"/Users/", `[{"op": "replace", "value": {"displayName": "D", "name.junk": 1}}]`},
		{"/Users/", `[{"op": "replace", "value": {"name": {"junk": 1}}}]`},
		{"/Users/", `[{"op": "replace", "value": {"` + ent + `": {"junk": 1}}}]`},
		{"/Users/", `[{"op": "replace", "path": "displayName", "value": "D"}, {"op": "add", "path": "x\u0000", "value": 1}]`},
		{"/Groups/", `[{"op": "add", "path": "userName", "value": "x"}]`},
		{"/Groups/", `[{"op": "add", "path": "` + ent + `:department", "value": "x"}]`},
		{"/Groups/", `[{"op": "remove", "path": "members[junk eq \"1\"]"}]`},
		{"/Groups/", `[{"op": "replace", "path": "displayName.sub", "value": "x"}]`},
		{"/Groups/", `[{"op": "add", "value": {"displayName": "h", "owner": "x"}}]`},
	} {
		id := uid
		if tc.resource == "/Groups/" {
			id = gid
		}
		wantError(t, rc.do("PATCH", tc.resource+id, `{"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": `+tc.ops+`}`), 400, "invalidPath")
	}
	if got := rc.must(200, "GET", "/Users/"+uid, "").raw; got != user {
		t.Errorf("user changed by refused PATCHes:\n got %s\nwant %s", got, user)
	}
	if got := rc.must(200, "GET", "/Groups/"+gid, "").raw; got != group {
		t.Errorf("group changed by refused PATCHes:\n got %s\nwant %s", got, group)
	}
}

// TestPatchSchemaAttributes: every attribute of the User, Enterprise User
// and Group schemas can be patched, in each form Entra ID and Okta use,
// including the enterprise extension as one object.
func TestPatchSchemaAttributes(t *testing.T) {
	rc := newReceiver(t)
	uid := str(rc.must(201, "POST", "/Users", `{"userName": "a@x.com"}`).body, "id")
	const ent = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
	r := rc.must(200, "PATCH", "/Users/"+uid, `{"Operations": [
		{"op": "Add", "path": "nickName", "value": "Al"},
		{"op": "Add", "path": "profileUrl", "value": "https://x/al"},
		{"op": "Add", "path": "userType", "value": "Employee"},
		{"op": "Add", "path": "locale", "value": "en-GB"},
		{"op": "Add", "path": "timezone", "value": "Europe/London"},
		{"op": "Add", "path": "name.honorificPrefix", "value": "Dr"},
		{"op": "Add", "path": "urn:ietf:params:scim:schemas:core:2.0:User:title", "value": "Engineer"},
		{"op": "Add", "path": "addresses[type eq \"work\"].streetAddress", "value": "1 Main St"},
		{"op": "Add", "path": "addresses[type eq \"work\"].postalCode", "value": "N1"},
		{"op": "Add", "path": "phoneNumbers[type eq \"mobile\"].value", "value": "+44 1"},
		{"op": "Add", "path": "roles[primary eq \"True\"].value", "value": "admin"},
		{"op": "Add", "path": "ims", "value": [{"value": "al", "type": "xmpp"}]},
		{"op": "Add", "path": "`+ent+`:costCenter", "value": "42"},
		{"op": "Add", "path": "`+ent+`:manager", "value": {"value": "m1", "displayName": "Boss"}},
		{"op": "Replace", "value": {"`+ent+`": {"division": "R&D", "organization": "Acme"}, "name": {"givenName": "Al"}}},
		{"op": "Replace", "value": {"password": "s3cret", "schemas": ["x"], "meta": {"junk": 1}}}]}`)
	for _, want := range [][]string{
		{"nickName"}, {"profileUrl"}, {"userType"}, {"locale"}, {"timezone"}, {"name", "honorificPrefix"}, {"name", "givenName"},
		{"title"}, {ent, "costCenter"}, {ent, "manager", "displayName"}, {ent, "division"}, {ent, "organization"},
	} {
		if str(r.body, want...) == "" {
			t.Errorf("%v not stored: %s", want, r.raw)
		}
	}
	for _, list := range []string{"addresses", "phoneNumbers", "roles", "ims"} {
		if len(elements(r.body[list])) != 1 {
			t.Errorf("%s = %v, want one element", list, r.body[list])
		}
	}
	if _, has := r.body["password"]; has || strings.Contains(r.raw, "s3cret") {
		t.Errorf("password kept: %s", r.raw)
	}
	r = rc.must(200, "PATCH", "/Users/"+uid, `{"Operations": [{"op": "remove", "path": "`+ent+`"}]}`)
	if _, has := r.body[ent]; has {
		t.Errorf("enterprise extension not removed: %s", r.raw)
	}
	if strings.Contains(r.raw, `"urn:ietf:params:scim:schemas:extension:enterprise:2.0"`) {
		t.Errorf("the extension object was stored under a truncated URN: %s", r.raw)
	}
}

// TestPatchCustomExtension: an extension schema syncd has no definition
// of (Entra ID's custom attributes) is stored by PATCH as POST and PUT
// store it, so the deactivation sent in the same request is not lost.
func TestPatchCustomExtension(t *testing.T) {
	rc := newReceiver(t)
	const cust = "urn:ietf:params:scim:schemas:extension:CustomExtension:2.0:User"
	uid := str(rc.must(201, "POST", "/Users", `{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", "`+cust+`"],
		"userName": "cust1@corp.example", "active": true, "`+cust+`": {"costCenter": "41"}}`).body, "id")
	r := rc.must(200, "PATCH", "/Users/"+uid, `{"Operations": [
		{"op": "Replace", "path": "`+cust+`:costCenter", "value": "42"},
		{"op": "Replace", "path": "active", "value": "False"}]}`)
	if r.body["active"] != false || str(r.body, cust, "costCenter") != "42" {
		t.Errorf("after PATCH with paths: %s, want active false and costCenter 42", r.raw)
	}
	r = rc.must(200, "PATCH", "/Users/"+uid, `{"Operations": [{"op": "Replace", "value": {"`+cust+`:costCenter": "43", "active": "True"}}]}`)
	if r.body["active"] != true || str(r.body, cust, "costCenter") != "43" {
		t.Errorf("after PATCH without path: %s, want active true and costCenter 43", r.raw)
	}
	r = rc.must(200, "PATCH", "/Users/"+uid, `{"Operations": [{"op": "Add", "value": {"`+cust+`": {"badge": "7"}}}]}`)
	if str(r.body, cust, "costCenter") != "43" || str(r.body, cust, "badge") != "7" {
		t.Errorf("after PATCH of the whole extension: %s, want costCenter 43 kept and badge 7", r.raw)
	}
	r = rc.must(200, "PATCH", "/Users/"+uid, `{"Operations": [{"op": "Remove", "path": "`+cust+`"}]}`)
	if _, has := r.body[cust]; has {
		t.Errorf("extension not removed: %s", r.raw)
	}
	for _, s := range elements(r.body["schemas"]) {
		if s == cust {
			t.Errorf("schemas still lists the removed extension: %s", r.raw)
		}
	}
}

// TestPatchErrorNamesOperation: the detail names the op and its path, or
// says it had none and which key failed.
func TestPatchErrorNamesOperation(t *testing.T) {
	rc := newReceiver(t)
	uid := str(rc.must(201, "POST", "/Users", `{"userName": "a@x.com"}`).body, "id")
	for ops, want := range map[string]string{
		`[{"op": "Replace", "value": {"junk": 1}}]`:                                                     `operation 1 (Replace without path): key "junk": `,
		`[{"op": "add", "path": "title", "value": "x"}, {"op": "Replace", "path": "junk", "value": 1}]`: `operation 2 (Replace junk): `,
	} {
		r := rc.do("PATCH", "/Users/"+uid, `{"Operations": `+ops+`}`)
		wantError(t, r, 400, "invalidPath")
		if d := str(r.body, "detail"); !strings.HasPrefix(d, want) {
			t.Errorf("detail = %q, want it to start %q", d, want)
		}
	}
}

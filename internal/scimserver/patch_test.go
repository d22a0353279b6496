package scimserver

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

func decode(t *testing.T, s string) object {
	t.Helper()
	var o object
	if err := json.Unmarshal([]byte(s), &o); err != nil {
		t.Fatalf("%s: %v", s, err)
	}
	return o
}

func TestFilter(t *testing.T) {
	user := decode(t, `{"id": "abc", "userName": "Bjensen@Example.com", "externalId": "E1", "active": true,
		"name": {"familyName": "Jensen"},
		"emails": [{"value": "bjensen@example.com", "type": "work", "primary": true}, {"value": "babs@home.example", "type": "home"}],
		"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "Sales", "level": 3}}`)
	for _, tc := range []struct {
		filter string
		want   bool
	}{
		{`userName eq "bjensen@example.com"`, true},
		{`USERNAME EQ "BJENSEN@EXAMPLE.COM"`, true},
		{`urn:ietf:params:scim:schemas:core:2.0:User:userName eq "bjensen@example.com"`, true},
		{`id eq "abc"`, true},
		{`id eq "ABC"`, false},
		{`externalId eq "E1"`, true},
		{`externalId eq "e1"`, false},
		{`emails.value eq "babs@home.example"`, true},
		{`emails.value eq "BABS@HOME.EXAMPLE"`, true},
		{`emails[type eq "work" and value co "example.com"]`, true},
		{`emails[type eq "home" and primary eq true]`, false},
		{`name.familyName sw "jen"`, true},
		{`userName ew "example.com" and active eq true`, true},
		{`active eq false or userName eq "x"`, false},
		{`not (active eq false)`, true},
		{`title pr`, false},
		{`name pr and (emails pr)`, true},
		{`userName ne "x"`, true},
		{`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq "sales"`, true},
		{`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:level gt 2`, true},
		{`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:level lt 2`, false},
		{`displayName eq "x" and userName eq "bjensen@example.com" or id eq "abc"`, true},
	} {
		e, err := parseFilter(tc.filter)
		if err != nil {
			t.Errorf("%s: %v", tc.filter, err)
			continue
		}
		if got := e.match(user); got != tc.want {
			t.Errorf("%s = %v, want %v", tc.filter, got, tc.want)
		}
	}
	for _, bad := range []string{``, `userName`, `userName eq`, `userName xx "a"`, `(userName eq "a"`, `userName eq "a" and`,
		`emails[type eq "work"`, `userName eq "unterminated`, `userName eq bare`, `a.b.c eq "x"`} {
		if _, err := parseFilter(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

func TestPatchOps(t *testing.T) {
	base := `{"userName": "u", "active": true, "name": {"givenName": "A", "familyName": "B"},
		"emails": [{"value": "a@x.com", "type": "work", "primary": true}, {"value": "b@x.com", "type": "home"}],
		"members": [{"value": "1"}, {"value": "2"}]}`
	for _, tc := range []struct {
		name, ops, want string
	}{
		{"replace simple, capitalised", `[{"op": "Replace", "path": "userName", "value": "v"}]`,
			`{"userName": "v"}`},
		{"add without path merges complex", `[{"op": "add", "value": {"name": {"middleName": "M"}, "title": "T"}}]`,
			`{"name": {"givenName": "A", "familyName": "B", "middleName": "M"}, "title": "T"}`},
		{"replace without path with dotted and URN keys", `[{"op": "replace", "value": {"name.givenName": "Z", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager": {"value": "m1"}}}]`,
			`{"name": {"givenName": "Z", "familyName": "B"}, "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"manager": {"value": "m1"}}}`},
		{"filtered sub-attribute", `[{"op": "replace", "path": "emails[type eq \"home\"].value", "value": "c@x.com"}]`,
			`{"emails": [{"value": "a@x.com", "type": "work", "primary": true}, {"value": "c@x.com", "type": "home"}]}`},
		{"filtered sub-attribute creates the element", `[{"op": "Add", "path": "emails[type eq \"other\"].value", "value": "o@x.com"}]`,
			`{"emails": [{"value": "a@x.com", "type": "work", "primary": true}, {"value": "b@x.com", "type": "home"}, {"type": "other", "value": "o@x.com"}]}`},
		{"add members single value, deduplicated", `[{"op": "add", "path": "members", "value": {"value": "2"}}, {"op": "add", "path": "members", "value": [{"value": "3"}, {"value": "3"}]}]`,
			`{"members": [{"value": "1"}, {"value": "2"}, {"value": "3"}]}`},
		{"remove members by filter", `[{"op": "remove", "path": "members[value eq \"1\"]"}]`,
			`{"members": [{"value": "2"}]}`},
		{"remove members by value array", `[{"op": "Remove", "path": "members", "value": [{"value": "2"}, {"value": "9"}]}]`,
			`{"members": [{"value": "1"}]}`},
		{"remove absent member is a no-op", `[{"op": "remove", "path": "members[value eq \"9\"]"}]`,
			`{}`},
		{"remove all members", `[{"op": "remove", "path": "members"}]`,
			`{"members": null}`},
		{"replace members", `[{"op": "replace", "path": "members", "value": [{"value": "7"}]}]`,
			`{"members": [{"value": "7"}]}`},
		{"replace members, deduplicated", `[{"op": "replace", "value": {"members": [{"value": "7"}, {"value": "8"}, {"value": "7"}]}}]`,
			`{"members": [{"value": "7"}, {"value": "8"}]}`},
		{"remove sub-attribute", `[{"op": "remove", "path": "name.familyName"}]`,
			`{"name": {"givenName": "A"}}`},
		{"boolean string", `[{"op": "Replace", "path": "active", "value": "False"}]`,
			`{"active": false}`},
		{"read-only attributes ignored", `[{"op": "replace", "value": {"id": "other", "meta": {}}}]`,
			`{}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := decode(t, base)
			var ops []operation
			if err := json.Unmarshal([]byte(tc.ops), &ops); err != nil {
				t.Fatal(err)
			}
			k := Users // the base mixes a user and a group; the cases on members are a group's
			if strings.Contains(tc.ops, `"members`) {
				k = Groups
			}
			if err := applyPatch(k, o, ops); err != nil {
				t.Fatal(err)
			}
			o = clean(Users, o)
			want := decode(t, base)
			for k, v := range decode(t, tc.want) {
				if v == nil {
					delete(want, k)
				} else {
					want[k] = v
				}
			}
			if !reflect.DeepEqual(o, want) {
				g, _ := json.Marshal(o)
				w, _ := json.Marshal(want)
				t.Errorf("got  %s\nwant %s", g, w)
			}
		})
	}
}

// TestFailedPatchChangesNothing: a PATCH works on a copy that shares the
// stored members and e-mails; an operation changing one of them, followed
// by one that fails, must leave the stored resource exactly as it was.
func TestFailedPatchChangesNothing(t *testing.T) {
	rc := newReceiver(t)
	uid := str(rc.must(201, "POST", "/Users", `{"userName": "a@x.com", "emails": [{"value": "a@x.com", "type": "work", "primary": true}]}`).body, "id")
	gid := str(rc.must(201, "POST", "/Groups", `{"displayName": "g", "members": [{"value": "`+uid+`", "display": "A"}]}`).body, "id")
	user := rc.must(200, "GET", "/Users/"+uid, "").raw
	group := rc.must(200, "GET", "/Groups/"+gid, "").raw
	for _, tc := range []struct{ path, ops, scimType string }{
		{"/Groups/" + gid, `[{"op": "replace", "path": "members[value eq \"` + uid + `\"].display", "value": "B"},
			{"op": "remove", "path": "members[value eq \"` + uid + `\"].type"},
			{"op": "remove", "path": "members.display"},
			{"op": "replace", "path": "displayName", "value": ""}]`, "invalidValue"},
		{"/Groups/" + gid, `[{"op": "add", "path": "members[value eq \"` + uid + `\"]", "value": {"display": "C"}},
			{"op": "move"}]`, "invalidSyntax"},
		{"/Users/" + uid, `[{"op": "replace", "path": "emails[type eq \"work\"].value", "value": "b@x.com"},
			{"op": "replace", "path": "emails.primary", "value": "False"},
			{"op": "remove", "path": "userName"}]`, "invalidValue"},
	} {
		wantError(t, rc.do("PATCH", tc.path, `{"Operations": `+tc.ops+`}`), 400, tc.scimType)
	}
	if got := rc.must(200, "GET", "/Users/"+uid, "").raw; got != user {
		t.Errorf("user changed by failed PATCHes:\n got %s\nwant %s", got, user)
	}
	if got := rc.must(200, "GET", "/Groups/"+gid, "").raw; got != group {
		t.Errorf("group changed by failed PATCHes:\n got %s\nwant %s", got, group)
	}
	// A PATCH that succeeds changes the member it names, in the file too.
	rc.must(204, "PATCH", "/Groups/"+gid, `{"Operations": [{"op": "replace", "path": "members[value eq \"`+uid+`\"].display", "value": "B"}]}`)
	if m := elements(rc.must(200, "GET", "/Groups/"+gid, "").body["members"]); len(m) != 1 || str(m[0].(object), "display") != "B" {
		t.Errorf("members after the sub-attribute replace: %v", m)
	}
}

// TestReceivedMembersDeduplicated: POST and PUT bodies listing a member
// twice store it once.
func TestReceivedMembersDeduplicated(t *testing.T) {
	rc := newReceiver(t)
	r := rc.must(201, "POST", "/Groups", `{"displayName": "g", "members": [{"value": "a"}, {"value": "b"}, {"value": "a", "type": "User"}]}`)
	if got := memberValues(r.body); !reflect.DeepEqual(got, []string{"a", "b"}) {
		t.Errorf("after POST: %v", got)
	}
	r = rc.must(200, "PUT", "/Groups/"+str(r.body, "id"), `{"displayName": "g", "members": [{"value": "c"}, {"value": "c"}]}`)
	if got := memberValues(r.body); !reflect.DeepEqual(got, []string{"c"}) {
		t.Errorf("after PUT: %v", got)
	}
}

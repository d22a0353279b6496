package scimserver

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// TestActiveMustBeBoolean: active is a boolean, or "True"/"False" in any
// case (Entra ID); anything else is refused on POST, PUT and PATCH and
// changes nothing.
func TestActiveMustBeBoolean(t *testing.T) {
	rc := newReceiver(t)
	uid := str(rc.must(201, "POST", "/Users", `{"userName": "a@x.com", "active": true}`).body, "id")
	for _, bad := range []string{`"maybe"`, `0`, `1`, `"no"`, `"0"`, `"off"`, `{}`, `["true"]`} {
		t.Run(bad, func(t *testing.T) {
			wantError(t, rc.do("POST", "/Users", `{"userName": "b@x.com", "active": `+bad+`}`), 400, "invalidValue")
			wantError(t, rc.do("PUT", "/Users/"+uid, `{"userName": "a@x.com", "active": `+bad+`}`), 400, "invalidValue")
			wantError(t, rc.do("PATCH", "/Users/"+uid, `{"Operations": [{"op": "Replace", "path": "active", "value": `+bad+`}]}`), 400, "invalidValue")
			wantError(t, rc.do("PATCH", "/Users/"+uid, `{"Operations": [{"op": "Replace", "value": {"active": `+bad+`}}]}`), 400, "invalidValue")
		})
	}
	if r := rc.must(200, "GET", "/Users/"+uid, ""); r.body["active"] != true {
		t.Errorf("active after refused requests = %v, want true", r.body["active"])
	}
	for _, tc := range []struct {
		value string
		want  bool
	}{{`"False"`, false}, {`"TRUE"`, true}, {`"false"`, false}, {`true`, true}} {
		r := rc.must(200, "PATCH", "/Users/"+uid, `{"Operations": [{"op": "Replace", "path": "active", "value": `+tc.value+`}]}`)
		if r.body["active"] != tc.want {
			t.Errorf("active after PATCH %s = %v, want %v", tc.value, r.body["active"], tc.want)
		}
	}
}

// TestEmailsTyped: emails is an array of objects with a string value.
func TestEmailsTyped(t *testing.T) {
	rc := newReceiver(t)
	uid := str(rc.must(201, "POST", "/Users", `{"userName": "a@x.com", "emails": [{"value": "a@x.com", "type": "work"}]}`).body, "id")
	for _, bad := range []string{`"a@b"`, `[{"value": 12345}]`, `["a@b"]`, `[{"type": "work"}]`, `{"value": "a@b"}`} {
		t.Run(bad, func(t *testing.T) {
			wantError(t, rc.do("POST", "/Users", `{"userName": "b@x.com", "emails": `+bad+`}`), 400, "invalidValue")
			wantError(t, rc.do("PUT", "/Users/"+uid, `{"userName": "a@x.com", "emails": `+bad+`}`), 400, "invalidValue")
			if bad[0] == '{' {
				return // PATCH adds one element to a multi-valued attribute (RFC 7644 §3.5.2.1)
			}
			wantError(t, rc.do("PATCH", "/Users/"+uid, `{"Operations": [{"op": "replace", "path": "emails", "value": `+bad+`}]}`), 400, "invalidValue")
		})
	}
	if r := rc.must(200, "GET", "/Users/"+uid, ""); str(elements(r.body["emails"])[0].(object), "value") != "a@x.com" {
		t.Errorf("emails after refused requests: %s", r.raw)
	}
}

// TestStoredUnreadableActive: a store written before active was checked
// may hold "maybe"; the groups listing that user are unknown, never
// guessed complete.
func TestStoredUnreadableActive(t *testing.T) {
	users := map[string]*record{}
	for id, active := range map[string]any{"a": true, "b": "maybe", "c": 0.0, "d": false} {
		users[id] = &record{ID: id, Attrs: object{"userName": id + "@x.com", "active": active}}
	}
	group := func(seq uint64, name string, members ...string) *record {
		var ms []any
		for _, m := range members {
			ms = append(ms, object{"value": m})
		}
		return &record{ID: name, Seq: seq, Attrs: object{"displayName": name, "members": ms}}
	}
	dir := buildDirectory("entra", map[Kind]map[string]*record{Users: users, Groups: {
		"ok": group(1, "ok", "a", "d"), "maybe": group(2, "maybe", "a", "b"), "zero": group(3, "zero", "c"),
	}})
	if g := dir.Group("ok"); g.Err != nil || fmt.Sprint(g.Members) != "[a]" || g.Inactive != 1 || g.Ignored != 0 {
		t.Errorf("group ok = %+v, want member a only and d counted as inactive", g)
	}
	for _, name := range []string{"maybe", "zero"} {
		if g := dir.Group(name); !errors.Is(g.Err, ErrUnreadableActive) {
			t.Errorf("group %s = %+v, want unknown: ErrUnreadableActive", name, g)
		}
	}
}

// TestUnassignedNotDisplayed: an empty or null attribute is left out of
// responses (RFC 7643 §2.5), never shown as null; a user's read-only
// groups is ignored on input (RFC 7644 §3.3), as Okta sends it on create.
func TestUnassignedNotDisplayed(t *testing.T) {
	rc := newReceiver(t)
	g := rc.must(201, "POST", "/Groups", `{"displayName": "k8s", "members": []}`)
	gid := str(g.body, "id")
	uid := str(rc.must(201, "POST", "/Users", `{"userName": "okta@x.com", "groups": [{"value": "`+gid+`"}], "emails": []}`).body, "id")
	responses := []response{
		g,
		rc.must(200, "GET", "/Groups/"+gid, ""),
		rc.must(200, "PATCH", "/Users/"+uid, `{"Operations": [{"op": "replace", "value": {"displayName": "O", "groups": [{"value": "x"}]}},
			{"op": "add", "path": "groups", "value": [{"value": "y"}]}]}`),
		rc.must(200, "PUT", "/Users/"+uid, `{"userName": "okta@x.com", "groups": [], "nickName": null}`),
		rc.must(200, "GET", "/Users?filter="+q(`userName eq "okta@x.com"`), ""),
		rc.must(200, "PATCH", "/Groups/"+gid+"?attributes=members,displayName", `{"Operations": [{"op": "remove", "path": "members"}]}`),
	}
	for i, r := range responses {
		if strings.Contains(r.raw, "null") || strings.Contains(r.raw, `"groups"`) || strings.Contains(r.raw, "[]") {
			t.Errorf("response %d shows an unassigned attribute or groups: %s", i, r.raw)
		}
	}
	if n := listTotal(t, rc.must(200, "GET", "/Groups?filter="+q(`displayName eq "k8s"`), "")); n != 1 {
		t.Errorf("group k8s: %d found", n)
	}
}

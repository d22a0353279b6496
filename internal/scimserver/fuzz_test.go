package scimserver

import (
	"encoding/json"
	"testing"
)

// The filter and PATCH parsers read what an identity provider sends over
// the network: no input may panic them, and what they accept must be
// usable (a filter that parses matches without panicking; a PATCH that
// applies leaves a resource that still encodes as JSON).

func FuzzFilter(f *testing.F) {
	for _, s := range []string{
		`userName eq "alice@example.com"`,
		`externalId eq "x" and (active eq true or not (title pr))`,
		`emails[type eq "work" and value co "@example.com"]`,
		`members[value eq "u1"].display sw "A"`,
		`meta.lastModified gt "2026-01-01T00:00:00Z"`,
		`((((userName eq "a"))))`, `not`, `"`, `a[`, `a eq 1e400`,
	} {
		f.Add(s)
	}
	doc := object{"userName": "alice@example.com", "active": true, "title": "x",
		"emails":  []any{map[string]any{"type": "work", "value": "a@example.com"}},
		"members": []any{map[string]any{"value": "u1", "display": "Alice"}},
		"meta":    map[string]any{"lastModified": "2026-02-01T00:00:00Z"}, "n": 3.5}
	f.Fuzz(func(t *testing.T, s string) {
		e, err := parseFilter(s)
		if err != nil {
			return
		}
		e.match(doc)
		e.match(object{})
	})
}

func FuzzPatch(f *testing.F) {
	for _, s := range []string{
		`[{"op":"replace","path":"active","value":false}]`,
		`[{"op":"add","path":"members","value":[{"value":"u1"}]}]`,
		`[{"op":"remove","path":"members[value eq \"u1\"]"}]`,
		`[{"op":"Replace","value":{"displayName":"X","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department":"D"}}]`,
		`[{"op":"replace","path":"emails[type eq \"work\"].value","value":"b@example.com"}]`,
		`[{"op":"add","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager","value":{"value":"m"}}]`,
		`[{"op":"remove","path":"name.givenName"}]`,
	} {
		f.Add(s, true)
		f.Add(s, false)
	}
	f.Fuzz(func(t *testing.T, ops string, user bool) {
		var list []operation
		if json.Unmarshal([]byte(ops), &list) != nil {
			return
		}
		k, o := Groups, object{"displayName": "G", "members": []any{map[string]any{"value": "u1"}}}
		if user {
			k, o = Users, object{"userName": "a", "emails": []any{map[string]any{"type": "work", "value": "a@example.com"}},
				"name": map[string]any{"givenName": "A"}}
		}
		if applyPatch(k, o, list) != nil {
			return
		}
		if _, err := json.Marshal(o); err != nil {
			t.Fatalf("patched resource does not encode: %v", err)
		}
	})
}

package ldap

import "testing"

func TestMatcherAndScope(t *testing.T) {
	e := &Entry{DN: "uid=a,ou=People,dc=x", Attrs: map[string][]string{
		"objectclass": {"top", "inetOrgPerson"}, "mail": {"A@X.org"}, "cn": {"Anna Bell"}}}
	tests := []struct {
		filter string
		want   bool
	}{
		{"(objectClass=inetorgperson)", true},
		{"(&(objectClass=inetOrgPerson)(mail=a@x.org))", true},
		{"(|(objectClass=group)(cn=anna*))", true},
		{"(!(mail=*))", false},
		{"(cn=*nn*ell)", true},
		{"(cn=b*)", false},
		{"(uid=*)", false},
		{"(memberOf:1.2.840.113556.1.4.1941:=cn=g)", false},
	}
	for _, tt := range tests {
		m, err := CompileMatcher(tt.filter)
		if err != nil {
			t.Fatal(err)
		}
		if got := m.Match(e); got != tt.want {
			t.Errorf("%s: got %v, want %v", tt.filter, got, tt.want)
		}
	}
	if _, err := CompileMatcher("(broken"); err == nil {
		t.Error("a broken filter compiled")
	}
	scopes := []struct {
		base, scope string
		want        bool
	}{
		{"ou=people,dc=x", "sub", true},
		{"dc=x", "sub", true},
		{"dc=x", "one", false},
		{"OU=People, DC=x", "one", true},
		{"ou=other,dc=x", "sub", false},
		{"", "sub", true},
	}
	for _, s := range scopes {
		if got := InScope(e.DN, s.base, s.scope); got != s.want {
			t.Errorf("InScope(%q, %s) = %v, want %v", s.base, s.scope, got, s.want)
		}
	}
}

func TestFormatIDs(t *testing.T) {
	guid := []byte{0x78, 0x56, 0x34, 0x12, 0xbc, 0x9a, 0xf0, 0xde, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef}
	if got, want := formatID("objectGUID", string(guid)), "12345678-9abc-def0-0123-456789abcdef"; got != want {
		t.Errorf("GUID = %s, want %s", got, want)
	}
	sid := []byte{1, 5, 0, 0, 0, 0, 0, 5, 21, 0, 0, 0, 0xa1, 0, 0, 0, 0xb2, 0, 0, 0, 0xc3, 0, 0, 0, 0xe9, 3, 0, 0}
	if got, want := formatID("objectSid", string(sid)), "S-1-5-21-161-178-195-1001"; got != want {
		t.Errorf("SID = %s, want %s", got, want)
	}
	if got := formatID("entryUUID", "abc"); got != "abc" {
		t.Errorf("entryUUID = %s", got)
	}
}

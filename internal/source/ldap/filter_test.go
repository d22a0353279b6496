package ldap

import (
	"strings"
	"testing"
	"unicode/utf8"

	goldap "github.com/go-ldap/ldap/v3"
)

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

func TestCanonicalDN(t *testing.T) {
	same := [][]string{
		{`cn=Smith\, John,ou=People,dc=x`, `CN=smith\2C john, OU=people,DC=X`, `cn = Smith\2c John ,ou=people,dc=x`},
		{`cn=Multi+uid=m,dc=x`, `UID=m+cn=multi,dc=x`},
		{`cn=a=b,dc=x`, `cn=a\=b,dc=x`},
		{`cn=Zoë,dc=x`, `cn=ZOË,dc=x`, `cn=Zo\c3\ab,dc=x`},
	}
	for _, group := range same {
		for _, dn := range group[1:] {
			if a, b := CanonicalDN(group[0]), CanonicalDN(dn); a != b {
				t.Errorf("CanonicalDN(%q) = %q, CanonicalDN(%q) = %q; want equal", group[0], a, dn, b)
			}
		}
	}
	for _, dn := range []string{"uid=user1,ou=people,dc=example,dc=com", "cn=x"} {
		if got := CanonicalDN(dn); got != dn {
			t.Errorf("CanonicalDN(%q) = %q, want it unchanged", dn, got)
		}
	}
	if got, want := CanonicalDN("CN=Bob ,OU=People"), "cn=bob,ou=people"; got != want {
		t.Errorf("CanonicalDN = %q, want %q", got, want)
	}
	different := [][2]string{
		{`cn=a\,b,dc=x`, `cn=a,cn=b,dc=x`},
		{`cn=a+cn=b,dc=x`, `cn=a\+cn\=b,dc=x`},
	}
	for _, d := range different {
		if CanonicalDN(d[0]) == CanonicalDN(d[1]) {
			t.Errorf("%q and %q must differ", d[0], d[1])
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

// FuzzCanonicalDN: the fast path agrees with the full parse on every DN
// it takes, so a member value matches its user whichever path either took.
func FuzzCanonicalDN(f *testing.F) {
	for _, dn := range []string{"uid=a,ou=People,dc=x", "CN=Bob ,OU=People", "cn = Zoë ,dc=x", "cn=a=b,dc=x", "cn=,dc=x", " cn=a"} {
		f.Add(dn)
	}
	f.Fuzz(func(t *testing.T, dn string) {
		if strings.ContainsAny(dn, dnSpecials) || !utf8.ValidString(dn) {
			return
		}
		if _, err := goldap.ParseDN(dn); err != nil {
			return
		}
		if fast, full := fastCanonicalDN(dn), parsedCanonicalDN(dn); fast != full {
			t.Errorf("CanonicalDN(%q): fast path %q, full parse %q", dn, fast, full)
		}
	})
}

package directory

import (
	"strings"
	"testing"
	"unicode/utf8"

	goldap "github.com/go-ldap/ldap/v3"
)

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

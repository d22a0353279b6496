package ldap_test

import (
	"slices"
	"testing"

	"github.com/syncd/syncd/internal/source/ldap/slapdtest"
)

// lockLDIF has three people in one group, under slapd's password policy
// overlay: dana locked by an administrator (pwdAccountLockedTime
// 000001010000Z, until unlocked by hand), eve locked out for a while
// after failed binds (a time: the lock ends by itself), and fay.
const lockLDIF = `dn: ou=people,` + slapdtest.Suffix + `
objectClass: organizationalUnit
ou: people

dn: ou=groups,` + slapdtest.Suffix + `
objectClass: organizationalUnit
ou: groups

dn: uid=dana,ou=people,` + slapdtest.Suffix + `
objectClass: inetOrgPerson
uid: dana
cn: Dana
sn: Dana
mail: dana@example.com
pwdAccountLockedTime: 000001010000Z

dn: uid=eve,ou=people,` + slapdtest.Suffix + `
objectClass: inetOrgPerson
uid: eve
cn: Eve
sn: Eve
mail: eve@example.com
pwdAccountLockedTime: 20261207093000Z

dn: uid=fay,ou=people,` + slapdtest.Suffix + `
objectClass: inetOrgPerson
uid: fay
cn: Fay
sn: Fay
mail: fay@example.com

dn: cn=staff,ou=groups,` + slapdtest.Suffix + `
objectClass: groupOfNames
cn: staff
member: uid=dana,ou=people,` + slapdtest.Suffix + `
member: uid=eve,ou=people,` + slapdtest.Suffix + `
member: uid=fay,ou=people,` + slapdtest.Suffix + `
`

// users.skip_disabled leaves out a person an OpenLDAP administrator
// locked, and keeps one whose lockout after failed binds ends by itself.
func TestSlapdSkipDisabledLeavesOutAdministrativeLocks(t *testing.T) {
	srv := slapdtest.Start(t, slapdtest.Options{LDIF: lockLDIF, PPolicy: true})
	for _, skip := range []bool{false, true} {
		cfg := baseConfig(srv.URL)
		cfg.Users.SkipDisabled = skip
		d := mustRead(t, cfg)
		var emails []string
		for _, id := range d.Group("staff").Members {
			emails = append(emails, d.Users[id].Emails...)
		}
		slices.Sort(emails)
		want := []string{"dana@example.com", "eve@example.com", "fay@example.com"}
		if skip {
			want = want[1:]
		}
		if !slices.Equal(emails, want) {
			t.Errorf("skip_disabled %v: staff = %v, want %v", skip, emails, want)
		}
	}
}

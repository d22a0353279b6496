package ldap_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/syncd/syncd/internal/source/ldap/slapdtest"
)

// The OpenLDAP example reads slapdtest.Fixture over LDAPS and StartTLS as
// uid=svc-syncd, whose only grant is examples/ldap/openldap-acl.conf:
// what the documentation calls its least privileges is enough.
func TestOpenLDAPExampleConfig(t *testing.T) {
	acl, err := os.ReadFile(filepath.Join(repoRoot(t), "examples", "ldap", "openldap-acl.conf"))
	if err != nil {
		t.Fatal(err)
	}
	const svc = `dn: ou=services,` + slapdtest.Suffix + `
objectClass: organizationalUnit
ou: services

dn: uid=svc-syncd,ou=services,` + slapdtest.Suffix + `
objectClass: account
objectClass: simpleSecurityObject
uid: svc-syncd
userPassword: svc-syncd-secret

`
	srv := slapdtest.Start(t, slapdtest.Options{LDIF: slapdtest.Fixture + svc, TLS: true,
		Access: string(acl) + "\naccess to * by * none"}) // nothing else for anyone
	for _, c := range []struct {
		name, url string
		startTLS  bool
	}{{"ldaps", srv.LDAPSURL, false}, {"starttls", srv.URL, true}} {
		t.Run(c.name, func(t *testing.T) {
			cfg := exampleConfig(t, "openldap", []string{c.url}, srv.CAFile, "svc-syncd-secret")
			cfg.StartTLS = c.startTLS
			checkFixtureShapes(t, mustRead(t, cfg))
		})
	}
	// The grant is what makes it work: the reader account, which has none
	// here, sees nothing.
	cfg := exampleConfig(t, "openldap", []string{srv.LDAPSURL}, srv.CAFile, slapdtest.ReaderPW)
	cfg.BindDN = slapdtest.ReaderDN
	if d, err := read(t, cfg); err == nil && len(d.Users) != 0 {
		t.Errorf("an account without the grant read %d users", len(d.Users))
	}
}

package config

import "testing"

func TestActiveDirectoryBindNamesAndDisabledAccounts(t *testing.T) {
	cfg := mustLoad(t, "testdata/valid/active-directory.yaml", nil)
	for name, want := range map[string]string{
		"upn":       "svc-syncd@corp.example.org",
		"downlevel": `CORP\svc-syncd`,
		"quoted":    `CORP\svc-syncd`,
	} {
		check(t, name+" bind_dn", cfg.Source(name).LDAP.BindDN, want)
	}
	// active_directory.skip_disabled is the older spelling of
	// users.skip_disabled, which any server may use (nsAccountLock).
	check(t, "upn users.skip_disabled", cfg.Source("upn").LDAP.Users.SkipDisabled, true)
	// With active_directory: it defaults to true; said false, it stays.
	check(t, "downlevel users.skip_disabled", cfg.Source("downlevel").LDAP.Users.SkipDisabled, true)
	check(t, "quoted users.skip_disabled", cfg.Source("quoted").LDAP.Users.SkipDisabled, false)
	check(t, "ipa users.skip_disabled", cfg.Source("ipa").LDAP.Users.SkipDisabled, true)
}

func TestADBindNames(t *testing.T) {
	for name, want := range map[string]bool{
		"svc@corp.example.org":  true,
		"svc.syncd@corp":        true,
		`CORP\svc-syncd`:        true,
		`corp-emea\svc_syncd`:   true,
		"svc@":                  false,
		"@corp.example.org":     false,
		"svc@corp..example":     false,
		`CORP\`:                 false,
		`\svc`:                  false,
		`CORP\svc\x`:            false,
		`A-NAME-TOO-LONG-X\svc`: false,
		"cn=svc,dc=example":     false,
		"svc syncd":             false,
	} {
		if got := isADBindName(name); got != want {
			t.Errorf("isADBindName(%q) = %v, want %v", name, got, want)
		}
	}
}

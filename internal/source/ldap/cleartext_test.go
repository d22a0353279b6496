package ldap

import (
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/syncd/syncd/internal/config"
)

// A simple bind over plain ldap:// to another host is allowed, but warned
// about; loopback, StartTLS, ldaps:// and anonymous binds are not.
func TestCleartextBindIsWarned(t *testing.T) {
	for _, tc := range []struct {
		url      string
		startTLS bool
		bindDN   string
		warn     bool
	}{
		{"ldap://ldap.example.com", false, "cn=svc,dc=x", true},
		{"ldap://10.1.2.3:389", false, "cn=svc,dc=x", true},
		{"ldap://ldap.example.com", true, "cn=svc,dc=x", false},
		{"ldaps://ldap.example.com", false, "cn=svc,dc=x", false},
		{"ldap://127.0.0.1:3389", false, "cn=svc,dc=x", false},
		{"ldap://localhost", false, "cn=svc,dc=x", false},
		{"ldap://ldap.example.com", false, "", false},
	} {
		core, logs := observer.New(zapcore.WarnLevel)
		cfg := config.LDAP{URLs: config.StringList{tc.url}, StartTLS: tc.startTLS, BindDN: tc.bindDN,
			Users: config.LDAPUsers{BaseDN: "ou=people,dc=x"}, Groups: config.LDAPGroups{BaseDN: "ou=groups,dc=x"}}
		if tc.bindDN != "" {
			cfg.BindPassword = "s3cret-value"
		}
		if _, err := New("corp", cfg, zap.New(core)); err != nil {
			t.Fatalf("%s: %v", tc.url, err)
		}
		warned := logs.FilterMessageSnippet("unencrypted").Len() > 0
		if warned != tc.warn {
			t.Errorf("%s start_tls=%v bind=%q: warned %v, want %v", tc.url, tc.startTLS, tc.bindDN, warned, tc.warn)
		}
		for _, e := range logs.All() {
			for _, f := range e.Context {
				if f.String == "s3cret-value" {
					t.Errorf("the password was logged")
				}
			}
		}
	}
}

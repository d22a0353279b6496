package probe

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/syncd/syncd/internal/source/ldap"
	"github.com/syncd/syncd/internal/source/scim"
	"github.com/syncd/syncd/internal/state"
	"github.com/syncd/syncd/internal/teams"
)

func TestNotReady(t *testing.T) {
	// The errors the real sources return (wrapped as the engine wraps them).
	ldapBind := fmt.Errorf("ldap source %q: %w", "corp", &ldap.BindError{URL: "ldap://x", BindDN: "cn=syncd", Err: &ldap.ResultError{Code: 49}})
	scimRefused := fmt.Errorf("scim source: %w", &scim.Error{Method: "GET", URL: "https://idp/scim/v2/Groups", Status: 401, Kind: scim.ErrUnauthorized})
	scimDown := fmt.Errorf("scim source: %w", &scim.Error{Method: "GET", URL: "https://idp/scim/v2/Groups", Status: 503, Kind: scim.ErrServer})
	cases := []struct {
		name    string
		err     error
		sources []SourceErr
		ready   bool
	}{
		{"success", nil, nil, true},
		{"token", fmt.Errorf("list users: %w", teams.ErrUnauthorized), nil, false},
		{"read-only token", fmt.Errorf("add: %w", teams.ErrForbidden), nil, false},
		{"ldap bind", nil, []SourceErr{{Name: "corp", Err: ldapBind}}, false},
		{"ldap down", nil, []SourceErr{{Name: "corp", Err: errors.New("connection refused")}}, true},
		{"ldap other result", nil, []SourceErr{{Name: "corp", Err: &ldap.ResultError{Code: 51}}}, true},
		{"scim token", nil, []SourceErr{{Name: "idp", Err: scimRefused}}, false},
		{"scim down", nil, []SourceErr{{Name: "idp", Err: scimDown}}, true},
		{"api down", fmt.Errorf("list: %w", teams.ErrServer), nil, true},
		{"state damaged", fmt.Errorf("read the state dir before writing: %w", &state.DamagedError{Path: "/var/lib/syncd/syncd.db", Reason: "the file is missing"}), nil, false},
	}
	for _, c := range cases {
		why := NotReady(c.err, c.sources)
		if (why == "") != c.ready {
			t.Errorf("%s: NotReady = %q, want ready=%v", c.name, why, c.ready)
		}
	}
}

// A bind refused for want of TLS (AD answers 8, 389-ds 13) is not a
// credential problem: readiness must say to use TLS, not to fix the password.
func TestNotReadyBindWithoutTLS(t *testing.T) {
	for _, code := range []int{8, 13} {
		err := fmt.Errorf("ldap source %q: %w", "corp", &ldap.BindError{URL: "ldap://dc1", BindDN: "svc@corp.example.org",
			Err: &ldap.ResultError{Code: code, Diag: "BindSimple: Transport encryption required."}})
		why := NotReady(nil, []SourceErr{{Name: "corp", Err: err}})
		if !strings.Contains(why, "ldaps://") || !strings.Contains(why, "start_tls: true") || strings.Contains(why, "credentials") {
			t.Errorf("code %d: NotReady = %q, want a pointer to ldaps:// or start_tls", code, why)
		}
		if msg := err.Error(); !strings.Contains(msg, "use ldaps:// or start_tls: true") {
			t.Errorf("code %d: the error %q does not say to use TLS", code, msg)
		}
	}
	// The same codes over TLS are something else (a stronger security
	// level than this TLS gives): no advice to turn TLS on.
	err := &ldap.BindError{URL: "ldaps://dc1", BindDN: "svc", TLS: true, Err: &ldap.ResultError{Code: 13}}
	if why := NotReady(nil, []SourceErr{{Name: "corp", Err: err}}); strings.Contains(why, "ldaps://") {
		t.Errorf("over TLS: NotReady = %q, want no advice to use TLS", why)
	}
	// A wrong password stays a credential problem.
	err = &ldap.BindError{URL: "ldap://dc1", BindDN: "svc", Err: &ldap.ResultError{Code: 49}}
	if why := NotReady(nil, []SourceErr{{Name: "corp", Err: err}}); !strings.Contains(why, "credentials") {
		t.Errorf("wrong password: NotReady = %q", why)
	}
}

// in_chain_lookup on a server without the rule is a configuration problem
// that no retry fixes: not ready, and saying so.
func TestNotReadyInChainUnsupported(t *testing.T) {
	err := fmt.Errorf("ldap source %q: %w: ldap://x lists no Active Directory capability", "corp", ldap.ErrInChainUnsupported)
	if why := NotReady(nil, []SourceErr{{Name: "corp", Err: err}}); !strings.Contains(why, "in_chain_lookup") {
		t.Errorf("NotReady = %q, want it to name in_chain_lookup", why)
	}
}

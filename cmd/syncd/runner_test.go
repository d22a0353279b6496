package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/syncd/syncd/internal/daemon"
	"github.com/syncd/syncd/internal/source/ldap"
)

// A bind refused for want of TLS (AD answers 8, 389-ds 13) is not a
// credential problem: readiness must say to use TLS, not to fix the password.
func TestNotReadyBindWithoutTLS(t *testing.T) {
	for _, code := range []int{8, 13} {
		err := fmt.Errorf("ldap source %q: %w", "corp", &ldap.BindError{URL: "ldap://dc1", BindDN: "svc@corp.example.org",
			Err: &ldap.ResultError{Code: code, Diag: "BindSimple: Transport encryption required."}})
		res := &daemon.Result{ExitCode: 1, Sources: []daemon.SourceStat{{Name: "corp", Err: err}}}
		why := notReady(res, nil)
		if !strings.Contains(why, "ldaps://") || !strings.Contains(why, "start_tls: true") || strings.Contains(why, "credentials") {
			t.Errorf("code %d: notReady = %q, want a pointer to ldaps:// or start_tls", code, why)
		}
		if msg := err.Error(); !strings.Contains(msg, "use ldaps:// or start_tls: true") {
			t.Errorf("code %d: the error %q does not say to use TLS", code, msg)
		}
	}
	// The same codes over TLS are something else (a stronger security
	// level than this TLS gives): no advice to turn TLS on.
	err := &ldap.BindError{URL: "ldaps://dc1", BindDN: "svc", TLS: true, Err: &ldap.ResultError{Code: 13}}
	res := &daemon.Result{ExitCode: 1, Sources: []daemon.SourceStat{{Name: "corp", Err: err}}}
	if why := notReady(res, nil); strings.Contains(why, "ldaps://") {
		t.Errorf("over TLS: notReady = %q, want no advice to use TLS", why)
	}
	// A wrong password stays a credential problem.
	err = &ldap.BindError{URL: "ldap://dc1", BindDN: "svc", Err: &ldap.ResultError{Code: 49}}
	res = &daemon.Result{ExitCode: 1, Sources: []daemon.SourceStat{{Name: "corp", Err: err}}}
	if why := notReady(res, nil); !strings.Contains(why, "credentials") {
		t.Errorf("wrong password: notReady = %q", why)
	}
}

// in_chain_lookup on a server without the rule is a configuration problem
// that no retry fixes: not ready, and saying so.
func TestNotReadyInChainUnsupported(t *testing.T) {
	err := fmt.Errorf("ldap source %q: %w: ldap://x lists no Active Directory capability", "corp", ldap.ErrInChainUnsupported)
	res := &daemon.Result{ExitCode: 1, Sources: []daemon.SourceStat{{Name: "corp", Err: err}}}
	if why := notReady(res, nil); !strings.Contains(why, "in_chain_lookup") {
		t.Errorf("notReady = %q, want it to name in_chain_lookup", why)
	}
}

package ldap_test

import (
	"errors"
	"strings"
	"testing"

	"go.uber.org/zap/zapcore"

	"github.com/syncd/syncd/internal/config"
	"github.com/syncd/syncd/internal/source/ldap"
	"github.com/syncd/syncd/internal/source/ldap/dstest"
	"github.com/syncd/syncd/internal/source/ldap/fixture"
)

// ipaExample is examples/ldap/freeipa.yaml pointed at the shared 389-ds.
func ipaExample(t *testing.T, srv *dstest.Server, url string) config.LDAP {
	t.Helper()
	return exampleConfig(t, "freeipa", []string{url}, srv.CAFile, dstest.ServicePW)
}

func ipaScope() fixture.Scope {
	return fixture.Scope{UsersBase: dstest.Users, GroupsBase: dstest.Groups, SkipDisabled: true}
}

// The FreeIPA example reads every group as the fixture says over LDAPS and
// StartTLS: locked accounts (nsAccountLock TRUE or true) left out, one
// explicitly unlocked (FALSE) kept, nesting with a cycle, names with `,`
// `+` `"` and non-ASCII characters, ipausers past 1,500 members.
func TestDSExampleConfig(t *testing.T) {
	srv := dstest.Shared(t)
	f := dstest.Fixture()
	truth := f.Truth(ipaScope())
	for _, c := range []struct {
		name, url string
		startTLS  bool
	}{{"ldaps", srv.LDAPSURL, false}, {"starttls", srv.URL, true}} {
		t.Run(c.name, func(t *testing.T) {
			cfg := ipaExample(t, srv, c.url)
			cfg.StartTLS = c.startTLS
			d, logs, err := readLogged(t, cfg)
			if err != nil {
				t.Fatalf("Read: %v", err)
			}
			compareTruth(t, d, truth)
			checkPeople(t, d, f, ipaScope())
			for _, g := range d.Groups {
				if g.Err != nil {
					t.Errorf("group %s unknown: %v", g.DN, g.Err)
				}
			}
			for _, e := range logs.FilterLevelExact(zapcore.WarnLevel).All() {
				t.Errorf("warning logged: %s %v", e.Message, e.ContextMap())
			}
			if u := userByLogin(d, "unlocked"); u == nil {
				t.Error("the account with nsAccountLock: FALSE was left out")
			}
		})
	}
}

// Without skip_disabled, locked accounts are members like anyone.
func TestDSLockedAccountsKept(t *testing.T) {
	srv := dstest.Shared(t)
	cfg := ipaExample(t, srv, srv.LDAPSURL)
	cfg.Users.SkipDisabled = false
	scope := ipaScope()
	scope.SkipDisabled = false
	compareTruth(t, mustRead(t, cfg), dstest.Fixture().Truth(scope))
}

// Both bases at the suffix: the search meets the ou=partners referral
// object (a continuation reference, recorded and logged); the group with a
// member behind it is unknown, and so is the group holding a group that an
// access rule hides from syncd's account. Nothing else changes.
func TestDSSuffixBases(t *testing.T) {
	srv := dstest.Shared(t)
	cfg := ipaExample(t, srv, srv.LDAPSURL)
	cfg.Users.BaseDN, cfg.Groups.BaseDN = dstest.Suffix, dstest.Suffix
	scope := ipaScope()
	scope.UsersBase, scope.GroupsBase = dstest.Suffix, dstest.Suffix
	truth := dstest.Fixture().Truth(scope)
	if !truth["holds-secret"].Unknown || !truth["partner liaisons"].Unknown {
		t.Fatalf("fixture: holds-secret and partner liaisons should be unknown: %+v", truth)
	}
	d, logs, err := readLogged(t, cfg)
	if err != nil {
		t.Fatal(err)
	}
	compareTruth(t, d, truth)
	if g := d.Group("holds-secret"); g == nil || !errors.Is(g.Err, ldap.ErrGroupNotRead) {
		t.Errorf("holds-secret: %v, want ErrGroupNotRead", g)
	}
	if d.Group("secret-team") != nil {
		t.Error("the hidden group was read")
	}
	refs := logs.FilterMessageSnippet("continuation reference").All()
	if len(refs) == 0 || refs[0].Level != zapcore.WarnLevel || !strings.Contains(refs[0].ContextMap()["reference"].(string), "partners") {
		t.Errorf("the reference to ou=partners was not logged as a warning: %v", refs)
	}
}

// nsslapd-require-secure-binds refuses a simple bind without TLS with
// result 13: the error says to use TLS.
func TestDSBindNeedsTLS(t *testing.T) {
	srv := dstest.Shared(t)
	cfg := ipaExample(t, srv, srv.URL)
	d, err := read(t, cfg)
	if !errors.Is(err, ldap.ErrTLSRequired) || !strings.Contains(err.Error(), "Confidentiality Required") {
		t.Fatalf("plain ldap:// bind: Read = %s; want a BindError for want of TLS", failed(d, err))
	}
}

// 389-ds applies a size limit (here the account's nsSizeLimit of 100) to
// each page: page_size 500 fails with a message saying that a smaller
// page_size fixes it, and 99 reads everything.
func TestDSSizeLimitPerPage(t *testing.T) {
	srv := dstest.Shared(t)
	cfg := ipaExample(t, srv, srv.LDAPSURL)
	cfg.BindDN = dstest.LimitedDN
	d, err := read(t, cfg)
	if err == nil || !strings.Contains(err.Error(), "a smaller page_size fixes it") {
		t.Fatalf("page_size 500 over a limit of 100: Read = %s; want a size limit error naming page_size", failed(d, err))
	}
	cfg.PageSize = 99 // 389-ds fails a page as large as the limit too
	compareTruth(t, mustRead(t, cfg), dstest.Fixture().Truth(ipaScope()))
}

// 389-ds refuses the in-chain matching rule, and does not advertise it:
// in_chain_lookup is refused before any group is read.
func TestDSInChainRefused(t *testing.T) {
	srv := dstest.Shared(t)
	cfg := ipaExample(t, srv, srv.LDAPSURL)
	cfg.ActiveDirectory = &config.ADSettings{InChainLookup: true}
	d, err := read(t, cfg)
	if !errors.Is(err, ldap.ErrInChainUnsupported) {
		t.Fatalf("Read = %s; want ErrInChainUnsupported", failed(d, err))
	}
}

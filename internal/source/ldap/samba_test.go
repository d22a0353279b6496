package ldap_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	goldap "github.com/go-ldap/ldap/v3"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/syncd/syncd/internal/config"
	"github.com/syncd/syncd/internal/directory"
	"github.com/syncd/syncd/internal/source/ldap"
	"github.com/syncd/syncd/internal/source/ldap/fixture"
	"github.com/syncd/syncd/internal/source/ldap/sambatest"
)

// adExample is examples/ldap/active-directory.yaml pointed at the shared
// domain controller.
func adExample(t *testing.T, srv *sambatest.Server, urls ...string) config.LDAP {
	t.Helper()
	if len(urls) == 0 {
		urls = []string{srv.LDAPSURL}
	}
	return exampleConfig(t, "active-directory", urls, srv.CAFile, sambatest.ServicePW)
}

// adScope is what the example reads: the whole domain, disabled accounts
// left out.
func adScope() fixture.Scope {
	return fixture.Scope{UsersBase: sambatest.BaseDN, GroupsBase: sambatest.BaseDN, SkipDisabled: true}
}

// readLogged reads with a logger that records every entry.
func readLogged(t *testing.T, cfg config.LDAP) (*directory.Directory, *observer.ObservedLogs, error) {
	t.Helper()
	core, logs := observer.New(zapcore.DebugLevel)
	r, err := ldap.New("corp", cfg, zap.New(core))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	d, err := r.Read(ctx)
	return d, logs, err
}

// The configuration an AD admin writes first (both bases at the domain
// root, which makes every domain controller answer with continuation
// references to its configuration and DNS partitions) reads every group
// exactly as the fixture says, over LDAPS, StartTLS and the global catalog,
// binding by user principal name, down-level name or DN, and logs no
// warning doing so.
func TestSambaExampleConfig(t *testing.T) {
	srv := sambatest.Shared(t)
	f := sambatest.Fixture()
	truth := f.Truth(adScope())
	cases := []struct {
		name, url, bind string
		startTLS        bool
		references      bool // the domain's partitions come back as references
	}{
		{"ldaps upn", srv.LDAPSURL, sambatest.ServiceUPN, false, true},
		{"starttls down-level", srv.URL, sambatest.ServiceDownLevel, true, true},
		{"global catalog ldaps dn", srv.GCSURL, sambatest.ServiceDN, false, false},
		{"global catalog starttls", srv.GCURL, sambatest.ServiceUPN, true, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := adExample(t, srv, c.url)
			cfg.StartTLS, cfg.BindDN = c.startTLS, c.bind
			d, logs, err := readLogged(t, cfg)
			if err != nil {
				t.Fatalf("Read: %v", err)
			}
			compareTruth(t, d, truth)
			checkPeople(t, d, f, adScope())
			for _, g := range d.Groups {
				if g.Err != nil {
					t.Errorf("group %s (not in the fixture) unknown: %v", g.DN, g.Err)
				}
			}
			for _, e := range logs.FilterLevelExact(zapcore.WarnLevel).All() {
				t.Errorf("warning logged: %s %v", e.Message, e.ContextMap())
			}
			refs := logs.FilterMessageSnippet("continuation reference").Len()
			if c.references && refs == 0 {
				t.Errorf("no continuation reference logged at debug level; the domain root should return them")
			}
			if !c.references && refs != 0 {
				t.Errorf("%d continuation references from the global catalog", refs)
			}
		})
	}
}

// Without skip_disabled, disabled accounts are members like anyone.
func TestSambaDisabledAccountsKept(t *testing.T) {
	srv := sambatest.Shared(t)
	cfg := adExample(t, srv)
	cfg.Users.SkipDisabled = false
	scope := adScope()
	scope.SkipDisabled = false
	d := mustRead(t, cfg)
	compareTruth(t, d, sambatest.Fixture().Truth(scope))
	if u := userByLogin(d, "ddan"); u == nil {
		t.Error("Disabled Dan not read without skip_disabled")
	}
}

// The configuration an AD admin often writes first: a bind DN, the generic
// keys with Active Directory's values (as DESIGN.md's example shows them)
// and no active_directory: block. It reads, as it did; a warning says what
// the block adds (primary groups, disabled accounts), once per reader.
func TestSambaWithoutADBlockWarns(t *testing.T) {
	srv := sambatest.Shared(t)
	cfg := adExample(t, srv)
	cfg.ActiveDirectory = nil
	cfg.BindDN = sambatest.ServiceDN
	d, logs, err := readLogged(t, cfg)
	if err != nil || d == nil || len(d.Users) == 0 {
		t.Fatalf("Read = %s; want the read to succeed", failed(d, err))
	}
	warned := logs.FilterMessageSnippet("no active_directory: block").All()
	if len(warned) != 1 || !strings.Contains(fmt.Sprint(warned[0].ContextMap()["error"]), "active_directory: {}") {
		t.Errorf("warnings %v, want one naming the fix", warned)
	}
}

// With the group search narrowed to OU=Groups, a group holding a group
// outside it (Domain Users, Elsewhere) is unknown, never smaller; the
// in-chain lookup resolves such nesting on the domain controller, primary
// groups included.
func TestSambaNarrowGroupBase(t *testing.T) {
	srv := sambatest.Shared(t)
	f := sambatest.Fixture()
	scope := adScope()
	scope.GroupsBase = sambatest.Groups
	cfg := adExample(t, srv)
	cfg.Groups.BaseDN = sambatest.Groups

	truth := f.Truth(scope)
	if !truth["Everyone"].Unknown || !truth["Hidden Parent"].Unknown {
		t.Fatalf("fixture: Everyone and Hidden Parent should be unknown here: %+v", truth)
	}
	d := mustRead(t, cfg)
	compareTruth(t, d, truth)
	if g := d.Group("Everyone"); !errors.Is(g.Err, ldap.ErrGroupNotRead) {
		t.Errorf("Everyone: err %v, want ErrGroupNotRead", g.Err)
	}

	// The users base is the domain root: every in-chain search meets the
	// references to the domain's partitions too, and is complete anyway.
	cfg.ActiveDirectory.InChainLookup = true
	scope.InChain = true
	d, logs, err := readLogged(t, cfg)
	if err != nil {
		t.Fatal(err)
	}
	compareTruth(t, d, f.Truth(scope))
	for _, e := range logs.FilterLevelExact(zapcore.WarnLevel).All() {
		t.Errorf("warning logged: %s %v", e.Message, e.ContextMap())
	}
}

// A member list longer than Active Directory's MaxValRange comes back cut
// into ranges, and syncd asks for the rest range by range. Samba never
// cuts an attribute asked for by name, so a proxy cuts its answers as
// Active Directory cuts them at 1,500 values: at 500, All Engineering's
// 1,600 members come in four ranges, the last three asked of Samba itself;
// at 10, every group of more than ten members comes in ranges, nested ones
// included. Either way every group reads as the fixture says.
func TestSambaRangeRetrieval(t *testing.T) {
	srv := sambatest.Shared(t)
	for _, max := range []int{500, 10} {
		t.Run(fmt.Sprintf("max=%d", max), func(t *testing.T) {
			proxy := srv.RangeLimited(t, max)
			cfg := adExample(t, srv, proxy.URL)
			d, logs, err := readLogged(t, cfg)
			if err != nil {
				t.Fatalf("Read: %v", err)
			}
			compareTruth(t, d, sambatest.Fixture().Truth(adScope()))
			want := int64(sambatest.Engineers / max) // All Engineering's ranges but the last, at least
			if n := proxy.Cuts.Load(); n < want {
				t.Errorf("the proxy cut %d attributes, want at least %d: range retrieval was not exercised", n, want)
			}
			for _, e := range logs.FilterLevelExact(zapcore.WarnLevel).All() {
				t.Errorf("warning logged: %s %v", e.Message, e.ContextMap())
			}
		})
	}
}

// Active Directory refuses a simple bind without TLS (result 8): the error
// says to use TLS and is not taken as a bad password.
func TestSambaBindNeedsTLS(t *testing.T) {
	srv := sambatest.Shared(t)
	cfg := adExample(t, srv, srv.URL)
	d, err := read(t, cfg)
	var be *ldap.BindError
	if !errors.As(err, &be) || !errors.Is(err, ldap.ErrTLSRequired) {
		t.Fatalf("plain ldap:// bind: Read = %s; want a BindError for want of TLS", failed(d, err))
	}
	if !strings.Contains(err.Error(), "use ldaps:// or start_tls: true") {
		t.Errorf("err = %v", err)
	}
	cfg = adExample(t, srv)
	cfg.BindPassword = "Not-The-Password-1"
	_, err = read(t, cfg)
	if !errors.As(err, &be) || errors.Is(err, ldap.ErrTLSRequired) {
		t.Errorf("wrong password over LDAPS: err = %v, want a BindError that is not about TLS", err)
	}
	// Samba answers as Windows does ("... AcceptSecurityContext error,
	// data 52e, v1db1"): the code is explained, and the refusal is one a
	// change feed must not retry soon.
	if !be.CredentialsRefused() || !strings.Contains(err.Error(), "Active Directory: wrong password") {
		t.Errorf("wrong password: err = %v (credentials refused: %v), want the data code explained", err, be.CredentialsRefused())
	}
}

// The domain holds what the fixture describes, as read with go-ldap by the
// domain's Administrator: the shapes the other tests count on are there.
func TestSambaFixtureAsDescribed(t *testing.T) {
	srv := sambatest.Shared(t)
	c := sambaAdmin(t, srv)
	f := sambatest.Fixture()
	for _, name := range []string{"Contractors", "Domain Users", "Team A", "All Engineering"} {
		g := f.Group(name)
		res, err := c.SearchWithPaging(goldap.NewSearchRequest(g.DN, goldap.ScopeBaseObject, 0, 0, 0, false,
			"(objectClass=group)", []string{"member"}, nil), 1000)
		if err != nil || len(res.Entries) != 1 {
			t.Fatalf("%s: %v", name, err)
		}
		got := res.Entries[0].GetAttributeValues("member")
		if len(got) != len(g.Members) {
			t.Errorf("%s lists %d members in the domain, %d in the fixture", name, len(got), len(g.Members))
		}
	}
	res, err := c.Search(goldap.NewSearchRequest(sambatest.BaseDN, goldap.ScopeWholeSubtree, 0, 0, 0, false,
		"(sAMAccountName=ccarl)", []string{"primaryGroupID"}, nil))
	if err != nil || len(res.Entries) != 1 || res.Entries[0].GetAttributeValue("primaryGroupID") == "513" {
		t.Errorf("Contractor Carl's primary group is not Contractors: %v %v", res, err)
	}
	// The domain is cached between test runs: the passwords syncd and the
	// tests bind with must never expire (a provisioned domain's last 42 days).
	const never = "9223372036854775807"
	for _, dn := range []string{sambatest.ServiceDN, "CN=Administrator,CN=Users," + sambatest.BaseDN} {
		res, err := c.Search(goldap.NewSearchRequest(dn, goldap.ScopeBaseObject, 0, 0, 0, false,
			"(objectClass=*)", []string{"msDS-UserPasswordExpiryTimeComputed"}, nil))
		if err != nil || len(res.Entries) != 1 {
			t.Fatalf("%s: %v", dn, err)
		}
		if got := res.Entries[0].GetAttributeValue("msDS-UserPasswordExpiryTimeComputed"); got != never {
			t.Errorf("%s: password expires at %s (FILETIME), want never (%s)", dn, got, never)
		}
	}
}

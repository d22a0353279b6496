package ldap_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/syncd/syncd/internal/config"
	"github.com/syncd/syncd/internal/directory"
	"github.com/syncd/syncd/internal/source/ldap"
	"github.com/syncd/syncd/internal/source/ldap/adtest"
)

// The domain of the fake's users (see sid in ad_test.go).
const fakeDomainSID = "S-1-5-21-1004336348-1177238915-682003330"

// nestDirectory is a small AD for nesting, primary groups and members that
// name nothing read. Users u0..u9 under OU=Users have Domain Users (RID 513)
// as primary group, except u7, whose primary group is Contractors (RID
// 1107) and who is therefore not in Contractors' member attribute. Domain
// Users and Elsewhere live outside OU=Groups.
func nestDirectory() []*ldap.Entry {
	var es []*ldap.Entry
	for i := range 10 {
		primary := "513"
		if i == 7 {
			primary = "1107"
		}
		es = append(es, &ldap.Entry{DN: userDN(i), Attrs: map[string][]string{
			"objectclass": {"top", "person", "organizationalPerson", "user"}, "objectguid": {guid(i)},
			"objectsid": {sid(i)}, "primarygroupid": {primary}, "samaccountname": {fmt.Sprintf("user%d", i)},
			"displayname": {fmt.Sprintf("User %d", i)}, "mail": {fmt.Sprintf("user%d@corp.example", i)},
		}})
	}
	group := func(dn, rid string, members ...string) *ldap.Entry {
		e := &ldap.Entry{DN: dn, Attrs: map[string][]string{"objectclass": {"top", "group"},
			"cn": {strings.TrimPrefix(strings.Split(dn, ",")[0], "CN=")}, "member": members}}
		if rid != "" {
			e.Attrs["objectsid"] = []string{adtest.SIDBytes(fakeDomainSID + "-" + rid)}
		}
		return e
	}
	other := func(dn string, classes ...string) *ldap.Entry {
		return &ldap.Entry{DN: dn, Attrs: map[string][]string{"objectclass": append([]string{"top"}, classes...)}}
	}
	domainUsers := "CN=Domain Users,CN=Users,DC=corp,DC=example"
	elsewhere := "CN=Elsewhere,OU=Other,DC=corp,DC=example"
	return append(es,
		group(domainUsers, "513"),
		group(elsewhere, "1200", userDN(4), userDN(5)),
		group(groupDN("Contractors"), "1107", userDN(8)),
		group(groupDN("Staff"), "1108", groupDN("Contractors")),
		group(groupDN("Everyone"), "1109", domainUsers, userDN(1)),
		group(groupDN("Hidden Nest"), "1110", elsewhere, userDN(6)),
		group(groupDN("Dangling In Groups"), "1111", groupDN("Vanished"), userDN(3)),
		group(groupDN("With Outsiders"), "1112", userDN(2), "CN=Partner,OU=Contacts,DC=corp,DC=example",
			"CN=S-1-5-21-9-9-9-1111,CN=ForeignSecurityPrincipals,DC=corp,DC=example", "CN=Gone,OU=Users,DC=corp,DC=example"),
		other("CN=Partner,OU=Contacts,DC=corp,DC=example", "person", "organizationalPerson", "contact"),
		other("CN=S-1-5-21-9-9-9-1111,CN=ForeignSecurityPrincipals,DC=corp,DC=example", "foreignSecurityPrincipal"),
	)
}

// members returns a group's members as logins, or the group's error.
func members(d *directory.Directory, name string) ([]string, error) {
	g := d.Group(name)
	if g == nil {
		return nil, fmt.Errorf("group %q not read", name)
	}
	if g.Err != nil {
		return nil, g.Err
	}
	out := []string{}
	for _, id := range g.Members {
		out = append(out, d.Users[id].Login)
	}
	slices.Sort(out)
	return out, nil
}

func users(ids ...int) []string {
	out := []string{}
	for _, i := range ids {
		out = append(out, fmt.Sprintf("user%d", i))
	}
	slices.Sort(out)
	return out
}

// want is a group's expected members, or nil for unknown.
type want map[string][]string

func checkGroups(t *testing.T, d *directory.Directory, w want) {
	t.Helper()
	for name, exp := range w {
		got, err := members(d, name)
		switch {
		case exp == nil && err == nil:
			t.Errorf("%s: members %v, want unknown", name, got)
		case exp != nil && err != nil:
			t.Errorf("%s: unknown (%v), want %v", name, err, exp)
		case exp != nil && !slices.Equal(got, exp):
			t.Errorf("%s: members %v, want %v", name, got, exp)
		}
	}
}

func nestConfig(srv *adtest.Server) config.LDAP {
	cfg := adConfig(srv)
	cfg.Users.BaseDN = "OU=Users,DC=corp,DC=example"
	return cfg
}

// A member that is a group the group search did not return (here: outside
// groups.base_dn) makes its groups unknown; contacts, foreign security
// principals and dangling DNs outside the group base stay ignored; a DN
// under the group base that does not exist may be a hidden group.
func TestADNestedGroupNotReadIsUnknown(t *testing.T) {
	t.Parallel()
	srv := adtest.Start(t, nestDirectory())
	d := mustRead(t, nestConfig(srv))
	checkGroups(t, d, want{
		"Contractors":        users(7, 8), // u7 through primaryGroupID
		"Staff":              users(7, 8),
		"With Outsiders":     users(2),
		"Everyone":           nil, // holds Domain Users, outside OU=Groups
		"Hidden Nest":        nil, // holds Elsewhere, outside OU=Groups
		"Dangling In Groups": nil, // a DN under OU=Groups that cannot be read
	})
	if g := d.Group("Everyone"); !errors.Is(g.Err, ldap.ErrGroupNotRead) || !strings.Contains(g.Err.Error(), "CN=Domain Users,CN=Users") {
		t.Errorf("Everyone: err = %v, want ErrGroupNotRead naming Domain Users", g.Err)
	}
	if g := d.Group("With Outsiders"); g.Ignored != 3 {
		t.Errorf("With Outsiders: %d ignored, want 3 (contact, FSP, dangling DN)", g.Ignored)
	}

	// With the group base at the domain root every group is read, and
	// Domain Users holds everyone whose primary group it is.
	cfg := nestConfig(srv)
	cfg.Groups.BaseDN = "DC=corp,DC=example"
	d = mustRead(t, cfg)
	checkGroups(t, d, want{
		"Domain Users":       users(0, 1, 2, 3, 4, 5, 6, 8, 9),
		"Everyone":           users(0, 1, 2, 3, 4, 5, 6, 8, 9),
		"Contractors":        users(7, 8),
		"Hidden Nest":        users(4, 5, 6),
		"Dangling In Groups": nil,
	})

	// A filter that leaves a nested group out is the same as a base that does.
	cfg.Groups.Filter = "(&(objectClass=group)(!(cn=Contractors)))"
	d = mustRead(t, cfg)
	checkGroups(t, d, want{"Staff": nil, "Hidden Nest": users(4, 5, 6)})
}

// Without nesting a member group is ignored, never a reason to look it up.
func TestADNotNestedIgnoresGroups(t *testing.T) {
	t.Parallel()
	srv := adtest.Start(t, nestDirectory())
	cfg := nestConfig(srv)
	cfg.Groups.Nested = false
	before := srv.Searches()
	d := mustRead(t, cfg)
	checkGroups(t, d, want{"Everyone": users(1), "Hidden Nest": users(6), "Dangling In Groups": users(3), "Staff": {}})
	if n := srv.Searches() - before; n != 2 {
		t.Errorf("%d searches, want 2 (users, groups)", n)
	}
}

// In-chain lookup resolves nesting on the server, through groups syncd does
// not read too, and adds primary-group members, which the rule cannot see.
func TestADInChainNestingAndPrimaryGroups(t *testing.T) {
	t.Parallel()
	srv := adtest.Start(t, nestDirectory())
	cfg := nestConfig(srv)
	cfg.ActiveDirectory.InChainLookup = true
	d := mustRead(t, cfg)
	checkGroups(t, d, want{
		"Contractors":        users(7, 8),
		"Staff":              users(7, 8),
		"Everyone":           users(0, 1, 2, 3, 4, 5, 6, 8, 9),
		"Hidden Nest":        users(4, 5, 6),
		"With Outsiders":     users(2),
		"Dangling In Groups": users(3),
	})
}

// in_chain_lookup on a server without the rule is refused: OpenLDAP would
// answer every lookup with success and no entries.
func TestADInChainRefusedWithoutCapability(t *testing.T) {
	t.Parallel()
	srv := adtest.Start(t, nestDirectory())
	srv.RootDSE = &ldap.Entry{Attrs: map[string][]string{"supportedcontrol": {"1.2.840.113556.1.4.319"}}}
	cfg := nestConfig(srv)
	cfg.ActiveDirectory.InChainLookup = true
	d, err := read(t, cfg)
	if !errors.Is(err, ldap.ErrInChainUnsupported) || d != nil {
		t.Fatalf("Read = %s; want ErrInChainUnsupported", failed(d, err))
	}
	if !strings.Contains(err.Error(), "remove in_chain_lookup") {
		t.Errorf("err = %v, want it to say what to do", err)
	}
}

// A server that claims the rule but answers it with nothing is caught: an
// answer that lacks members syncd resolves itself makes the group unknown,
// never empty.
func TestADInChainWrongAnswerIsUnknown(t *testing.T) {
	t.Parallel()
	srv := adtest.Start(t, adDirectory())
	srv.SetFault(func(_, filter string, _ []string) adtest.Fault {
		return adtest.Fault{Empty: strings.Contains(filter, adtest.RuleInChain)}
	})
	cfg := adConfig(srv)
	cfg.ActiveDirectory.InChainLookup = true
	d := mustRead(t, cfg)
	for _, name := range []string{"Team A", "All", "Everyone"} {
		if g := d.Group(name); g.Err == nil || !strings.Contains(g.Err.Error(), "in-chain answer lacks") {
			t.Errorf("%s: %d members, err %v; want unknown", name, len(g.Members), g.Err)
		}
	}
}

// A domain-root search on AD returns references to the forest's own
// partitions every run: they are logged at debug level, not as warnings;
// any other reference is a warning.
func TestADPartitionReferencesAtDebug(t *testing.T) {
	t.Parallel()
	srv := adtest.Start(t, nestDirectory())
	refs := []string{
		"ldaps://corp.example/CN=Configuration,DC=corp,DC=example",
		"ldaps://corp.example/DC=DomainDnsZones,DC=corp,DC=example",
		"ldaps://corp.example/DC=ForestDnsZones,DC=corp,DC=example",
		"ldap://child.corp.example/DC=child,DC=corp,DC=example",
	}
	srv.SetFault(func(base, _ string, _ []string) adtest.Fault {
		if base == "DC=corp,DC=example" {
			return adtest.Fault{Referrals: refs}
		}
		return adtest.Fault{}
	})
	core, logs := observer.New(zapcore.DebugLevel)
	cfg := nestConfig(srv)
	cfg.Users.BaseDN, cfg.Groups.BaseDN = "DC=corp,DC=example", "DC=corp,DC=example"
	r, err := ldap.New("corp", cfg, zap.New(core))
	if err != nil {
		t.Fatal(err)
	}
	d, err := r.Read(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	checkGroups(t, d, want{"Everyone": users(0, 1, 2, 3, 4, 5, 6, 8, 9), "Contractors": users(7, 8)})
	levels := map[string][]zapcore.Level{}
	for _, e := range logs.FilterMessageSnippet("continuation reference").All() {
		ref := e.ContextMap()["reference"].(string)
		levels[ref] = append(levels[ref], e.Level)
	}
	for i, ref := range refs {
		wantLevel := zapcore.DebugLevel
		if i == 3 {
			wantLevel = zapcore.WarnLevel
		}
		// once per search (users, groups), at the level its kind deserves
		if got := levels[ref]; len(got) != 2 || got[0] != wantLevel || got[1] != wantLevel {
			t.Errorf("%s logged at %v, want twice at %v", ref, got, wantLevel)
		}
	}
}

// A group whose member values are hidden from syncd's account (Exchange's
// "hide group membership": a deny ACE on member) comes back without any.
// Its members' memberOf still names it: the group is unknown, and so is the
// group nesting it. A group really empty (nobody names it) stays empty.
func TestADHiddenMembershipFromMemberOf(t *testing.T) {
	t.Parallel()
	es := nestDirectory()
	secret, holder, empty := groupDN("Secret"), groupDN("Holder"), groupDN("Empty")
	for _, e := range es {
		if e.DN == userDN(4) || e.DN == userDN(5) {
			e.Attrs["memberof"] = []string{secret}
		}
	}
	group := func(dn string, members ...string) *ldap.Entry {
		return &ldap.Entry{DN: dn, Attrs: map[string][]string{"objectclass": {"top", "group"},
			"cn": {strings.TrimPrefix(strings.Split(dn, ",")[0], "CN=")}, "member": members}}
	}
	holderEntry := group(holder, secret, userDN(9))
	holderEntry.Attrs["memberof"] = nil
	es = append(es, group(secret), holderEntry, group(empty))
	srv := adtest.Start(t, es)
	d := mustRead(t, nestConfig(srv))
	checkGroups(t, d, want{"Secret": nil, "Holder": nil, "Empty": {}, "Staff": users(7, 8)})
	if g := d.Group("Secret"); g == nil || !errors.Is(g.Err, ldap.ErrHiddenMembers) || !strings.Contains(g.Err.Error(), "memberOf") {
		t.Errorf("Secret: %v, want ErrHiddenMembers naming memberOf", g)
	}
}

// A member of more groups than a domain controller hands over at once has
// its memberOf cut into ranges too: the proof that a group read empty has
// hidden members may lie past the first range, and is found there.
func TestADHiddenMembershipFromRangedMemberOf(t *testing.T) {
	t.Parallel()
	es := nestDirectory()
	secret := groupDN("Secret")
	for _, e := range es {
		if e.DN == userDN(4) {
			for i := range 30 {
				e.Attrs["memberof"] = append(e.Attrs["memberof"], groupDN(fmt.Sprintf("Elsewhere %02d", i)))
			}
			e.Attrs["memberof"] = append(e.Attrs["memberof"], secret)
		}
	}
	es = append(es, &ldap.Entry{DN: secret, Attrs: map[string][]string{"objectclass": {"top", "group"}, "cn": {"Secret"}}})
	srv := adtest.Start(t, es)
	srv.SetRangeSize(10)
	d := mustRead(t, nestConfig(srv))
	if g := d.Group("Secret"); g == nil || !errors.Is(g.Err, ldap.ErrHiddenMembers) {
		t.Errorf("Secret: %v, want ErrHiddenMembers (its member's memberOf names it past the first range)", g)
	}
}

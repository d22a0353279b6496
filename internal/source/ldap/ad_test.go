package ldap_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"go.uber.org/zap"

	"github.com/syncd/syncd/internal/config"
	"github.com/syncd/syncd/internal/directory"
	"github.com/syncd/syncd/internal/source/ldap"
	"github.com/syncd/syncd/internal/source/ldap/adtest"
)

const adUsers = 5000

func guid(i int) string {
	b := make([]byte, 16)
	binary.LittleEndian.PutUint32(b, uint32(i))
	binary.LittleEndian.PutUint16(b[4:], 0xbeef)
	binary.LittleEndian.PutUint16(b[6:], 0x4abc)
	copy(b[8:], []byte{0x80, 0x01, 0xde, 0xad, 0xbe, 0xef, 0x00, byte(i % 256)})
	return string(b)
}

func sid(i int) string {
	b := []byte{1, 5, 0, 0, 0, 0, 0, 5}
	for _, sub := range []uint32{21, 1004336348, 1177238915, 682003330, uint32(1000 + i)} {
		b = binary.LittleEndian.AppendUint32(b, sub)
	}
	return string(b)
}

func userDN(i int) string     { return fmt.Sprintf("CN=User %d,OU=Users,DC=corp,DC=example", i) }
func groupDN(n string) string { return "CN=" + n + ",OU=Groups,DC=corp,DC=example" }

// adDirectory: 5,000 users (every tenth disabled), group All with all of
// them (needs range retrieval), Team A -> Team B -> Team C -> Team A with ten
// users each, and Everyone containing All.
func adDirectory() []*ldap.Entry {
	var es []*ldap.Entry
	all := make([]string, 0, adUsers)
	for i := range adUsers {
		uac := "512"
		if i%10 == 9 {
			uac = "514"
		}
		es = append(es, &ldap.Entry{DN: userDN(i), Attrs: map[string][]string{
			"objectclass":        {"top", "person", "organizationalPerson", "user"},
			"objectguid":         {guid(i)},
			"objectsid":          {sid(i)},
			"samaccountname":     {fmt.Sprintf("user%d", i)},
			"displayname":        {fmt.Sprintf("User %d", i)},
			"mail":               {fmt.Sprintf("User.%d@Corp.Example", i)},
			"useraccountcontrol": {uac},
			"proxyaddresses":     {fmt.Sprintf("smtp:u%d@alias.example", i), fmt.Sprintf("SMTP:user.%d@corp.example", i), "X400:c=US;a= ;p=Corp"},
		}})
		all = append(all, userDN(i))
	}
	group := func(name string, members ...string) *ldap.Entry {
		return &ldap.Entry{DN: groupDN(name), Attrs: map[string][]string{
			"objectclass": {"top", "group"}, "cn": {name}, "member": members}}
	}
	team := func(name string, from int, sub string) *ldap.Entry {
		var m []string
		for i := from; i < from+10; i++ {
			m = append(m, userDN(i))
		}
		return group(name, append(m, groupDN(sub))...)
	}
	return append(es, group("All", all...), team("Team A", 0, "Team B"), team("Team B", 10, "Team C"),
		team("Team C", 20, "Team A"), group("Everyone", groupDN("All")))
}

func adConfig(srv *adtest.Server) config.LDAP {
	return config.LDAP{
		URLs: config.StringList{srv.URL}, BindDN: srv.BindDN, BindPassword: config.Secret(srv.BindPW),
		Users: config.LDAPUsers{BaseDN: "OU=Users,DC=corp,DC=example", Filter: "(objectClass=user)",
			IDAttribute: "objectGUID", NameAttribute: "displayName", LoginAttribute: "sAMAccountName"},
		Groups: config.LDAPGroups{BaseDN: "OU=Groups,DC=corp,DC=example", Filter: "(objectClass=group)",
			MemberAttributes: []string{"member"}, Nested: true},
		ActiveDirectory: &config.ADSettings{},
	}
}

func TestADRangeRetrievalAndBinaryIDs(t *testing.T) {
	t.Parallel()
	srv := adtest.Start(t, adDirectory())
	d := mustRead(t, adConfig(srv))
	if len(d.Users) != adUsers {
		t.Fatalf("users = %d, want %d", len(d.Users), adUsers)
	}
	all := d.Group("All")
	if all.Err != nil || len(all.Members) != adUsers {
		t.Fatalf("All: %d members, err %v; want %d (range retrieval)", len(all.Members), all.Err, adUsers)
	}
	if e := d.Group("Everyone"); e.Err != nil || len(e.Members) != adUsers {
		t.Errorf("Everyone: %d members, err %v", len(e.Members), e.Err)
	}
	u := d.Users["00000007-beef-4abc-8001-deadbeef0007"]
	if u == nil || u.Login != "user7" || u.Emails[0] != "user.7@corp.example" {
		t.Fatalf("user 7 by its objectGUID string = %+v", u)
	}
	sidCfg := adConfig(srv)
	sidCfg.Users.IDAttribute = "objectSid"
	d = mustRead(t, sidCfg)
	if u := d.Users["S-1-5-21-1004336348-1177238915-682003330-1007"]; u == nil || u.Login != "user7" {
		t.Errorf("user 7 by its objectSid string = %+v", u)
	}
}

func TestADDisabledAndProxyAddresses(t *testing.T) {
	t.Parallel()
	srv := adtest.Start(t, adDirectory())
	cfg := adConfig(srv)
	cfg.ActiveDirectory.SkipDisabled = true
	cfg.Users.ProxyAddresses = true
	d := mustRead(t, cfg)
	if len(d.Users) != adUsers*9/10 {
		t.Errorf("users = %d, want %d without the disabled ones", len(d.Users), adUsers*9/10)
	}
	if all := d.Group("All"); len(all.Members) != adUsers*9/10 || all.Ignored != adUsers/10 {
		t.Errorf("All: %d members, %d ignored", len(all.Members), all.Ignored)
	}
	if u := userByLogin(d, "user9"); u != nil {
		t.Errorf("disabled user9 read: %+v", u)
	}
	want := []string{"user.3@corp.example", "u3@alias.example"}
	if u := userByLogin(d, "user3"); !slices.Equal(u.Emails, want) {
		t.Errorf("user3 emails = %v, want %v (mail, SMTP: primary, smtp: alias)", u.Emails, want)
	}
}

func TestADPageCap(t *testing.T) {
	t.Parallel()
	srv := adtest.Start(t, adDirectory())
	cfg := adConfig(srv)
	cfg.PageSize = 2000 // AD hands out at most 1,000 per page
	if d := mustRead(t, cfg); len(d.Users) != adUsers {
		t.Errorf("paged past the cap: %d users, want %d", len(d.Users), adUsers)
	}
	cfg.PageSize = -1
	_, err := read(t, cfg)
	if err == nil || !strings.Contains(err.Error(), "Size Limit Exceeded") {
		t.Errorf("plain search past 1,000 entries: err = %v, want a size limit error", err)
	}
}

func TestADInChain(t *testing.T) {
	t.Parallel()
	srv := adtest.Start(t, adDirectory())
	client := mustRead(t, adConfig(srv))
	cfg := adConfig(srv)
	cfg.ActiveDirectory.InChainLookup = true
	server := mustRead(t, cfg)
	for _, name := range []string{"Team A", "Team B", "Team C", "All", "Everyone"} {
		a, b := client.Group(name), server.Group(name)
		if b.Err != nil || !slices.Equal(a.Members, b.Members) {
			t.Errorf("%s: in-chain %d members (err %v), client-side %d", name, len(b.Members), b.Err, len(a.Members))
		}
	}
	if n := len(server.Group("Team A").Members); n != 30 {
		t.Errorf("Team A: %d members, want 30", n)
	}
}

func TestADRangeFailureMakesGroupUnknown(t *testing.T) {
	t.Parallel()
	srv := adtest.Start(t, adDirectory())
	cases := map[string]adtest.Fault{
		"busy":      {Code: 51},
		"referral":  {Code: 10},
		"timelimit": {Code: 3},
		"omitted":   {OmitAttributes: true},
	}
	for name, fault := range cases {
		t.Run(name, func(t *testing.T) {
			srv.SetFault(func(_, _ string, attrs []string) adtest.Fault {
				if slices.Contains(attrs, "member;range=3000-*") {
					return fault
				}
				return adtest.Fault{}
			})
			t.Cleanup(func() { srv.SetFault(nil) })
			d := mustRead(t, adConfig(srv))
			all := d.Group("All")
			if all.Err == nil {
				t.Fatalf("All read with %d members despite an unfinished range", len(all.Members))
			}
			if !strings.Contains(all.Err.Error(), "CN=All,OU=Groups,DC=corp,DC=example") {
				t.Errorf("error %q does not name the group", all.Err)
			}
			if e := d.Group("Everyone"); !errors.Is(e.Err, directory.ErrNestedUnknown) {
				t.Errorf("Everyone (contains All): err = %v, want unknown", e.Err)
			}
			if a := d.Group("Team A"); a.Err != nil || len(a.Members) != 30 {
				t.Errorf("Team A: %d members, err %v; want it unaffected", len(a.Members), a.Err)
			}
		})
	}
}

func TestADReferrals(t *testing.T) {
	t.Parallel()
	srv := adtest.Start(t, adDirectory())
	// A reference beside the users (as AD sends from a domain root) drops
	// no user and no group; one to a subtree where a member lives makes
	// that member's groups unknown.
	srv.SetFault(func(base, _ string, _ []string) adtest.Fault {
		if strings.HasPrefix(base, "OU=Users") {
			return adtest.Fault{Referral: "ldap://other.corp.example/OU=Far,DC=corp,DC=example"}
		}
		return adtest.Fault{}
	})
	if d := mustRead(t, adConfig(srv)); len(d.Users) != adUsers || len(d.Group("All").Members) != adUsers {
		t.Errorf("a reference in the users search: %d users, All has %d; want %d and %d", len(d.Users), len(d.Group("All").Members), adUsers, adUsers)
	}
	srv.SetFault(func(base, _ string, _ []string) adtest.Fault {
		if strings.HasPrefix(base, "OU=Groups") {
			return adtest.Fault{Referral: "ldap://DomainDnsZones.corp.example/DC=DomainDnsZones,DC=corp,DC=example"}
		}
		return adtest.Fault{}
	})
	if d := mustRead(t, adConfig(srv)); len(d.Group("All").Members) != adUsers {
		t.Errorf("a referral beside the groups must not change them")
	}

	// A group with a member in the referred subtree may hold a nested
	// group never read: it is unknown, not smaller.
	srv.SetEntries(append(adDirectory(), &ldap.Entry{DN: groupDN("Mixed"), Attrs: map[string][]string{
		"objectclass": {"top", "group"}, "cn": {"Mixed"},
		"member": {userDN(1), "CN=Remote Team,OU=Far,DC=corp,DC=example"}}}))
	t.Cleanup(func() { srv.SetEntries(adDirectory()) })
	for _, search := range []string{"OU=Groups", "OU=Users"} {
		srv.SetFault(func(base, _ string, _ []string) adtest.Fault {
			if strings.HasPrefix(base, search) {
				return adtest.Fault{Referral: "ldap://far.corp.example/OU=Far,DC=corp,DC=example??sub"}
			}
			return adtest.Fault{}
		})
		d := mustRead(t, adConfig(srv))
		if g := d.Group("Mixed"); g.Err == nil || !strings.Contains(g.Err.Error(), "referred elsewhere") {
			t.Errorf("reference in %s: Mixed: %d members, err %v; want unknown (a member lies behind the reference)", search, len(g.Members), g.Err)
		}
		if a := d.Group("Team A"); a.Err != nil || len(a.Members) != 30 {
			t.Errorf("reference in %s: Team A: %d members, err %v; want it unaffected", search, len(a.Members), a.Err)
		}
	}
	srv.SetFault(func(base, _ string, _ []string) adtest.Fault {
		if strings.HasPrefix(base, "OU=Groups") {
			return adtest.Fault{Code: 53}
		}
		return adtest.Fault{}
	})
	if d, err := read(t, adConfig(srv)); err == nil {
		t.Errorf("groups listing refused: got %d groups, want an error", len(d.Groups))
	}
}

func TestADUsersSearchFailureFailsRead(t *testing.T) {
	t.Parallel()
	srv := adtest.Start(t, adDirectory())
	for _, code := range []int{3, 4, 11, 51, 80} { // time, size, admin limit, busy, other
		srv.SetFault(func(base, _ string, _ []string) adtest.Fault {
			if strings.HasPrefix(base, "OU=Users") {
				return adtest.Fault{Code: code}
			}
			return adtest.Fault{}
		})
		d, err := read(t, adConfig(srv))
		if err == nil || d != nil {
			t.Errorf("users search answered %d: Read = %v, %v; want an error and no directory", code, d, err)
		}
	}
}

func TestADWrongPassword(t *testing.T) {
	t.Parallel()
	srv := adtest.Start(t, adDirectory()[:1])
	cfg := adConfig(srv)
	cfg.BindPassword = "wrong"
	r, err := ldap.New("ad", cfg, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	var be *ldap.BindError
	if _, err := r.Read(context.Background()); !errors.As(err, &be) {
		t.Errorf("err = %v, want a BindError", err)
	}
}

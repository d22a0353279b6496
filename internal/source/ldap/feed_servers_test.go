package ldap_test

import (
	"encoding/base64"
	"encoding/json"
	"testing"
	"time"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/syncd/syncd/internal/config"
	"github.com/syncd/syncd/internal/source/ldap/dstest"
	"github.com/syncd/syncd/internal/source/ldap/sambatest"
)

const fastPoll = config.Duration(200 * time.Millisecond)

// dsAdmin is a Directory Manager connection to a 389 Directory Server.
func dsAdmin(t *testing.T, srv *dstest.Server) *goldap.Conn {
	t.Helper()
	c, err := srv.Dial(srv.LDAPSURL)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Bind(dstest.RootDN, dstest.RootPW); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// sambaAdmin is the domain's Administrator's connection to a Samba domain
// controller.
func sambaAdmin(t *testing.T, srv *sambatest.Server) *goldap.Conn {
	t.Helper()
	c, err := srv.AdminConn()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// The persistent search of 389-ds with the FreeIPA example: a member
// added and an account locked (skip_disabled) are changes, a telephone
// number once the feed knows the entry is not; after a restart of the
// directory the feed reconnects and, having no cookie, asks for a
// comparison.
func TestPersistentSearchFeed(t *testing.T) {
	srv := dstest.Start(t)
	cfg := ipaExample(t, srv, srv.LDAPSURL)
	_, ev, _ := runFeed(t, cfg, nil)
	waitFor(t, ev, "the feed to follow", func() bool { n, _, _, _, _ := ev.counts(); return n == 1 })
	if ev.feeds[0] != config.FeedPersistentSearch || ev.changed != 0 {
		t.Fatalf("%s; want persistent_search and no change", ev)
	}
	c := dsAdmin(t, srv)
	changedBy(t, ev, "a member added", true, func() {
		modify(t, c, dstest.GroupDN("team-a"), func(m *goldap.ModifyRequest) { m.Add("member", []string{dstest.UserDN("user0010")}) })
	})
	// The feed learns what syncd reads of an entry at its first change:
	// a second telephone number is no news.
	changedBy(t, ev, "a first telephone number", true, func() {
		modify(t, c, dstest.UserDN("user0011"), func(m *goldap.ModifyRequest) { m.Replace("telephoneNumber", []string{"+1 555 0102"}) })
	})
	changedBy(t, ev, "a second telephone number", false, func() {
		modify(t, c, dstest.UserDN("user0011"), func(m *goldap.ModifyRequest) { m.Replace("telephoneNumber", []string{"+1 555 0104"}) })
	})
	changedBy(t, ev, "an account locked", true, func() {
		modify(t, c, dstest.UserDN("user0012"), func(m *goldap.ModifyRequest) { m.Replace("nsAccountLock", []string{"TRUE"}) })
	})

	srv.Restart(t)
	waitFor(t, ev, "the reconnect and its resync", func() bool {
		n, _, _, r, d := ev.counts()
		return n == 2 && r == 1 && d >= 1
	})
	c = dsAdmin(t, srv)
	changedBy(t, ev, "a member added after the restart", true, func() {
		modify(t, c, dstest.GroupDN("team-a"), func(m *goldap.ModifyRequest) { m.Add("member", []string{dstest.UserDN("user0013")}) })
	})
}

// adFeedConfig is the Active Directory example against the test's domain,
// bound as the service account or, with admin, as Administrator (who has
// the "Replicating Directory Changes" right).
func adFeedConfig(t *testing.T, srv *sambatest.Server, admin bool) config.LDAP {
	t.Helper()
	cfg := exampleConfig(t, "active-directory", []string{srv.LDAPSURL}, srv.CAFile, sambatest.ServicePW)
	if admin {
		cfg.BindDN, cfg.BindPassword = sambatest.AdminUPN, sambatest.AdminPW
	}
	cfg.Watch.PollInterval = fastPoll
	return cfg
}

// addMember adds an engineer to Team B as the domain's Administrator.
func addMember(t *testing.T, c *goldap.Conn, i int) func() {
	return func() {
		modify(t, c, sambatest.GroupDN("Team B"), func(m *goldap.ModifyRequest) { m.Add("member", []string{sambatest.EngineerDN(i)}) })
	}
}

// DirSync on Samba AD: with the replication right (Administrator) it sees
// a member added, an account disabled and an account deleted, resumes
// from its cookie after a restart of the domain controller, and does not
// report a telephone number. Without the right (the service account) it
// runs in object security mode.
func TestDirSyncFeed(t *testing.T) {
	srv := sambatest.Start(t)
	c := sambaAdmin(t, srv)

	f, ev, _ := runFeed(t, adFeedConfig(t, srv, true), nil)
	waitFor(t, ev, "the feed to follow", func() bool { n, _, _, _, _ := ev.counts(); return n == 1 })
	if ev.feeds[0] != config.FeedDirSync || ev.changed != 0 {
		t.Fatalf("%s; want dirsync and no change", ev)
	}
	// A saved cookie the server refuses is dropped: the feed starts
	// afresh, and says it did not resume.
	var pos map[string]any
	if err := json.Unmarshal(f.Position(), &pos); err != nil {
		t.Fatal(err)
	}
	pos["cookie"] = base64.StdEncoding.EncodeToString([]byte("not a cookie of this domain"))
	bad, _ := json.Marshal(pos)
	_, fresh, stopFresh := runFeed(t, adFeedConfig(t, srv, true), bad)
	waitFor(t, fresh, "the feed with a refused cookie to follow", func() bool { n, _, _, _, _ := fresh.counts(); return n == 1 })
	if fresh.resumed[0] || fresh.feeds[0] != config.FeedDirSync {
		t.Errorf("%s; want dirsync with the right, not resumed", fresh)
	}
	stopFresh()
	changedBy(t, ev, "a member added", true, addMember(t, c, 5))
	changedBy(t, ev, "an account disabled", true, func() {
		modify(t, c, sambatest.EngineerDN(6), func(m *goldap.ModifyRequest) { m.Replace("userAccountControl", []string{"546"}) })
	})
	changedBy(t, ev, "an account deleted", true, func() {
		if err := c.Del(goldap.NewDelRequest(sambatest.EngineerDN(7), nil)); err != nil {
			t.Fatal(err)
		}
	})
	// DirSync returns nothing for a telephone number: the poll that
	// reports the next change must not count it.
	_, c0, _, _, _ := ev.counts()
	modify(t, c, sambatest.EngineerDN(8), func(m *goldap.ModifyRequest) { m.Replace("telephoneNumber", []string{"+1 555 0103"}) })
	addMember(t, c, 9)()
	waitFor(t, ev, "the member added after the telephone number", func() bool { _, ch, _, _, _ := ev.counts(); return ch > c0 })
	if _, ch, _, _, _ := ev.counts(); ch != c0+1 {
		t.Errorf("%d changes for a telephone number and a member, want 1: %s", ch-c0, ev)
	}

	_, svc, _ := runFeed(t, adFeedConfig(t, srv, false), nil)
	waitFor(t, svc, "the service account's feed", func() bool { n, _, _, _, _ := svc.counts(); return n == 1 })
	if svc.feeds[0] != "dirsync (object security)" {
		t.Errorf("service account's feed: %s", svc)
	}
	changedBy(t, svc, "a member added (object security)", true, addMember(t, c, 10))

	srv.Restart(t)
	c = sambaAdmin(t, srv)
	waitFor(t, ev, "the reconnect", func() bool { n, _, _, _, d := ev.counts(); return n == 2 && d >= 1 })
	changedBy(t, ev, "a member added after the restart", true, addMember(t, c, 11))
	if _, _, _, r, _ := ev.counts(); r != 0 {
		t.Errorf("a resync after a reconnect with a cookie: %s", ev)
	}
}

// uSNChanged polling on Samba AD, asked for by name, by the service
// account (no right needed): a member added and an account disabled are
// changes.
func TestUSNChangedFeed(t *testing.T) {
	srv := sambatest.Start(t)
	c := sambaAdmin(t, srv)
	cfg := adFeedConfig(t, srv, false)
	cfg.Watch.Feed = config.FeedUSNChanged
	f, ev, _ := runFeed(t, cfg, nil)
	waitFor(t, ev, "the feed to follow", func() bool { n, _, _, _, _ := ev.counts(); return n == 1 })
	if ev.feeds[0] != config.FeedUSNChanged || f.Position() == nil {
		t.Fatalf("%s; want usn_changed with a position", ev)
	}
	changedBy(t, ev, "a member added", true, addMember(t, c, 5))
	changedBy(t, ev, "an account disabled", true, func() {
		modify(t, c, sambatest.EngineerDN(6), func(m *goldap.ModifyRequest) { m.Replace("userAccountControl", []string{"546"}) })
	})
}

// A polling feed on Active Directory meets a group of more members than
// a domain controller hands over at once (MaxValRange): the member list
// comes back cut into ranges, and what the feed knows of the group must
// be the whole list, or a member removed past the first range would look
// like no change. A proxy cuts Samba's answers to 500 values, as Active
// Directory cuts them to 1,500.
func TestUSNChangedFeedRangedMembers(t *testing.T) {
	srv := sambatest.Start(t)
	c := sambaAdmin(t, srv)
	group := sambatest.GroupDN("All Engineering")
	r, err := c.Search(goldap.NewSearchRequest(group, goldap.ScopeBaseObject, 0, 0, 0, false, "(objectClass=*)", []string{"member"}, nil))
	if err != nil || len(r.Entries) != 1 {
		t.Fatalf("read %s: %v", group, err)
	}
	members := r.Entries[0].GetAttributeValues("member")
	if len(members) <= 1000 {
		t.Fatalf("%s has %d members; the test needs more than two ranges of 500", group, len(members))
	}

	proxy := srv.RangeLimited(t, 500)
	cfg := adFeedConfig(t, srv, false)
	cfg.URLs = config.StringList{proxy.URL}
	cfg.Watch.Feed = config.FeedUSNChanged
	_, ev, _ := runFeed(t, cfg, nil)
	waitFor(t, ev, "the feed to follow", func() bool { n, _, _, _, _ := ev.counts(); return n == 1 })
	if proxy.Cuts.Load() == 0 {
		t.Fatal("the proxy cut no member list: the feed's reads were not ranged")
	}
	remove := func(dn string) func() {
		return func() { modify(t, c, group, func(m *goldap.ModifyRequest) { m.Delete("member", []string{dn}) }) }
	}
	// In the last range the domain controller hands over.
	changedBy(t, ev, "a member removed from the last range of a large group", true, remove(members[len(members)-1]))

	// A server that stops handing the list over: the group cannot be
	// compared, so it is a change, and the feed goes on following.
	proxy.Lose.Store(true)
	changedBy(t, ev, "a member removed while the ranges past the first are lost", true, remove(members[len(members)-2]))
	proxy.Lose.Store(false)
	changedBy(t, ev, "a member removed once the ranges come back", true, remove(members[len(members)-3]))
	if n, _, _, _, d := ev.counts(); n != 1 || d != 0 {
		t.Errorf("the feed reconnected over a list it could not read whole: %s", ev)
	}
}

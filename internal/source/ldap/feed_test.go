package ldap_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	goldap "github.com/go-ldap/ldap/v3"
	"go.uber.org/zap"

	"github.com/syncd/syncd/internal/config"
	"github.com/syncd/syncd/internal/source/ldap"
	"github.com/syncd/syncd/internal/source/ldap/slapdtest"
)

// events records what a feed reports.
type events struct {
	mu          sync.Mutex
	feeds       []string // Connected, in order
	resumed     []bool
	changed     int
	ignored     int
	resyncs     []string
	disconnects []error
}

func (e *events) Connected(feed string, resumed bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.feeds = append(e.feeds, feed)
	e.resumed = append(e.resumed, resumed)
}

func (e *events) Disconnected(err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.disconnects = append(e.disconnects, err)
}

func (e *events) Changed(time.Time) { e.mu.Lock(); e.changed++; e.mu.Unlock() }
func (e *events) Ignored()          { e.mu.Lock(); e.ignored++; e.mu.Unlock() }

func (e *events) Resync(_ time.Time, why string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.resyncs = append(e.resyncs, why)
}

// snapshot returns the counts.
func (e *events) counts() (connects, changed, ignored, resyncs, disconnects int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.feeds), e.changed, e.ignored, len(e.resyncs), len(e.disconnects)
}

func (e *events) String() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return fmt.Sprintf("connected %v (resumed %v), changed %d, ignored %d, resyncs %q, disconnects %v",
		e.feeds, e.resumed, e.changed, e.ignored, e.resyncs, e.disconnects)
}

// waitFor polls cond for up to 60 s (a busy machine, a server restart).
func waitFor(t *testing.T, ev *events, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s: %s", what, ev)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// runFeed starts a feed of cfg and stops it when the test ends (or when
// stop is called).
func runFeed(t *testing.T, cfg config.LDAP, saved []byte) (*ldap.Feed, *events, func()) {
	t.Helper()
	if cfg.Watch.PollInterval == 0 {
		cfg.Watch.PollInterval = config.Duration(200 * time.Millisecond)
	}
	f, err := ldap.NewFeed("corp", cfg, ldap.FeedOptions{Saved: saved}, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	ev := &events{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = f.Run(ctx, ev); close(done) }()
	stop := func() { cancel(); <-done }
	t.Cleanup(stop)
	return f, ev, stop
}

// admin modifies the directory as its administrator.
func admin(t *testing.T, url string) *goldap.Conn {
	t.Helper()
	c, err := goldap.DialURL(url)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Bind(slapdtest.RootDN, slapdtest.RootPW); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func modify(t *testing.T, c *goldap.Conn, dn string, change func(*goldap.ModifyRequest)) {
	t.Helper()
	m := goldap.NewModifyRequest(dn, nil)
	change(m)
	if err := c.Modify(m); err != nil {
		t.Fatalf("modify %s: %v", dn, err)
	}
}

const (
	aliceDN    = "uid=alice,ou=people," + slapdtest.Suffix
	bobDN      = "uid=bob,ou=people," + slapdtest.Suffix
	platformDN = "cn=platform,ou=groups," + slapdtest.Suffix
	carolDN    = "uid=carol,ou=other," + slapdtest.Suffix
)

// changedBy waits until a modification made by do is reported as a
// change (want true) or as ignored (want false).
func changedBy(t *testing.T, ev *events, what string, want bool, do func()) {
	t.Helper()
	_, c0, i0, _, _ := ev.counts()
	do()
	waitFor(t, ev, what, func() bool {
		_, c, i, _, _ := ev.counts()
		if want {
			return c > c0
		}
		return i > i0
	})
	if _, c, _, _, _ := ev.counts(); !want && c != c0 {
		t.Errorf("%s was reported as a change: %s", what, ev)
	}
}

// The syncrepl feed of slapd with syncprov: the initial content is not
// reported; a member added, an address changed and a person deleted are
// changes; a modification of nothing syncd reads, and of an entry outside
// the users and groups, is ignored.
func TestSyncreplFeed(t *testing.T) {
	srv := slapdtest.Start(t, slapdtest.Options{LDIF: slapdtest.Fixture, SyncProv: true})
	f, ev, _ := runFeed(t, baseConfig(srv.URL), nil)
	waitFor(t, ev, "the feed to follow", func() bool { n, _, _, _, _ := ev.counts(); return n == 1 })
	if ev.feeds[0] != "syncrepl" || ev.resumed[0] || ev.changed != 0 {
		t.Fatalf("after the refresh: %s; want syncrepl, not resumed, no change", ev)
	}
	if f.Position() == nil {
		t.Error("no position (cookie) after the refresh")
	}
	c := admin(t, srv.URL)
	changedBy(t, ev, "a member added", true, func() {
		modify(t, c, platformDN, func(m *goldap.ModifyRequest) { m.Add("member", []string{bobDN}) })
	})
	changedBy(t, ev, "a telephone number", false, func() {
		modify(t, c, aliceDN, func(m *goldap.ModifyRequest) { m.Replace("telephoneNumber", []string{"+1 555 0100"}) })
	})
	changedBy(t, ev, "a person outside users.base_dn", false, func() {
		modify(t, c, carolDN, func(m *goldap.ModifyRequest) { m.Replace("mail", []string{"carol@other.example.com"}) })
	})
	changedBy(t, ev, "an e-mail address", true, func() {
		modify(t, c, aliceDN, func(m *goldap.ModifyRequest) { m.Replace("mail", []string{"alice@new.example.com"}) })
	})
	changedBy(t, ev, "a person deleted", true, func() {
		if err := c.Del(goldap.NewDelRequest("uid=nomail,ou=people,"+slapdtest.Suffix, nil)); err != nil {
			t.Fatal(err)
		}
	})
	if _, _, _, r, d := ev.counts(); r != 0 || d != 0 {
		t.Errorf("resyncs or disconnects: %s", ev)
	}
}

// A directory restart: the feed reconnects with backoff, resumes from its
// cookie without asking for a comparison, and reports a change made right
// after the restart, whether before or after it reconnected.
func TestSyncreplFeedSurvivesADirectoryRestart(t *testing.T) {
	srv := slapdtest.Start(t, slapdtest.Options{LDIF: slapdtest.Fixture, SyncProv: true})
	_, ev, _ := runFeed(t, baseConfig(srv.URL), nil)
	waitFor(t, ev, "the feed to follow", func() bool { n, _, _, _, _ := ev.counts(); return n == 1 })
	srv.Restart(t)
	c := admin(t, srv.URL)
	modify(t, c, platformDN, func(m *goldap.ModifyRequest) { m.Add("member", []string{bobDN}) })
	waitFor(t, ev, "the reconnect and the change", func() bool {
		n, ch, _, _, d := ev.counts()
		return n == 2 && ch >= 1 && d >= 1
	})
	if _, _, _, r, _ := ev.counts(); r != 0 {
		t.Errorf("a resync after a reconnect with a cookie: %s", ev)
	}
}

// A restart of syncd: a new feed given the position the first saved
// resumes from its cookie and reports what changed while no feed ran; a
// position for other searches (the configuration changed) is not used.
func TestSyncreplFeedResumesFromASavedPosition(t *testing.T) {
	srv := slapdtest.Start(t, slapdtest.Options{LDIF: slapdtest.Fixture, SyncProv: true})
	cfg := baseConfig(srv.URL)
	f, ev, stop := runFeed(t, cfg, nil)
	waitFor(t, ev, "the feed to follow", func() bool { n, _, _, _, _ := ev.counts(); return n == 1 })
	saved := f.Position()
	stop()

	c := admin(t, srv.URL)
	modify(t, c, platformDN, func(m *goldap.ModifyRequest) { m.Add("member", []string{bobDN}) })
	_, ev2, stop2 := runFeed(t, cfg, saved)
	waitFor(t, ev2, "the resumed feed to report the change", func() bool {
		n, ch, _, _, _ := ev2.counts()
		return n == 1 && ch >= 1
	})
	if !ev2.resumed[0] || len(ev2.resyncs) != 0 {
		t.Errorf("resumed feed: %s; want resumed, no resync", ev2)
	}
	stop2()

	other := cfg
	other.Groups.Filter = "(objectClass=groupOfNames)"
	_, ev3, _ := runFeed(t, other, saved)
	waitFor(t, ev3, "the feed of another configuration to follow", func() bool { n, _, _, _, _ := ev3.counts(); return n == 1 })
	if ev3.resumed[0] || ev3.changed != 0 {
		t.Errorf("a position of other searches was used: %s", ev3)
	}
}

// Without syncprov, auto falls back to polling modifyTimestamp; asking
// for syncrepl by name is an error the feed keeps reporting.
func TestFeedFallsBackToModifyTimestamp(t *testing.T) {
	srv := slapdtest.Start(t, slapdtest.Options{LDIF: slapdtest.Fixture})
	_, ev, _ := runFeed(t, baseConfig(srv.URL), nil)
	waitFor(t, ev, "the feed to follow", func() bool { n, _, _, _, _ := ev.counts(); return n == 1 })
	if ev.feeds[0] != "modify_timestamp" {
		t.Fatalf("feed %s, want modify_timestamp", ev)
	}
	c := admin(t, srv.URL)
	changedBy(t, ev, "a member added (polled)", true, func() {
		modify(t, c, platformDN, func(m *goldap.ModifyRequest) { m.Add("member", []string{bobDN}) })
	})
	// A telephone number, then an address: the poll that reports the
	// address has seen the telephone number too (its modifyTimestamp is
	// not later), and must not have counted it.
	_, c0, _, _, _ := ev.counts()
	modify(t, c, bobDN, func(m *goldap.ModifyRequest) { m.Replace("telephoneNumber", []string{"+1 555 0101"}) })
	modify(t, c, aliceDN, func(m *goldap.ModifyRequest) { m.Replace("mail", []string{"alice@new.example.com"}) })
	waitFor(t, ev, "the address change", func() bool { _, ch, _, _, _ := ev.counts(); return ch > c0 })
	if _, ch, _, _, _ := ev.counts(); ch != c0+1 {
		t.Errorf("%d changes reported for one telephone number and one address, want 1: %s", ch-c0, ev)
	}
}

// Asking for syncrepl by name on a server without syncprov fails, and
// keeps failing with the reason: no feed is chosen behind the user's back.
func TestFeedByNameDoesNotFallBack(t *testing.T) {
	srv := slapdtest.Start(t, slapdtest.Options{LDIF: slapdtest.Fixture})
	cfg := baseConfig(srv.URL)
	cfg.Watch.Feed = config.FeedSyncrepl
	_, ev, _ := runFeed(t, cfg, nil)
	waitFor(t, ev, "the refusal", func() bool { _, _, _, _, d := ev.counts(); return d >= 1 })
	if n, _, _, _, _ := ev.counts(); n != 0 || !strings.Contains(ev.disconnects[0].Error(), "syncrepl") {
		t.Errorf("%s; want no feed and the syncrepl refusal", ev)
	}
}

// A feed whose bind is refused for a wrong password does not reconnect
// with backoff (each try would count towards the account's lockout): it
// waits CredentialsRefusedWait; another failure keeps the backoff.
func TestFeedWrongPasswordWaitsLong(t *testing.T) {
	srv := slapdtest.Start(t, slapdtest.Options{LDIF: slapdtest.Fixture})
	for _, tc := range []struct {
		name     string
		password string
		url      string
		long     bool
	}{
		{"wrong password", "not-the-password", srv.URL, true},
		{"server down", slapdtest.ReaderPW, "ldap://127.0.0.1:1", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := baseConfig(tc.url)
			cfg.BindPassword = config.Secret(tc.password)
			waits := make(chan time.Duration, 1)
			f, err := ldap.NewFeed("corp", cfg, ldap.FeedOptions{Sleep: func(ctx context.Context, d time.Duration) error {
				waits <- d
				<-ctx.Done()
				return ctx.Err()
			}}, zap.NewNop())
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() { _ = f.Run(ctx, &events{}); close(done) }()
			defer func() { cancel(); <-done }()
			select {
			case d := <-waits:
				if (d == ldap.CredentialsRefusedWait) != tc.long {
					t.Errorf("waits %v after the failure, want CredentialsRefusedWait %v", d, tc.long)
				}
			case <-time.After(30 * time.Second):
				t.Fatal("the feed never waited")
			}
		})
	}
}

// Check (validate --connect) names the feed slapd would give, and refuses
// a feed asked for by name that slapd does not offer.
func TestFeedCheck(t *testing.T) {
	srv := slapdtest.Start(t, slapdtest.Options{LDIF: slapdtest.Fixture, SyncProv: true})
	for _, tc := range []struct {
		feed, want string
		refused    bool
	}{
		{config.FeedAuto, "syncrepl (auto)", false},
		{config.FeedSyncrepl, "syncrepl", false},
		{config.FeedModifyTimestamp, "modify_timestamp", false},
		{config.FeedPersistentSearch, "control 2.16.840.1.113730.3.4.3", true},
		{config.FeedUSNChanged, "Active Directory capability", true},
	} {
		cfg := baseConfig(srv.URL)
		cfg.Watch.Feed = tc.feed
		f, err := ldap.NewFeed("corp", cfg, ldap.FeedOptions{}, zap.NewNop())
		if err != nil {
			t.Fatal(err)
		}
		got, err := f.Check(context.Background())
		if (err != nil) != tc.refused || !strings.Contains(got+fmt.Sprint(err), tc.want) {
			t.Errorf("feed %s: %q, %v; want %q (refused: %v)", tc.feed, got, err, tc.want, tc.refused)
		}
	}
}

// A notification cut short is lost, and the feed reconnects from its
// cookie: the refresh sends the entry as it is by then. When it changed
// back meanwhile (a member added, that notification lost, the member
// removed again), that is still a change: a complete read in between (a
// change set for another change, a scheduled run) may have applied the
// member, and only a change set can take them out again.
func TestSyncreplFeedForgetsWhatItKnewAfterACut(t *testing.T) {
	srv := slapdtest.Start(t, slapdtest.Options{LDIF: slapdtest.Fixture, SyncProv: true})
	url, blink := srv.BlinkingProxy(t)
	_, ev, _ := runFeed(t, baseConfig(url), nil)
	waitFor(t, ev, "the feed to follow", func() bool { n, _, _, _, _ := ev.counts(); return n == 1 })
	c := admin(t, srv.URL)
	for i := range 3 {
		_, _, _, _, d0 := ev.counts()
		blink()
		modify(t, c, platformDN, func(m *goldap.ModifyRequest) { m.Add("member", []string{bobDN}) })
		waitFor(t, ev, "the cut", func() bool { _, _, _, _, d := ev.counts(); return d > d0 })
		n0, c0, _, _, _ := ev.counts()
		modify(t, c, platformDN, func(m *goldap.ModifyRequest) { m.Delete("member", []string{bobDN}) })
		waitFor(t, ev, fmt.Sprintf("round %d: the reconnect", i), func() bool { n, _, _, _, _ := ev.counts(); return n > n0 })
		if _, ch, _, r, _ := ev.counts(); ch == c0 && r == 0 {
			t.Fatalf("round %d: platform, back as it was before the lost notification, was not reported: %s", i, ev)
		}
	}
}

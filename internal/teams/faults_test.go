package teams_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/syncd/syncd/internal/teams"
	"github.com/syncd/syncd/internal/teams/emulator"
	"github.com/syncd/syncd/internal/teams/faultproxy"
	"github.com/syncd/syncd/internal/teams/teamstest/spectest"
)

// The tests here put the fault proxy between the client and the emulator
// (checked against the spec) and assert the typed error each fault must
// give; for creates, that no group ever exists twice.

// bigGroupsSeed has 107 user groups: "Alpha 001".."Alpha 100", then
// "Developers" (the first item of page 2), then "Zeta 1".."Zeta 6"; and
// 130 users (two pages).
func bigGroupsSeed() *emulator.Seed {
	s := baseSeed()
	s.UserGroups = nil
	for i := 6; i <= 131; i++ {
		s.Users = append(s.Users, emulator.SeedUser{ID: i, Name: fmt.Sprintf("User %d", i), Email: fmt.Sprintf("u%d@example.com", i), Role: "Registered"})
	}
	for i := 1; i <= 100; i++ {
		s.UserGroups = append(s.UserGroups, emulator.SeedGroup{ID: i, Name: fmt.Sprintf("Alpha %03d", i), UserIDs: []int{2}})
	}
	s.UserGroups = append(s.UserGroups, emulator.SeedGroup{ID: 101, Name: "Developers", UserIDs: []int{2, 3, 4}})
	for i := 1; i <= 6; i++ {
		s.UserGroups = append(s.UserGroups, emulator.SeedGroup{ID: 101 + i, Name: fmt.Sprintf("Zeta %d", i), UserIDs: []int{5}})
	}
	return s
}

// site is the emulator behind a fault proxy, and a client for it.
type site struct {
	e     *emulator.Emulator
	p     *faultproxy.Proxy
	c     *teams.Client
	waits *waitLog
}

// waitLog records the client's sleeps without sleeping.
type waitLog struct {
	mu    sync.Mutex
	waits []time.Duration
}

func (w *waitLog) sleep(ctx context.Context, d time.Duration) error {
	w.mu.Lock()
	w.waits = append(w.waits, d)
	w.mu.Unlock()
	return ctx.Err()
}

func (w *waitLog) all() []time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.waits)
}

func newSite(t *testing.T, seed *emulator.Seed, rules []faultproxy.Rule, mod ...func(*teams.Options)) *site {
	t.Helper()
	e, err := emulator.New(seed, emulator.Options{NoThrottle: true})
	if err != nil {
		t.Fatal(err)
	}
	p := faultproxy.New(spectest.Wrap(t, e), rules...)
	srv := httptest.NewServer(p)
	t.Cleanup(srv.Close)
	s := &site{e: e, p: p, waits: &waitLog{}}
	s.c = client(t, srv.URL+"/api/v3", adminToken, append([]func(*teams.Options){func(o *teams.Options) {
		o.Sleep = s.waits.sleep
	}}, mod...)...)
	return s
}

// named counts the emulator's groups named name, case-insensitively.
func (s *site) named(name string) []int {
	var out []int
	for _, g := range s.e.Snapshot().UserGroups {
		if strings.EqualFold(g.Name, name) {
			out = append(out, g.ID)
		}
	}
	return out
}

// posts is the number of group creates that reached the emulator.
func (s *site) posts() int { return s.e.Count("POST", "/user-groups") }

func rule(method, path string, page int, f faultproxy.Fault) faultproxy.Rule {
	return faultproxy.Rule{Method: method, Path: path, Page: page, Fault: f}
}

func always(r faultproxy.Rule) faultproxy.Rule { r.Times = -1; return r }

func wantIncomplete(t *testing.T, err error, route, reason string) {
	t.Helper()
	var inc *teams.IncompleteError
	if !errors.Is(err, teams.ErrIncomplete) || !errors.As(err, &inc) {
		t.Fatalf("err = %v, want an IncompleteError", err)
	}
	if inc.Route != route || !strings.Contains(inc.Error(), reason) {
		t.Errorf("IncompleteError route %q, text %q; want route %q and %q", inc.Route, inc.Error(), route, reason)
	}
	if teams.OutcomeUnknown(err) {
		t.Errorf("OutcomeUnknown(%v) = true for a read", err)
	}
}

// Every listing syncd plans on is complete or an error: never a shorter
// list that would read as "nobody there".
func TestFaultListingsAreCompleteOrUnknown(t *testing.T) {
	listGroups := func(c *teams.Client) error { _, err := c.ListUserGroups(context.Background()); return err }
	listUsers := func(c *teams.Client) error { _, err := c.ListAccounts(context.Background()); return err }
	cases := []struct {
		name   string
		rules  []faultproxy.Rule
		run    func(*teams.Client) error
		route  string
		reason string
	}{
		{"groups: empty body", []faultproxy.Rule{rule("GET", "/user-groups", 1, faultproxy.EmptyBody())}, listGroups, "/user-groups", "empty"},
		{"groups: items null", []faultproxy.Rule{rule("GET", "/user-groups", 1, faultproxy.NullItems())}, listGroups, "/user-groups", "items is null"},
		{"groups: no items", []faultproxy.Rule{rule("GET", "/user-groups", 2, faultproxy.NoItems())}, listGroups, "/user-groups", "no items"},
		{"groups: items [] with totalCount 107", []faultproxy.Rule{rule("GET", "/user-groups", 1, faultproxy.EmptyItems())}, listGroups, "/user-groups", "page 1 of 2 has 0 items"},
		{"groups: empty last page", []faultproxy.Rule{rule("GET", "/user-groups", 2, faultproxy.EmptyItems())}, listGroups, "/user-groups", "read 100 items, totalCount is 107"},
		{"groups: short page", []faultproxy.Rule{rule("GET", "/user-groups", 1, faultproxy.DropItems(1))}, listGroups, "/user-groups", "page 1 of 2 has 99 items"},
		{"groups: more items than announced", []faultproxy.Rule{always(rule("GET", "/user-groups", 0, faultproxy.AddTotal(-1)))}, listGroups, "/user-groups", "more items than totalCount 106"},
		{"groups: totalCount changes at every read", []faultproxy.Rule{always(rule("GET", "/user-groups", 2, faultproxy.AddTotal(-1)))}, listGroups, "/user-groups", "totalCount changed from 107 to 106"},
		{"groups: a group without members", []faultproxy.Rule{rule("GET", "/user-groups", 2, faultproxy.Rewrite(func(d map[string]any) {
			delete(d["items"].([]any)[0].(map[string]any), "users")
		}))}, listGroups, "/user-groups", "no users"},
		{"groups: not an object", []faultproxy.Rule{rule("GET", "/user-groups", 1, faultproxy.Answer(200, "application/json", `[]`))}, listGroups, "/user-groups", "not a JSON object"},
		{"groups: an HTML page", []faultproxy.Rule{rule("GET", "/user-groups", 2, faultproxy.Answer(200, "text/html", `<html>maintenance</html>`))}, listGroups, "/user-groups", "not a JSON object"},
		{"users: empty page 2", []faultproxy.Rule{rule("GET", "/users", 2, faultproxy.EmptyItems())}, listUsers, "/users", "totalCount is 130"},
		{"users: empty body", []faultproxy.Rule{rule("GET", "/users", 2, faultproxy.EmptyBody())}, listUsers, "/users", "empty"},
		{"users: count from an empty body", []faultproxy.Rule{rule("GET", "/users", 1, faultproxy.EmptyBody())},
			func(c *teams.Client) error { _, err := c.CountUsers(context.Background()); return err }, "/users", "empty"},
		{"tags: search answered items null", []faultproxy.Rule{rule("GET", "/tags", 1, faultproxy.NullItems())},
			func(c *teams.Client) error { _, err := c.FindTag(context.Background(), "go"); return err }, "/tags", "items is null"},
		{"SMEs: empty body", []faultproxy.Rule{rule("GET", "/tags/*/subject-matter-experts", 0, faultproxy.EmptyBody())},
			func(c *teams.Client) error { _, err := c.GetSMEs(context.Background(), 1); return err }, "/tags/{tagId}/subject-matter-experts", "empty"},
		{"SMEs: no users", []faultproxy.Rule{rule("GET", "/tags/*/subject-matter-experts", 0, faultproxy.Answer(200, "application/json", `{"userGroups":[]}`))},
			func(c *teams.Client) error { _, err := c.GetSMEs(context.Background(), 1); return err }, "/tags/{tagId}/subject-matter-experts", "no users"},
		{"SMEs: null user groups", []faultproxy.Rule{rule("GET", "/tags/*/subject-matter-experts", 0, faultproxy.Answer(200, "", `{"users":[],"userGroups":null}`))},
			func(c *teams.Client) error { _, err := c.GetSMEs(context.Background(), 1); return err }, "/tags/{tagId}/subject-matter-experts", "no userGroups"},
		{"SMEs: not an object", []faultproxy.Rule{rule("GET", "/tags/*/subject-matter-experts", 0, faultproxy.Answer(200, "application/json", `"ok"`))},
			func(c *teams.Client) error { _, err := c.GetSMEs(context.Background(), 1); return err }, "/tags/{tagId}/subject-matter-experts", "not a JSON object"},
		{"group: empty body", []faultproxy.Rule{rule("GET", "/user-groups/*", 0, faultproxy.EmptyBody())},
			func(c *teams.Client) error { _, err := c.GetUserGroup(context.Background(), 101); return err }, "/user-groups/{userGroupId}", "empty"},
		{"group: no users", []faultproxy.Rule{rule("GET", "/user-groups/*", 0, faultproxy.Answer(200, "application/json", `{"id":101,"name":"Developers","description":""}`))},
			func(c *teams.Client) error { _, err := c.GetUserGroup(context.Background(), 101); return err }, "/user-groups/{userGroupId}", "no users"},
		{"user by e-mail: empty body", []faultproxy.Rule{rule("GET", "/users/by-email/*", 0, faultproxy.EmptyBody())},
			func(c *teams.Client) error {
				_, err := c.UserByEmail(context.Background(), "alice@example.com")
				return err
			}, "/users/by-email/{email}", "empty"},
		{"users by external id: empty body", []faultproxy.Rule{rule("GET", "/users/by-external-id/*", 0, faultproxy.EmptyBody())},
			func(c *teams.Client) error {
				_, err := c.UsersByExternalID(context.Background(), "ext-alice")
				return err
			}, "/users/by-external-id/{externalId}", "empty"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newSite(t, bigGroupsSeed(), tc.rules)
			err := tc.run(s.c)
			wantIncomplete(t, err, tc.route, tc.reason)
			if errors.Is(err, teams.ErrNotFound) {
				t.Errorf("err %v reads as not found", err)
			}
			if s.p.Applied() == 0 {
				t.Errorf("the fault never bit: %v", s.p.Log())
			}
		})
	}
}

// The real API's documented quirks are not faults: an answer without a
// Content-Type, totalPages 0 for an empty list.
func TestFaultQuirksStillRead(t *testing.T) {
	s := newSite(t, bigGroupsSeed(), []faultproxy.Rule{always(rule("", "", 0, faultproxy.NoContentType()))})
	groups, err := s.c.ListUserGroups(context.Background())
	check(t, "ListUserGroups without Content-Type", err)
	if len(groups) != 107 {
		t.Errorf("%d groups, want 107", len(groups))
	}
	smes, err := s.c.GetSMEs(context.Background(), 1)
	check(t, "GetSMEs without Content-Type", err)
	if len(smes.Users.IDs) != 1 {
		t.Errorf("SMEs %+v", smes)
	}

	seed := baseSeed()
	seed.UserGroups = nil
	e, err := emulator.New(seed, emulator.Options{NoThrottle: true, EmptyTotalPages: -1})
	check(t, "emulator", err)
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	groups, err = client(t, srv.URL+"/api/v3", adminToken).ListUserGroups(context.Background())
	if err != nil || len(groups) != 0 {
		t.Errorf("empty list with totalPages 0: %v, %v", groups, err)
	}
}

// A listing whose pages shift while it is read (a group deleted or created
// in the UI meanwhile) is read again from page 1, a bounded number of
// times; the incident: "Developers" skipped, then created a second time.
func TestFaultShiftedPagesAreReadAgain(t *testing.T) {
	t.Run("deleted while read", func(t *testing.T) {
		s := newSite(t, bigGroupsSeed(), []faultproxy.Rule{rule("GET", "/user-groups", 2, faultproxy.Hide(50))})
		groups, err := s.c.ListUserGroups(context.Background())
		check(t, "ListUserGroups", err)
		names := groupNames(groups)
		if len(groups) != 106 || !slices.Contains(names, "Developers") || slices.Contains(names, "Alpha 050") {
			t.Errorf("%d groups, Developers there: %v; want 106 with Developers", len(groups), slices.Contains(names, "Developers"))
		}
		if got := s.e.Count("GET", "/user-groups"); got < 3 {
			t.Errorf("the emulator served %d list pages; want page 1 read again", got)
		}
		_, err = s.c.CreateUserGroup(context.Background(), teams.UserGroupRequest{Name: "developers"})
		var exists *teams.GroupExistsError
		if !errors.Is(err, teams.ErrGroupExists) || !errors.As(err, &exists) || !slices.Equal(exists.IDs, []int{101}) {
			t.Errorf("create Developers again: err = %v, want ErrGroupExists naming 101", err)
		}
		if s.posts() != 0 || len(s.named("Developers")) != 1 {
			t.Errorf("%d creates sent, groups named Developers %v", s.posts(), s.named("Developers"))
		}
	})
	t.Run("created while read", func(t *testing.T) {
		s := newSite(t, bigGroupsSeed(), []faultproxy.Rule{rule("GET", "/user-groups", 2, faultproxy.Insert(`{"name":"Aardvark","userIds":[2]}`))})
		groups, err := s.c.ListUserGroups(context.Background())
		check(t, "ListUserGroups", err)
		if ids := ids(groups, func(g teams.UserGroup) int { return g.ID }); len(ids) != 108 || len(slices.Compact(ids)) != 108 {
			t.Errorf("%d groups (%d distinct), want 108", len(ids), len(slices.Compact(ids)))
		}
	})
	t.Run("changing at every read", func(t *testing.T) {
		s := newSite(t, bigGroupsSeed(), []faultproxy.Rule{always(rule("GET", "/user-groups", 2, faultproxy.Insert(`{"name":"Aardvark","userIds":[2]}`)))})
		_, err := s.c.ListUserGroups(context.Background())
		wantIncomplete(t, err, "/user-groups", "changed")
		var inc *teams.IncompleteError
		if errors.As(err, &inc) && inc.Reads != 3 {
			t.Errorf("read %d times, want 3", inc.Reads)
		}
		if got := s.e.Count("GET", "/user-groups"); got != 6 {
			t.Errorf("%d pages served, want 3 reads of 2 pages", got)
		}
	})
}

func groupNames(groups []teams.UserGroup) []string {
	var out []string
	for _, g := range groups {
		out = append(out, g.Name)
	}
	return out
}

// The write ops that answer with a body, for tables.
type writeOp struct {
	name  string
	path  string
	run   func(ctx context.Context, c *teams.Client) error
	check func(e *emulator.Emulator) bool // the write landed
}

func writeOps() []writeOp {
	hasMembers := func(e *emulator.Emulator, name string, want ...int) bool {
		g, ok := e.GroupByName(name)
		return ok && slices.Equal(sortedCopy(g.UserIDs), want)
	}
	return []writeOp{
		{"ReplaceUserGroup", "/user-groups/*", func(ctx context.Context, c *teams.Client) error {
			_, err := c.ReplaceUserGroup(ctx, 2, teams.UserGroupRequest{Name: "Data", UserIDs: []int{3}})
			return err
		}, func(e *emulator.Emulator) bool { return hasMembers(e, "Data", 3) }},
		{"AddUserGroupMembers", "/user-groups/*/members", func(ctx context.Context, c *teams.Client) error {
			_, err := c.AddUserGroupMembers(ctx, 2, []int{5})
			return err
		}, func(e *emulator.Emulator) bool { return hasMembers(e, "Data", 4, 5) }},
		{"ReplaceSMEs", "/tags/*/subject-matter-experts", func(ctx context.Context, c *teams.Client) error {
			_, err := c.ReplaceSMEs(ctx, 2, teams.SMERequest{UserIDs: []int{3}})
			return err
		}, func(e *emulator.Emulator) bool { u, _ := e.TagSMEs("go"); return slices.Equal(u, []int{3}) }},
		{"AddSMEUsers", "/tags/*/subject-matter-experts/users", func(ctx context.Context, c *teams.Client) error {
			_, err := c.AddSMEUsers(ctx, 2, []int{4})
			return err
		}, func(e *emulator.Emulator) bool { u, _ := e.TagSMEs("go"); return slices.Equal(u, []int{4}) }},
		{"AddSMEGroups", "/tags/*/subject-matter-experts/user-groups", func(ctx context.Context, c *teams.Client) error {
			_, err := c.AddSMEGroups(ctx, 2, []int{1})
			return err
		}, func(e *emulator.Emulator) bool { _, g := e.TagSMEs("go"); return slices.Equal(g, []int{1}) }},
	}
}

// A write answered 200 with nothing readable is not "applied": the caller
// must read again to confirm.
func TestFaultWriteAnswersUnreadable(t *testing.T) {
	answers := map[string]faultproxy.Fault{
		"empty":    faultproxy.Answer(200, "application/json", ""),
		"not JSON": faultproxy.Answer(200, "text/html", "<html>OK</html>"),
		"cut off":  faultproxy.Answer(200, "application/json", `{"id":2,"name":"Da`),
		// An object without the list the write changed shows nothing.
		"without its list": faultproxy.Answer(200, "application/json", `{"id":2,"name":"Data","description":""}`),
		// Nor does another object (a cache or proxy mixing answers up).
		"another group": answerAs("/user-groups/1"),
	}
	for _, o := range writeOps() {
		for name, f := range answers {
			t.Run(o.name+"/"+name, func(t *testing.T) {
				s := newSite(t, baseSeed(), []faultproxy.Rule{rule("", o.path, 0, faultproxy.Applied(f))})
				err := o.run(context.Background(), s.c)
				var unc *teams.UnconfirmedError
				if !errors.Is(err, teams.ErrUnconfirmed) || !errors.As(err, &unc) || !teams.OutcomeUnknown(err) {
					t.Fatalf("err = %v, want ErrUnconfirmed with the outcome unknown", err)
				}
				if !strings.Contains(err.Error(), "read again to confirm") {
					t.Errorf("message %q", err)
				}
				if !o.check(s.e) {
					t.Errorf("the write did not land: %+v", s.e.Snapshot())
				}
			})
		}
	}
}

// createCase is one fault on POST /user-groups and what must come of it.
type createCase struct {
	name    string
	rules   []faultproxy.Rule
	timeout time.Duration
	// adopted: the create resolves to the one group it made; else the
	// error must match wantErr and OutcomeUnknown must be unknown.
	adopted bool
	wantErr error
	unknown bool
	groups  int // groups named "Platform Ops" afterwards
	posts   int // creates that reached the emulator
}

// A create is sent once, and whatever happens to its answer no group ends
// up existing twice.
func TestFaultCreateNeverDuplicates(t *testing.T) {
	post := func(f faultproxy.Fault) []faultproxy.Rule {
		return []faultproxy.Rule{rule("POST", "/user-groups", 0, f)}
	}
	cases := []createCase{
		{name: "answer lost", rules: post(faultproxy.LoseAnswer()), adopted: true, groups: 1, posts: 1},
		{name: "201 empty", rules: post(faultproxy.Applied(faultproxy.Answer(201, "application/json", ""))), adopted: true, groups: 1, posts: 1},
		{name: "201 not JSON", rules: post(faultproxy.Applied(faultproxy.Answer(201, "text/html", "<p>created</p>"))), adopted: true, groups: 1, posts: 1},
		{name: "201 without an id", rules: post(faultproxy.Applied(faultproxy.Answer(201, "application/json", `{"name":"Platform Ops"}`))), adopted: true, groups: 1, posts: 1},
		{name: "502 after applying", rules: post(faultproxy.Applied(faultproxy.Status(502))), adopted: true, groups: 1, posts: 1},
		{name: "timeout after applying", rules: post(faultproxy.Applied(faultproxy.Hang())), timeout: 300 * time.Millisecond, adopted: true, groups: 1, posts: 1},
		{name: "500 without applying", rules: post(faultproxy.Status(500)), wantErr: teams.ErrServer, unknown: true, groups: 0, posts: 0},
		{name: "reset without applying", rules: post(faultproxy.Reset()), wantErr: nil, unknown: true, groups: 0, posts: 0},
		{name: "429", rules: post(faultproxy.Status(429)), adopted: true, groups: 1, posts: 1},
		{name: "answer lost, listing after it incomplete", rules: []faultproxy.Rule{
			rule("POST", "/user-groups", 0, faultproxy.LoseAnswer()),
			{Method: "GET", Path: "/user-groups", Nth: 2, Fault: faultproxy.NullItems()},
		}, wantErr: teams.ErrIncomplete, unknown: true, groups: 1, posts: 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newSite(t, baseSeed(), tc.rules, func(o *teams.Options) {
				if tc.timeout > 0 {
					o.Timeout = tc.timeout
				}
			})
			ctx := context.Background()
			_, err := s.c.ListUserGroups(ctx) // the engine's fresh listing
			check(t, "ListUserGroups", err)
			g, err := s.c.CreateUserGroup(ctx, teams.UserGroupRequest{Name: "Platform Ops", UserIDs: []int{3}})
			switch {
			case tc.adopted && (err != nil || g == nil || !slices.Equal(s.named("Platform Ops"), []int{g.ID})):
				t.Errorf("create = %+v, %v; want the one group named Platform Ops %v", g, err, s.named("Platform Ops"))
			case !tc.adopted && (err == nil || (tc.wantErr != nil && !errors.Is(err, tc.wantErr))):
				t.Errorf("err = %v, want %v", err, tc.wantErr)
			case !tc.adopted && teams.OutcomeUnknown(err) != tc.unknown:
				t.Errorf("OutcomeUnknown(%v) = %v, want %v", err, !tc.unknown, tc.unknown)
			}
			if got := len(s.named("Platform Ops")); got != tc.groups || s.posts() != tc.posts {
				t.Errorf("%d groups named Platform Ops, %d creates applied; want %d and %d (requests %v)", got, s.posts(), tc.groups, tc.posts, s.p.Log())
			}
			if tc.adopted || err == nil {
				return
			}
			// Never sent again blindly: a second create of the name in
			// the same run is refused until a fresh listing is taken.
			_, err = s.c.CreateUserGroup(ctx, teams.UserGroupRequest{Name: "platform ops"})
			if err == nil || s.posts() != tc.posts {
				t.Errorf("second create: err %v, %d creates applied", err, s.posts())
			}
		})
	}
}

// A create that lands after the client gave up is not sent again: the
// outcome is unknown until a fresh listing shows the group.
func TestFaultCreateLandingLate(t *testing.T) {
	release := make(chan struct{})
	var once sync.Once
	free := func() { once.Do(func() { close(release) }) }
	s := newSite(t, baseSeed(), []faultproxy.Rule{rule("POST", "/user-groups", 0, faultproxy.Hold(release))},
		func(o *teams.Options) { o.Timeout = 300 * time.Millisecond })
	t.Cleanup(free)
	ctx := context.Background()
	_, err := s.c.ListUserGroups(ctx)
	check(t, "ListUserGroups", err)
	_, err = s.c.CreateUserGroup(ctx, teams.UserGroupRequest{Name: "Platform Ops"})
	if err == nil || !teams.OutcomeUnknown(err) {
		t.Fatalf("err = %v, want the outcome unknown", err)
	}
	free()
	s.p.Wait()
	if len(s.named("Platform Ops")) != 1 {
		t.Fatalf("groups named Platform Ops: %v", s.named("Platform Ops"))
	}
	_, err = s.c.CreateUserGroup(ctx, teams.UserGroupRequest{Name: "Platform Ops"})
	if !teams.OutcomeUnknown(err) {
		t.Errorf("create again before a listing: err %v, want refused as unknown", err)
	}
	_, err = s.c.ListUserGroups(ctx)
	check(t, "ListUserGroups", err)
	_, err = s.c.CreateUserGroup(ctx, teams.UserGroupRequest{Name: "PLATFORM OPS"})
	if !errors.Is(err, teams.ErrGroupExists) {
		t.Errorf("create after the listing: err %v, want ErrGroupExists", err)
	}
	if got := len(s.named("Platform Ops")); got != 1 || s.posts() != 1 {
		t.Errorf("%d groups, %d creates applied; want 1 and 1", got, s.posts())
	}
}

// A create is refused without a POST when the client's latest complete
// listing shows the name in any case, or when no complete listing can be
// had.
func TestFaultCreateNeedsCompleteEvidence(t *testing.T) {
	s := newSite(t, baseSeed(), []faultproxy.Rule{always(rule("GET", "/user-groups", 0, faultproxy.NullItems()))})
	_, err := s.c.CreateUserGroup(context.Background(), teams.UserGroupRequest{Name: "Platform Ops"})
	if !errors.Is(err, teams.ErrIncomplete) || s.posts() != 0 {
		t.Errorf("create on an incomplete listing: err %v, %d creates", err, s.posts())
	}

	s = newSite(t, baseSeed(), nil)
	_, err = s.c.CreateUserGroup(context.Background(), teams.UserGroupRequest{Name: "PLATFORM"})
	var exists *teams.GroupExistsError
	if !errors.As(err, &exists) || !slices.Equal(exists.IDs, []int{1}) || !strings.Contains(err.Error(), "1") {
		t.Errorf("create PLATFORM: err %v, want ErrGroupExists naming group 1", err)
	}
	if s.posts() != 0 || len(s.named("Platform")) != 1 {
		t.Errorf("%d creates, groups %v", s.posts(), s.named("Platform"))
	}
}

// fixedJitter makes backoff waits exact: always the top of the range.
func fixedJitter(d time.Duration) time.Duration { return d }

// Reads fail now and then: 500, 502, 503, 504 and resets are retried
// with backoff, as 429s are.
func TestFaultTransientReadsRetried(t *testing.T) {
	faults := map[string]faultproxy.Fault{
		"500": faultproxy.Status(500), "502": faultproxy.Status(502), "503": faultproxy.Status(503),
		"504": faultproxy.Status(504), "reset": faultproxy.Reset(),
	}
	for name, f := range faults {
		t.Run(name, func(t *testing.T) {
			r := rule("GET", "/user-groups", 2, f)
			r.Times = 2
			s := newSite(t, bigGroupsSeed(), []faultproxy.Rule{r}, func(o *teams.Options) { o.Jitter = fixedJitter })
			groups, err := s.c.ListUserGroups(context.Background())
			check(t, "ListUserGroups", err)
			if len(groups) != 107 || s.p.Applied() != 2 {
				t.Errorf("%d groups after %d faults, want 107 after 2", len(groups), s.p.Applied())
			}
			// Exponential, from the top of each range: 250ms, 500ms.
			if w := s.waits.all(); name != "reset" && !slices.Equal(w, []time.Duration{250 * time.Millisecond, 500 * time.Millisecond}) {
				t.Errorf("waits %v, want [250ms 500ms]", w)
			}
		})
	}
}

// Backoff waits are jittered by the injected source: random halves differ.
func TestFaultBackoffJitter(t *testing.T) {
	var asked []time.Duration
	jitter := func(d time.Duration) time.Duration { asked = append(asked, d); return d / 4 }
	r := rule("GET", "/users/me", 0, faultproxy.Status(503))
	r.Times = 3
	s := newSite(t, baseSeed(), []faultproxy.Rule{r}, func(o *teams.Options) { o.Jitter = jitter })
	_, err := s.c.Me(context.Background())
	check(t, "Me", err)
	want := []time.Duration{125*time.Millisecond + 125*time.Millisecond/4, 250*time.Millisecond + 250*time.Millisecond/4, 500*time.Millisecond + 500*time.Millisecond/4}
	if w := s.waits.all(); !slices.Equal(w, want) || len(asked) != 3 {
		t.Errorf("waits %v (jitter asked %v), want %v", w, asked, want)
	}
}

// Writes are sent again only where that is harmless (PUT, member and SME
// adds, deletes) or where they provably did not land.
func TestFaultWritesRetriedOnlyWhenSafe(t *testing.T) {
	ctx := context.Background()
	for _, o := range writeOps() {
		for name, f := range map[string]faultproxy.Fault{"500 after applying": faultproxy.Applied(faultproxy.Status(500)), "answer lost": faultproxy.LoseAnswer()} {
			t.Run(o.name+"/"+name, func(t *testing.T) {
				s := newSite(t, baseSeed(), []faultproxy.Rule{rule("", o.path, 0, f)})
				if err := o.run(ctx, s.c); err != nil {
					t.Fatalf("err = %v, want the retry to succeed", err)
				}
				if !o.check(s.e) || s.p.Applied() != 1 {
					t.Errorf("landed %v after %d faults", o.check(s.e), s.p.Applied())
				}
			})
		}
	}
	t.Run("RemoveUserGroupMember/answer lost", func(t *testing.T) {
		s := newSite(t, baseSeed(), []faultproxy.Rule{rule("DELETE", "/user-groups/*/members/*", 0, faultproxy.LoseAnswer())})
		err := s.c.RemoveUserGroupMember(ctx, 1, 3)
		// The retry finds the member gone: 404, which callers take as done.
		if err != nil && !errors.Is(err, teams.ErrNotFound) {
			t.Fatalf("err = %v", err)
		}
		if g, _ := s.e.GroupByName("Platform"); slices.Contains(g.UserIDs, 3) {
			t.Errorf("member still there: %v", g.UserIDs)
		}
	})
}

// OutcomeUnknown tells a write that may have landed from one that did
// not, and from reads.
func TestOutcomeUnknown(t *testing.T) {
	ctx := context.Background()
	add := func(c *teams.Client) error { _, err := c.AddUserGroupMembers(ctx, 2, []int{3}); return err }
	me := func(c *teams.Client) error { _, err := c.Me(ctx); return err }
	noRetry := func(o *teams.Options) { o.MaxRetries = -1 }
	cases := []struct {
		name  string
		f     faultproxy.Fault
		run   func(*teams.Client) error
		want  bool
		extra func(*teams.Options)
	}{
		{"400 on a write", faultproxy.Answer(400, "application/problem+json", `{"title":"bad"}`), add, false, noRetry},
		{"429 on a write", faultproxy.Status(429), add, false, noRetry},
		{"307 on a write", faultproxy.Redirect(307, "https://elsewhere.example/api/v3"), add, false, noRetry},
		{"500 on a read", faultproxy.Status(500), me, false, noRetry},
		{"reset on a read", faultproxy.Reset(), me, false, noRetry},
		{"500 on a write", faultproxy.Status(500), add, true, noRetry},
		{"503 on a write", faultproxy.Status(503), add, true, noRetry},
		{"reset after a write was sent", faultproxy.LoseAnswer(), add, true, noRetry},
		{"timeout after a write was sent", faultproxy.Hang(), add, true, func(o *teams.Options) { o.MaxRetries = -1; o.Timeout = 200 * time.Millisecond }},
		{"empty answer to a write", faultproxy.Applied(faultproxy.EmptyBody()), add, true, noRetry},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newSite(t, baseSeed(), []faultproxy.Rule{rule("", "", 0, tc.f)}, tc.extra)
			err := tc.run(s.c)
			if err == nil || teams.OutcomeUnknown(err) != tc.want {
				t.Errorf("OutcomeUnknown(%v) = %v, want %v", err, teams.OutcomeUnknown(err), tc.want)
			}
		})
	}
	if teams.OutcomeUnknown(nil) {
		t.Error("OutcomeUnknown(nil)")
	}
	// A write retried after a 502 that then fails clearly may still have
	// been applied by its first attempt.
	s := newSite(t, baseSeed(), []faultproxy.Rule{
		rule("POST", "/user-groups/*/members", 0, faultproxy.Applied(faultproxy.Status(502))),
		{Method: "POST", Path: "/user-groups/*/members", Nth: 2, Fault: faultproxy.Answer(400, "application/problem+json", `{"title":"bad"}`)},
	})
	if err := add(s.c); !errors.Is(err, teams.ErrBadRequest) || !teams.OutcomeUnknown(err) {
		t.Errorf("502 then 400: OutcomeUnknown(%v) = false, or not the 400", err)
	}
	// A caller that gives up while waiting to send a write again.
	cctx, cancel := context.WithCancel(ctx)
	s = newSite(t, baseSeed(), []faultproxy.Rule{rule("POST", "/user-groups/*/members", 0, faultproxy.Applied(faultproxy.Status(503)))},
		func(o *teams.Options) {
			o.Sleep = func(context.Context, time.Duration) error { cancel(); return context.Canceled }
		})
	if _, err := s.c.AddUserGroupMembers(cctx, 2, []int{3}); !errors.Is(err, context.Canceled) || !teams.OutcomeUnknown(err) {
		t.Errorf("cancelled in the backoff after a 503: OutcomeUnknown(%v) = false", err)
	}
	// Nothing sent: a refused connection, a context done before sending.
	srv := httptest.NewServer(http.NotFoundHandler())
	dead := srv.URL + "/api/v3"
	srv.Close()
	err := add(client(t, dead, adminToken, noRetry))
	if err == nil || teams.OutcomeUnknown(err) {
		t.Errorf("refused connection: OutcomeUnknown(%v) = true", err)
	}
	s = newSite(t, baseSeed(), nil)
	cctx, cancel = context.WithCancel(ctx)
	cancel()
	_, err = s.c.AddUserGroupMembers(cctx, 2, []int{3})
	if err == nil || teams.OutcomeUnknown(err) || s.e.WriteCount() != 0 {
		t.Errorf("cancelled before sending: OutcomeUnknown(%v) = true, or %d writes", err, s.e.WriteCount())
	}
}

// A redirect is reported as one, with its target but not its query (it
// may carry a token), and never as a server error.
func TestFaultRedirectNamed(t *testing.T) {
	for _, code := range []int{301, 302, 307, 308} {
		t.Run(fmt.Sprint(code), func(t *testing.T) {
			s := newSite(t, baseSeed(), []faultproxy.Rule{always(rule("", "", 0,
				faultproxy.Redirect(code, "https://sso.example.com/login?session=s3cret-value#frag")))})
			_, err := s.c.ListUserGroups(context.Background())
			msg := fmt.Sprint(err)
			if !errors.Is(err, teams.ErrRedirect) || errors.Is(err, teams.ErrServer) {
				t.Fatalf("err = %v, want ErrRedirect", err)
			}
			for _, want := range []string{fmt.Sprint(code), "redirect to https://sso.example.com/login", "check teams.url"} {
				if !strings.Contains(msg, want) {
					t.Errorf("message %q lacks %q", msg, want)
				}
			}
			if strings.Contains(msg, "s3cret") || strings.Contains(msg, "frag") || strings.Contains(msg, "server error") {
				t.Errorf("message %q", msg)
			}
		})
	}
}

// removal is one of the DELETE writes, on baseSeed with "Platform" an SME
// group of "kubernetes".
type removal struct {
	name string
	path string // what the request goes to
	read string // the GET of what it changes
	run  func(ctx context.Context, c *teams.Client) error
	gone func(e *emulator.Emulator) bool // the removal landed
}

func removals() []removal {
	return []removal{
		{"RemoveUserGroupMember", "/user-groups/2/members/4", "/user-groups/2",
			func(ctx context.Context, c *teams.Client) error { return c.RemoveUserGroupMember(ctx, 2, 4) },
			func(e *emulator.Emulator) bool { g, _ := e.GroupByName("Data"); return len(g.UserIDs) == 0 }},
		{"RemoveSMEUser", "/tags/1/subject-matter-experts/users/2", "/tags/1/subject-matter-experts",
			func(ctx context.Context, c *teams.Client) error { return c.RemoveSMEUser(ctx, 1, 2) },
			func(e *emulator.Emulator) bool { u, _ := e.TagSMEs("kubernetes"); return len(u) == 0 }},
		{"RemoveSMEGroup", "/tags/1/subject-matter-experts/user-groups/1", "/tags/1/subject-matter-experts",
			func(ctx context.Context, c *teams.Client) error { return c.RemoveSMEGroup(ctx, 1, 1) },
			func(e *emulator.Emulator) bool { _, g := e.TagSMEs("kubernetes"); return len(g) == 0 }},
	}
}

// answerAs answers a request with what the API answers to GET path: for a
// removal, a 200 that still lists what it was to remove.
func answerAs(path string) faultproxy.Fault {
	return func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		get := r.Clone(r.Context())
		get.Method, get.Body = http.MethodGet, http.NoBody
		get.URL.Path, get.URL.RawPath = "/api/v3"+path, ""
		next.ServeHTTP(w, get)
	}
}

// A removal is done when the API says so in a way it could not say
// otherwise: a 204, or a 200 showing the list without the one removed.
// An empty or unreadable 200, or one still listing them, may come from a
// gateway that never passed the request on: before, syncd took it as
// done, reported the removal applied, and under managed membership forgot
// that it had added the person, who then stayed for good.
func TestFaultRemovalAnswers(t *testing.T) {
	cases := []struct {
		name      string
		fault     faultproxy.Fault // nil: none
		landed    bool
		confirmed bool
	}{
		{"as the emulator answers", nil, true, true},
		{"204", faultproxy.Applied(faultproxy.Status(http.StatusNoContent)), true, true},
		{"landed, empty 200", faultproxy.Applied(faultproxy.Answer(200, "application/json", "")), true, false},
		{"landed, HTML 200", faultproxy.Applied(faultproxy.Answer(200, "text/html", "<html>OK</html>")), true, false},
		{"landed, 200 without its list", faultproxy.Applied(faultproxy.Answer(200, "application/json", `{"id":1}`)), true, false},
		{"not passed on, empty 200", faultproxy.Answer(200, "application/json", ""), false, false},
	}
	for _, o := range removals() {
		for _, c := range append(cases, struct {
			name      string
			fault     faultproxy.Fault
			landed    bool
			confirmed bool
		}{"not passed on, 200 still listing it", answerAs(o.read), false, false}) {
			t.Run(o.name+"/"+c.name, func(t *testing.T) {
				seed := baseSeed()
				seed.Tags[0].SMEGroupIDs = []int{1}
				var rules []faultproxy.Rule
				if c.fault != nil {
					rules = append(rules, rule("DELETE", o.path, 0, c.fault))
				}
				s := newSite(t, seed, rules)
				err := o.run(context.Background(), s.c)
				if c.confirmed && err != nil {
					t.Fatalf("err = %v, want none", err)
				}
				if !c.confirmed && (!errors.Is(err, teams.ErrUnconfirmed) || !teams.OutcomeUnknown(err)) {
					t.Fatalf("err = %v, want ErrUnconfirmed with the outcome unknown", err)
				}
				if o.gone(s.e) != c.landed {
					t.Errorf("landed: %v, want %v", o.gone(s.e), c.landed)
				}
			})
		}
	}
}

// A read answered with another object than the one asked for (a cache or
// proxy mixing answers up) is not complete: taken for it, another group's
// members would be planned as this one's.
func TestFaultReadAnsweredWithAnotherObject(t *testing.T) {
	s := newSite(t, baseSeed(), []faultproxy.Rule{
		always(rule("GET", "/user-groups/2", 0, answerAs("/user-groups/1"))),
		always(rule("GET", "/tags/2", 0, answerAs("/tags/1"))),
	})
	ctx := context.Background()
	_, err := s.c.GetUserGroup(ctx, 2)
	wantIncomplete(t, err, "/user-groups/{userGroupId}", "user group 1 instead of 2")
	_, err = s.c.GetTag(ctx, 2)
	wantIncomplete(t, err, "/tags/{tagId}", "tag 1 instead of 2")
}

package teams_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/syncd/syncd/internal/idset"
	"github.com/syncd/syncd/internal/teams"
	"github.com/syncd/syncd/internal/teams/emulator"
	"github.com/syncd/syncd/internal/teams/teamstest/spectest"
)

const (
	adminToken = "adm-7f3c9e1b2d"
	teamToken  = "team-a41d0c77e9"
	readToken  = "read-0b9e6a1c55"
)

// form is one of the three base URL forms and the token valid there.
type form struct {
	name, path, token string
	team              string // the namespace of its user groups and tags
}

var forms = []form{
	{"business", "/v3/teams/acme", teamToken, "acme"},
	{"enterprise", "/api/v3", adminToken, ""},
	{"private team", "/api/v3/teams/acme", teamToken, "acme"},
}

func strp(s string) *string { return &s }

func baseSeed() *emulator.Seed {
	return &emulator.Seed{
		SMEEnabled: true,
		Tokens: []emulator.SeedToken{
			{Token: adminToken, Admin: true, Write: true, Team: "", UserID: 2},
			{Token: teamToken, Admin: true, Write: true, Team: "acme", UserID: 2},
			{Token: readToken, Admin: true, Write: false, Team: "", UserID: 2},
		},
		Users: []emulator.SeedUser{
			{ID: 2, Name: "Alice", Email: "alice@example.com", ExternalID: strp("ext-alice"), Role: "Registered", Reputation: 10},
			{ID: 3, Name: "Bob", Email: "Bob.Builder+ci@example.com", Role: "Registered", Reputation: 1},
			{ID: 4, Name: "Carol", Email: "carol@example.com", ExternalID: strp("ext-shared"), Role: "Registered", Reputation: 1},
			{ID: 5, Name: "Dan", Email: "dan@example.com", ExternalID: strp("ext-shared"), Role: "Registered", Reputation: 1},
		},
		UserGroups: []emulator.SeedGroup{
			{ID: 1, Name: "Platform", Description: "infra", UserIDs: []int{2, 3}},
			{ID: 2, Name: "Data", Description: "", UserIDs: []int{4}},
		},
		Tags: []emulator.SeedTag{
			{ID: 1, Name: "kubernetes", SMEUserIDs: []int{2}, SMEGroupIDs: []int{}},
			{ID: 2, Name: "go", SMEUserIDs: []int{}, SMEGroupIDs: []int{}},
			{ID: 3, Name: "golang-modules", SMEUserIDs: []int{}, SMEGroupIDs: []int{}},
		},
	}
}

// startEmulator starts the emulator behind the spec validator on a real
// httptest server.
func startEmulator(t testing.TB, seed *emulator.Seed, o emulator.Options) (*emulator.Emulator, *httptest.Server) {
	t.Helper()
	e, err := emulator.New(seed, o)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(spectest.Wrap(t, e))
	t.Cleanup(srv.Close)
	return e, srv
}

// hookLog records what the client reports.
type hookLog struct {
	mu       sync.Mutex
	requests []string
	waited   time.Duration
	limits   map[string]int
}

func (h *hookLog) Request(method, route string, code int, d time.Duration) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.requests = append(h.requests, fmt.Sprintf("%s %s %d", method, route, code))
}

func (h *hookLog) ThrottleWait(d time.Duration) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.waited += d
}

func (h *hookLog) RateLimit(limiter string, remaining int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.limits == nil {
		h.limits = map[string]int{}
	}
	h.limits[limiter] = remaining
}

func client(t testing.TB, base, token string, mod ...func(*teams.Options)) *teams.Client {
	t.Helper()
	o := teams.Options{BaseURL: base, Token: token}
	for _, m := range mod {
		m(&o)
	}
	c, err := teams.New(o)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func ids[T any](items []T, id func(T) int) []int {
	var out []int
	for _, it := range items {
		out = append(out, id(it))
	}
	slices.Sort(out)
	return out
}

func userID(u teams.UserSummary) int { return u.ID }

func check(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func TestEmulatorEveryOperationOnEveryForm(t *testing.T) {
	for _, f := range forms {
		t.Run(f.name, func(t *testing.T) {
			e, srv := startEmulator(t, baseSeed().InTeam(f.team), emulator.Options{NoThrottle: true})
			hook := &hookLog{}
			c := client(t, srv.URL+f.path, f.token, func(o *teams.Options) { o.Hook = hook })
			ctx := context.Background()
			usersAndGroups(t, ctx, c, e)
			tagsAndSMEs(t, ctx, c, e)

			// The client's routes are the emulator's, one request each.
			reqs := e.Requests()
			if len(reqs) != len(hook.requests) || len(reqs) != c.Calls() {
				t.Fatalf("emulator saw %d requests, hook %d, Calls %d", len(reqs), len(hook.requests), c.Calls())
			}
			for i, r := range reqs {
				if want := fmt.Sprintf("%s %s %d", r.Method, r.Route, r.Status); hook.requests[i] != want {
					t.Errorf("request %d: hook %q, emulator %q", i, hook.requests[i], want)
				}
				if !strings.HasPrefix(r.Path, f.path+"/") {
					t.Errorf("request %d: path %s outside %s", i, r.Path, f.path)
				}
			}
		})
	}
}

func usersAndGroups(t *testing.T, ctx context.Context, c *teams.Client, e *emulator.Emulator) {
	users, err := c.ListAccounts(ctx)
	check(t, "ListAccounts", err)
	if got := ids(users, func(u teams.Account) int { return u.ID }); !slices.Equal(got, []int{2, 3, 4, 5}) {
		t.Errorf("ListAccounts ids = %v", got)
	}
	if bob := users[1]; bob.Name != "Bob" || bob.Email != "Bob.Builder+ci@example.com" {
		t.Errorf("ListAccounts: Bob = %+v", bob)
	}
	n, err := c.CountUsers(ctx)
	check(t, "CountUsers", err)
	if n != len(users) {
		t.Errorf("CountUsers = %d, want %d", n, len(users))
	}
	u, err := c.GetUser(ctx, 3)
	check(t, "GetUser", err)
	if u.Name != "Bob" || u.Email == nil || *u.Email != "Bob.Builder+ci@example.com" {
		t.Errorf("GetUser = %+v", u)
	}
	me, err := c.Me(ctx)
	check(t, "Me", err)
	if me.ID != 2 {
		t.Errorf("Me = %d", me.ID)
	}
	u, err = c.UserByEmail(ctx, "bob.builder+CI@example.com")
	check(t, "UserByEmail", err)
	if u.ID != 3 {
		t.Errorf("UserByEmail = %d", u.ID)
	}
	byExt, err := c.UsersByExternalID(ctx, "ext-shared")
	check(t, "UsersByExternalID", err)
	if got := ids(byExt, func(u teams.User) int { return u.ID }); !slices.Equal(got, []int{4, 5}) {
		t.Errorf("UsersByExternalID = %v", got)
	}
	groups, err := c.ListUserGroups(ctx)
	check(t, "ListUserGroups", err)
	if len(groups) != 2 || groups[0].Name == "" || len(groups[0].Users)+len(groups[1].Users) != 3 {
		t.Errorf("ListUserGroups = %+v", groups)
	}
	g, err := c.GetUserGroup(ctx, 1)
	check(t, "GetUserGroup", err)
	if g.Name != "Platform" || !slices.Equal(ids(g.Users, userID), []int{2, 3}) {
		t.Errorf("GetUserGroup = %+v", g)
	}
	created, err := c.CreateUserGroup(ctx, teams.UserGroupRequest{Name: "Security", Description: "sec", UserIDs: []int{4}})
	check(t, "CreateUserGroup", err)
	if sg, ok := e.GroupByName("Security"); !ok || sg.ID != created.ID || created.Name != "Security" || !slices.Equal(sg.UserIDs, []int{4}) {
		t.Errorf("created %+v, emulator has %+v", created, sg)
	}
	r, err := c.ReplaceUserGroup(ctx, created.ID, teams.UserGroupRequest{Name: "Security Team", UserIDs: []int{2, 5}})
	check(t, "ReplaceUserGroup", err)
	if r.Name != "Security Team" || r.Description != "" || !slices.Equal(sortedCopy(r.UserIDs), []int{2, 5}) {
		t.Errorf("ReplaceUserGroup = %+v", r)
	}
	r, err = c.AddUserGroupMembers(ctx, r.ID, []int{5, 3})
	check(t, "AddUserGroupMembers", err)
	if !slices.Equal(sortedCopy(r.UserIDs), []int{2, 3, 5}) {
		t.Errorf("AddUserGroupMembers members = %v", r.UserIDs)
	}
	check(t, "RemoveUserGroupMember", c.RemoveUserGroupMember(ctx, r.ID, 2))
	if sg, _ := e.GroupByName("Security Team"); !slices.Equal(sortedCopy(sg.UserIDs), []int{3, 5}) {
		t.Errorf("after remove, members = %v", sg.UserIDs)
	}
}

func sortedCopy(s []int) []int {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

func tagsAndSMEs(t *testing.T, ctx context.Context, c *teams.Client, e *emulator.Emulator) {
	tag, err := c.FindTag(ctx, "Go")
	check(t, "FindTag", err)
	if tag.ID != 2 || tag.SubjectMatterExpertCount == nil {
		t.Errorf("FindTag(Go) = %+v", tag)
	}
	if _, err := c.FindTag(ctx, "golang"); !errors.Is(err, teams.ErrNotFound) {
		t.Errorf("FindTag(golang) err = %v, want ErrNotFound (only a partial match exists)", err)
	}
	tag, err = c.GetTag(ctx, 1)
	check(t, "GetTag", err)
	if tag.SubjectMatterExperts == nil || !slices.Equal(tag.SubjectMatterExperts.Users.IDs, []int{2}) {
		t.Errorf("GetTag SMEs = %+v", tag.SubjectMatterExperts)
	}
	s, err := c.GetSMEs(ctx, 1)
	check(t, "GetSMEs", err)
	if len(s.Users.IDs) != 1 || len(s.UserGroups) != 0 {
		t.Errorf("GetSMEs = %+v", s)
	}
	s, err = c.ReplaceSMEs(ctx, 2, teams.SMERequest{UserIDs: []int{3}, UserGroupIDs: []int{1}})
	check(t, "ReplaceSMEs", err)
	if len(s.Users.IDs) != 1 || len(s.UserGroups) != 1 || len(s.UserGroups[0].UserIDs) != 2 {
		t.Errorf("ReplaceSMEs = %+v", s)
	}
	_, err = c.AddSMEUsers(ctx, 2, []int{4, 3})
	check(t, "AddSMEUsers", err)
	s, err = c.AddSMEGroups(ctx, 2, []int{2})
	check(t, "AddSMEGroups", err)
	if !slices.Equal(idset.Sort(slices.Clone(s.Users.IDs)), []int{3, 4}) || len(s.UserGroups) != 2 {
		t.Errorf("after adds = %+v", s)
	}
	check(t, "RemoveSMEUser", c.RemoveSMEUser(ctx, 2, 3))
	check(t, "RemoveSMEGroup", c.RemoveSMEGroup(ctx, 2, 1))
	users, groups := e.TagSMEs("go")
	if !slices.Equal(users, []int{4}) || !slices.Equal(groups, []int{2}) {
		t.Errorf("emulator SMEs of go: users %v groups %v", users, groups)
	}
}

func TestEmulatorPaging(t *testing.T) {
	for _, n := range []int{0, 1, 100, 101} {
		for _, emptyTotal := range []int{1, -1} {
			if n > 0 && emptyTotal == -1 {
				continue
			}
			t.Run(fmt.Sprintf("%d groups, empty totalPages %d", n, max(emptyTotal, 0)), func(t *testing.T) {
				seed := baseSeed()
				seed.UserGroups, seed.Tags = nil, nil
				for i := 1; i <= n; i++ {
					seed.UserGroups = append(seed.UserGroups, emulator.SeedGroup{ID: i, Name: fmt.Sprintf("g%03d", i), UserIDs: []int{2}})
				}
				e, srv := startEmulator(t, seed, emulator.Options{NoThrottle: true, EmptyTotalPages: emptyTotal})
				c := client(t, srv.URL+"/api/v3", adminToken)
				groups, err := c.ListUserGroups(context.Background())
				check(t, "ListUserGroups", err)
				if got := ids(groups, func(g teams.UserGroup) int { return g.ID }); len(got) != n || (n > 0 && got[n-1] != n) {
					t.Errorf("got %d groups, want %d", len(got), n)
				}
				pages := max(1, (n+99)/100)
				if got := e.Count("GET", "/user-groups"); got != pages || c.Calls() != pages {
					t.Errorf("emulator served %d pages, client made %d calls, want %d", got, c.Calls(), pages)
				}
			})
		}
	}
}

func TestEmulatorErrors(t *testing.T) {
	ctx := context.Background()
	e, srv := startEmulator(t, baseSeed(), emulator.Options{NoThrottle: true})
	base := srv.URL + "/api/v3"
	admin := client(t, base, adminToken)
	var all []error
	expect := func(what string, err, kind error, msg string) {
		t.Helper()
		all = append(all, err)
		if !errors.Is(err, kind) || !strings.Contains(fmt.Sprint(err), msg) {
			t.Errorf("%s: err = %v, want %v containing %q", what, err, kind, msg)
		}
	}

	_, err := client(t, base, "not-a-token").Me(ctx)
	expect("bad token", err, teams.ErrUnauthorized, "401 token invalid or expired")
	// A token of another team is refused the same way.
	_, err = client(t, base, teamToken).ListAccounts(ctx)
	expect("other team's token", err, teams.ErrUnauthorized, "token invalid or expired")

	ro := client(t, base, readToken)
	_, err = ro.AddUserGroupMembers(ctx, 1, []int{4})
	expect("read-only add", err, teams.ErrForbidden, "403 forbidden: the token is read-only, or its user is not an admin")
	_, err = ro.CreateUserGroup(ctx, teams.UserGroupRequest{Name: "X"})
	expect("read-only create", err, teams.ErrForbidden, "the token is read-only, or its user is not an admin")

	_, err = admin.GetUser(ctx, 999)
	expect("unknown user", err, teams.ErrNotFound, "404 not found")
	_, err = admin.UserByEmail(ctx, "nobody@example.com")
	expect("unknown email", err, teams.ErrNotFound, "404 not found")
	_, err = admin.AddUserGroupMembers(ctx, 1, []int{999})
	expect("unknown member", err, teams.ErrNotFound, "404 not found")
	_, err = admin.ReplaceUserGroup(ctx, 1, teams.UserGroupRequest{Name: " "})
	expect("empty name", err, teams.ErrBadRequest, "user group name is required")
	// An id the spec does not allow: the request is invalid on purpose, so
	// only the answer is checked against the spec.
	lax := httptest.NewServer(spectest.WrapResponses(t, e))
	t.Cleanup(lax.Close)
	_, err = client(t, lax.URL+"/api/v3", adminToken).GetUser(ctx, 0)
	expect("bad id", err, teams.ErrBadRequest, "400 bad request: The value '0' is not valid for userId")

	e.SetSMEEnabled(false)
	_, err = admin.GetSMEs(ctx, 1)
	expect("SMEs off: get", err, teams.ErrSMEDisabled, "422 SMEs are not enabled on this site")
	_, err = admin.AddSMEUsers(ctx, 1, []int{3})
	expect("SMEs off: add", err, teams.ErrSMEDisabled, "SMEs are not enabled on this site")
	err = admin.RemoveSMEGroup(ctx, 1, 1)
	expect("SMEs off: remove", err, teams.ErrSMEDisabled, "SMEs are not enabled on this site")
	tag, err := admin.GetTag(ctx, 1)
	if err != nil || tag.SubjectMatterExpertCount != nil {
		t.Errorf("GetTag with SMEs off = %+v, %v; want a null SME count", tag, err)
	}
	e.SetSMEEnabled(true)

	// 429 with the wait: a second client on the same token, knowing
	// nothing of the spent budget, with retries off.
	_, srv2 := startEmulator(t, baseSeed(), emulator.Options{BurstLimit: 2, BurstWindow: 10 * time.Second})
	spend(t, srv2.URL+"/api/v3/users/me", 2)
	_, err = client(t, srv2.URL+"/api/v3", adminToken, func(o *teams.Options) { o.MaxRetries = -1 }).Me(ctx)
	expect("throttled", err, teams.ErrRateLimited, "429 rate limited")
	var apiErr *teams.Error
	if !errors.As(err, &apiErr) || apiErr.RetryAfter < 9*time.Second || apiErr.RetryAfter > 10*time.Second {
		t.Errorf("429 error %+v: want RetryAfter ≈ 10s", apiErr)
	}

	// 5xx without a retry: a server error.
	_, srv3 := startEmulator(t, baseSeed(), emulator.Options{NoThrottle: true, FaultRate: 1, RandSeed: 3})
	_, err = client(t, srv3.URL+"/api/v3", adminToken, func(o *teams.Options) { o.MaxRetries = -1 }).GetTag(ctx, 1)
	expect("fault", err, teams.ErrServer, "server error")

	for _, err := range all {
		for _, tok := range []string{adminToken, teamToken, readToken, "not-a-token"} {
			if strings.Contains(fmt.Sprintf("%v %+v", err, err), tok) {
				t.Errorf("token %q in error %v", tok, err)
			}
		}
	}
}

func TestEmulatorLostCreateIsNotDuplicated(t *testing.T) {
	ctx := context.Background()
	for _, f := range forms {
		t.Run(f.name, func(t *testing.T) {
			e, srv := startEmulator(t, baseSeed().InTeam(f.team), emulator.Options{NoThrottle: true})
			c := client(t, srv.URL+f.path, f.token)
			_, err := c.ListUserGroups(ctx) // what a sync run does first
			check(t, "ListUserGroups", err)
			e.SetFaults(0, 1)
			g, err := c.CreateUserGroup(ctx, teams.UserGroupRequest{Name: "Platform Ops", UserIDs: []int{4}})
			e.SetFaults(0, 0)
			check(t, "CreateUserGroup", err)
			if got := e.Count("POST", "/user-groups"); got != 1 {
				t.Errorf("%d creates sent, want 1", got)
			}
			var named []emulator.SeedGroup
			for _, sg := range e.Snapshot().UserGroups {
				if sg.Name == "Platform Ops" {
					named = append(named, sg)
				}
			}
			// Exactly one, adopted.
			if len(named) != 1 || named[0].ID != g.ID {
				t.Errorf("groups named Platform Ops: %+v; client returned %+v", named, g)
			}
		})
	}
}

func TestEmulatorIdempotentCallsSurviveFaults(t *testing.T) {
	ctx := context.Background()
	e, srv := startEmulator(t, baseSeed(), emulator.Options{NoThrottle: true, FaultRate: 0.3, RandSeed: 7})
	rec := func(context.Context, time.Duration) error { return nil }
	c := client(t, srv.URL+"/api/v3", adminToken, func(o *teams.Options) { o.Sleep = rec; o.MaxRetries = 10 })
	for i := range 20 {
		_, err := c.AddUserGroupMembers(ctx, 2, []int{2, 3})
		if err != nil && !errors.Is(err, teams.ErrServer) {
			t.Fatalf("call %d: %v", i, err)
		}
		if err != nil {
			continue // ten faults in a row: retries exhausted
		}
	}
	if g, _ := e.GroupByName("Data"); !slices.Equal(sortedCopy(g.UserIDs), []int{2, 3, 4}) {
		t.Errorf("members = %v", g.UserIDs)
	}
	if c.Calls() <= 20 {
		t.Errorf("only %d calls: the fault rate did not bite", c.Calls())
	}
}

func TestEmulatorTLSVerification(t *testing.T) {
	e, err := emulator.New(baseSeed(), emulator.Options{NoThrottle: true})
	check(t, "New", err)
	srv := httptest.NewTLSServer(spectest.Wrap(t, e))
	t.Cleanup(srv.Close)
	// The default client verifies: a self-signed test certificate fails,
	// at once, because no retry can make it verify.
	hook := &hookLog{}
	unverified := client(t, srv.URL+"/api/v3", adminToken, func(o *teams.Options) { o.Hook = hook })
	_, err = unverified.Me(context.Background())
	if err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("unverified TLS: err = %v, want a certificate error", err)
	}
	if got := len(hook.requests); got != 1 || unverified.Calls() != 0 {
		t.Errorf("unverified TLS: %d attempts, %d API calls; want 1 (certificate errors are not retried) and 0 (no request left)", got, unverified.Calls())
	}
	_, err = client(t, srv.URL+"/api/v3", adminToken, func(o *teams.Options) { o.HTTPClient = srv.Client() }).Me(context.Background())
	check(t, "Me over TLS", err)
}

// With a forced 429 the client waits exactly the Retry-After it was given.
func TestEmulatorForced429WaitsRetryAfter(t *testing.T) {
	clock := newSimClock(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC), 1)
	e, srv := startEmulator(t, baseSeed(), emulator.Options{BurstLimit: 3, BurstWindow: 2 * time.Second, Now: clock.Now})
	ctx := context.Background()
	spend(t, srv.URL+"/api/v3/users/me", 3) // unknown to c
	var waits []time.Duration
	hook := &hookLog{}
	c := client(t, srv.URL+"/api/v3", adminToken, func(o *teams.Options) {
		o.Now, o.Hook = clock.Now, hook
		o.Sleep = func(ctx context.Context, d time.Duration) error {
			waits = append(waits, d)
			return clock.Sleep(ctx, d)
		}
	})
	_, err := c.Me(ctx)
	check(t, "Me after 429", err)
	var statuses []int
	for _, r := range e.Requests()[3:] {
		statuses = append(statuses, r.Status)
	}
	if !slices.Equal(statuses, []int{429, 200}) || !slices.Equal(waits, []time.Duration{2 * time.Second}) {
		t.Errorf("statuses %v, waits %v; want one 429, a wait of its Retry-After (2s), then 200", statuses, waits)
	}
	if hook.waited != 2*time.Second {
		t.Errorf("hook throttle wait = %v", hook.waited)
	}
}

// spend sends n requests for the admin token outside the client: another
// program using the same token.
func spend(t *testing.T, url string, n int) {
	t.Helper()
	for range n {
		req, _ := http.NewRequest("GET", url, nil)
		req.Header.Set("Authorization", "Bearer "+adminToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("spend: %s", resp.Status)
		}
	}
}

// Acceptance: 300 calls against a small documented-style throttle (10
// requests per 2 s, a bucket of 60 refilled by 20 every 5 s) finish
// without a single 429. The emulator and the client share a simulated
// clock, so the test takes no real time; BenchmarkPaced300 is the same
// run on the wall clock (about 100 s).
func TestEmulatorPacingZero429(t *testing.T) {
	clock := newSimClock(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC), 2)
	start := clock.Now()
	r := paced300(t, clock)
	elapsed := clock.Now().Sub(start)
	t.Logf("300 calls in %v of simulated time, %v of it pacing (both goroutines); %d requests, %d answered 429",
		elapsed, r.waited, r.requests, r.n429)
	if r.n429 != 0 || r.requests != 300 || r.calls != 300 {
		t.Errorf("%d requests (client: %d), %d of them 429; want 300 and none", r.requests, r.calls, r.n429)
	}
	// The bucket allows 60 calls, then 20 per 5 s: 300 calls need at
	// least 60 s. Much more would mean the pacer wastes the budget.
	if elapsed < 60*time.Second || elapsed > 120*time.Second {
		t.Errorf("300 calls took %v, want 60–120 s", elapsed)
	}
	if r.waited < elapsed {
		t.Errorf("hook saw %v of throttle waits in %v", r.waited, elapsed)
	}
}

// BenchmarkPaced300 is TestEmulatorPacingZero429 on the wall clock: one
// op is 300 calls (about 100 s). It fails on any 429.
//
//	go test -run '^$' -bench Paced300 ./internal/teams/
func BenchmarkPaced300(b *testing.B) {
	for b.Loop() {
		r := paced300(b, nil)
		if r.n429 != 0 || r.requests != 300 {
			b.Fatalf("%d requests, %d of them 429; want 300 and none", r.requests, r.n429)
		}
		b.ReportMetric(float64(r.n429), "429s/op")
		b.ReportMetric(r.waited.Seconds()/2, "paced-s/goroutine")
	}
}

// pacedRun is what paced300 saw.
type pacedRun struct {
	requests, n429, calls int
	waited                time.Duration // by both goroutines together
}

// paced300 makes 300 calls from two goroutines sharing one client (as the
// daemon may) against an emulator throttling at 10 requests per 2 s and a
// bucket of 60 refilled by 20 every 5 s; on clock when given, else on the
// wall clock.
func paced300(tb testing.TB, clock *simClock) pacedRun {
	o := emulator.Options{
		BurstLimit: 10, BurstWindow: 2 * time.Second,
		BucketSize: 60, RefillAmount: 20, RefillEvery: 5 * time.Second,
	}
	hook := &hookLog{}
	done := func() {}
	mod := func(o *teams.Options) { o.Hook = hook }
	if clock != nil {
		o.Now, done = clock.Now, clock.Done
		mod = func(o *teams.Options) { o.Hook, o.Now, o.Sleep = hook, clock.Now, clock.Sleep }
	}
	e, srv := startEmulator(tb, baseSeed(), o)
	c := client(tb, srv.URL+"/api/v3", adminToken, mod)
	ctx := context.Background()
	var wg sync.WaitGroup
	for w := range 2 {
		wg.Go(func() {
			defer done()
			for i := range 150 {
				var err error
				if i%2 == 0 {
					_, err = c.GetUser(ctx, 2+w)
				} else {
					_, err = c.GetUserGroup(ctx, 1+w)
				}
				if err != nil {
					tb.Errorf("call %d/%d: %v", w, i, err)
					return
				}
			}
		})
	}
	wg.Wait()
	r := pacedRun{calls: c.Calls(), waited: hook.waited}
	for _, req := range e.Requests() {
		r.requests++
		if req.Status == http.StatusTooManyRequests {
			r.n429++
		}
	}
	return r
}

// simClock is simulated time shared by a fixed number of workers: it
// moves only when every worker still running is asleep, and then to the
// earliest wake-up, so concurrent callers share one timeline as they
// would in real time (an HTTP exchange takes no simulated time).
type simClock struct {
	mu       sync.Mutex
	now      time.Time
	workers  int
	sleepers []*sleeper
}

type sleeper struct {
	until time.Time
	wake  chan struct{}
}

func newSimClock(t time.Time, workers int) *simClock { return &simClock{now: t, workers: workers} }

func (c *simClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Sleep is Options.Sleep: it returns once the clock reaches now+d.
func (c *simClock) Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	c.mu.Lock()
	s := &sleeper{until: c.now.Add(d), wake: make(chan struct{})}
	c.sleepers = append(c.sleepers, s)
	c.advanceIfIdle()
	c.mu.Unlock()
	<-s.wake
	return ctx.Err()
}

// Done tells the clock a worker has finished.
func (c *simClock) Done() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.workers--
	c.advanceIfIdle()
}

// advanceIfIdle moves to the earliest wake-up when all workers sleep.
// Called with c.mu held.
func (c *simClock) advanceIfIdle() {
	if len(c.sleepers) == 0 || len(c.sleepers) < c.workers {
		return
	}
	next := c.sleepers[0].until
	for _, s := range c.sleepers {
		if s.until.Before(next) {
			next = s.until
		}
	}
	if next.After(c.now) {
		c.now = next
	}
	c.sleepers = slices.DeleteFunc(c.sleepers, func(s *sleeper) bool {
		if s.until.After(c.now) {
			return false
		}
		close(s.wake)
		return true
	})
}

// The spec answers a member removal 200 with the group; some servers
// answer 204 with no body. Either is a success.
func TestEmulatorRemoveMemberEitherStatus(t *testing.T) {
	for _, status := range []int{http.StatusOK, http.StatusNoContent} {
		e, srv := startEmulator(t, baseSeed(), emulator.Options{NoThrottle: true, DeleteMemberStatus: status})
		c := client(t, srv.URL+"/api/v3", adminToken)
		if err := c.RemoveUserGroupMember(context.Background(), 1, 3); err != nil {
			t.Fatalf("%d: %v", status, err)
		}
		g, _ := e.GroupByName("Platform")
		reqs := e.Requests()
		if !slices.Equal(g.UserIDs, []int{2}) || len(reqs) != 1 || reqs[0].Status != status {
			t.Errorf("%d: members %v, requests %+v", status, g.UserIDs, reqs)
		}
	}
}

// A request that never left (nothing listens) is not an API call: the
// report's api_calls counts the calls that may have cost a token.
func TestCallsCountOnlyRequestsThatLeft(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	c := client(t, "http://"+addr+"/api/v3", adminToken, func(o *teams.Options) {
		o.Sleep = func(context.Context, time.Duration) error { return nil } // retries at once
	})
	if _, err := c.Me(context.Background()); err == nil {
		t.Fatal("Me against a closed port: no error")
	}
	if n := c.Calls(); n != 0 {
		t.Errorf("Calls = %d after requests refused before they left, want 0", n)
	}
}

package teams_test

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/syncd/syncd/internal/teams"
	"github.com/syncd/syncd/internal/teams/emulator"
)

// bigSeed is a site of users users and groups groups of size members each.
func bigSeed(users, groups, size int) *emulator.Seed {
	s := &emulator.Seed{
		SMEEnabled: true,
		Tokens:     []emulator.SeedToken{{Token: adminToken, Admin: true, Write: true, UserID: 2}},
	}
	for i := 2; i < users+2; i++ {
		s.Users = append(s.Users, emulator.SeedUser{ID: i, Name: fmt.Sprintf("User %d", i),
			Email: fmt.Sprintf("user%d@example.com", i), Role: "Registered", Reputation: i % 500})
	}
	for g := 1; g <= groups; g++ {
		members := make([]int, size)
		for m := range members {
			members[m] = 2 + (g*size+m)%users
		}
		s.UserGroups = append(s.UserGroups, emulator.SeedGroup{ID: g, Name: fmt.Sprintf("group-%04d", g), UserIDs: members})
	}
	return s
}

// BenchmarkListUsersAndGroups lists 10,000 users and 2,000 groups of 20
// members through the client, over real HTTP, from an emulator that never
// throttles (its headers then announce a full budget, so the client's
// pacing never waits). Each op must take exactly 100 + 20 calls: one per
// page.
func BenchmarkListUsersAndGroups(b *testing.B) {
	const users, groups, members = 10_000, 2_000, 20
	e, err := emulator.New(bigSeed(users, groups, members), emulator.Options{NoThrottle: true})
	if err != nil {
		b.Fatal(err)
	}
	benchmarkListing(b, e, users, groups, members)
}

// BenchmarkListUsersAndGroupsReplay is the same listing with the
// emulator's answers recorded once and replayed as bytes, so time and
// allocations are the client's own (plus the HTTP stack's).
func BenchmarkListUsersAndGroupsReplay(b *testing.B) {
	const users, groups, members = 10_000, 2_000, 20
	e, err := emulator.New(bigSeed(users, groups, members), emulator.Options{NoThrottle: true})
	if err != nil {
		b.Fatal(err)
	}
	benchmarkListing(b, &replay{next: e, answers: map[string]recorded{}}, users, groups, members)
}

type recorded struct {
	header http.Header
	body   []byte
}

// replay serves each URL's first answer again, from memory.
type replay struct {
	mu      sync.Mutex
	next    http.Handler
	answers map[string]recorded
}

func (r *replay) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	a, ok := r.answers[req.URL.RequestURI()]
	r.mu.Unlock()
	if !ok {
		rec := httptest.NewRecorder()
		r.next.ServeHTTP(rec, req)
		a = recorded{header: rec.Header(), body: rec.Body.Bytes()}
		r.mu.Lock()
		r.answers[req.URL.RequestURI()] = a
		r.mu.Unlock()
	}
	maps.Copy(w.Header(), a.header)
	w.Write(a.body)
}

// benchmarkListing lists every user and group through a new client per
// op and checks one call was made per page. One listing before the timed
// loop warms the server (and fills a replay).
func benchmarkListing(b *testing.B, h http.Handler, users, groups, members int) {
	srv := httptest.NewServer(h)
	b.Cleanup(srv.Close)
	listAll(b, srv.URL, users, groups, members)
	var calls int
	b.ReportAllocs()
	for b.Loop() {
		calls = listAll(b, srv.URL, users, groups, members)
	}
	b.ReportMetric(float64(calls), "calls/op")
}

// listAll lists everything once and returns the calls it took.
func listAll(b *testing.B, url string, users, groups, members int) int {
	ctx := context.Background()
	c, err := teams.New(teams.Options{BaseURL: url + "/api/v3", Token: adminToken})
	if err != nil {
		b.Fatal(err)
	}
	us, err := c.ListAccounts(ctx)
	if err != nil {
		b.Fatal(err)
	}
	gs, err := c.ListUserGroups(ctx)
	if err != nil {
		b.Fatal(err)
	}
	if len(us) != users || len(gs) != groups || len(gs[groups-1].Users) != members {
		b.Fatalf("listed %d users and %d groups", len(us), len(gs))
	}
	if want := users/100 + groups/100; c.Calls() != want {
		b.Fatalf("%d calls, want %d (one per page)", c.Calls(), want)
	}
	return c.Calls()
}

package teams_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"testing"

	"github.com/syncd/syncd/internal/teams"
	"github.com/syncd/syncd/internal/teams/teamstest"
)

// bigSeed is a site of users users and groups groups of size members each.
func bigSeed(users, groups, size int) *teamstest.Seed {
	s := &teamstest.Seed{
		SMEEnabled: true,
		Tokens:     []teamstest.SeedToken{{Token: adminToken, Admin: true, Write: true, UserID: 2}},
	}
	for i := 2; i < users+2; i++ {
		s.Users = append(s.Users, teamstest.SeedUser{ID: i, Name: fmt.Sprintf("User %d", i),
			Email: fmt.Sprintf("user%d@example.com", i), Role: "Registered", Reputation: i % 500})
	}
	for g := 1; g <= groups; g++ {
		members := make([]int, size)
		for m := range members {
			members[m] = 2 + (g*size+m)%users
		}
		s.UserGroups = append(s.UserGroups, teamstest.SeedGroup{ID: g, Name: fmt.Sprintf("group-%04d", g), UserIDs: members})
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
	e, err := teamstest.New(bigSeed(users, groups, members), teamstest.Options{NoThrottle: true})
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(e)
	b.Cleanup(srv.Close)
	ctx := context.Background()
	const wantCalls = users/100 + groups/100
	var calls int
	b.ReportAllocs()
	for b.Loop() {
		c, err := teams.New(teams.Options{BaseURL: srv.URL + "/api/v3", Token: adminToken})
		if err != nil {
			b.Fatal(err)
		}
		us, err := c.ListUsers(ctx)
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
		if c.Calls() != wantCalls {
			b.Fatalf("%d calls, want %d (one per page)", c.Calls(), wantCalls)
		}
		calls = c.Calls()
	}
	b.ReportMetric(float64(calls), "calls/op")
}

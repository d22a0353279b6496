package emulator_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"testing"

	"github.com/syncd/syncd/internal/teams/emulator"
)

// BenchmarkListAll pages through 10,000 users and 2,000 groups of 20
// members in-process (Transport), as a sync's read phase does.
func BenchmarkListAll(b *testing.B) {
	seed := &emulator.Seed{Tokens: []emulator.SeedToken{{Token: "t", Admin: true}}}
	for i := 2; i < 10002; i++ {
		seed.Users = append(seed.Users, emulator.SeedUser{ID: i, Name: fmt.Sprint("User ", i), Email: fmt.Sprintf("u%d@example.com", i), Reputation: i % 97})
	}
	for g := 1; g <= 2000; g++ {
		ids := make([]int, 20)
		for j := range ids {
			ids[j] = 2 + (g*20+j)%10000
		}
		seed.UserGroups = append(seed.UserGroups, emulator.SeedGroup{ID: g, Name: fmt.Sprint("Group ", g), UserIDs: ids})
	}
	emu, err := emulator.New(seed, emulator.Options{NoThrottle: true})
	if err != nil {
		b.Fatal(err)
	}
	client := &http.Client{Transport: emu.Transport()}
	list := func(route string) int {
		n := 0
		for page := 1; ; page++ {
			req, _ := http.NewRequest("GET", fmt.Sprintf("http://emu/api/v3%s?pageSize=100&page=%d", route, page), nil)
			req.Header.Set("Authorization", "Bearer t")
			res, err := client.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			var p struct {
				TotalPages int               `json:"totalPages"`
				Items      []json.RawMessage `json:"items"`
			}
			data, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if err := json.Unmarshal(data, &p); err != nil {
				b.Fatal(err)
			}
			n += len(p.Items)
			if page >= p.TotalPages {
				return n
			}
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		if u, g := list("/users"), list("/user-groups"); u != 10000 || g != 2000 {
			b.Fatalf("listed %d users, %d groups", u, g)
		}
	}
	b.ReportMetric(float64(emu.Count("GET", "/users")+emu.Count("GET", "/user-groups"))/float64(b.N), "calls/op")
}

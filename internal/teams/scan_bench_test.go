package teams

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/syncd/syncd/internal/teams/emulator"
)

// groupsPage is the emulator's answer to a page of 100 user groups of
// 100 members each (the page a site of 10,000 groups sends 100 of).
func groupsPage(b *testing.B) []byte {
	seed := &emulator.Seed{Tokens: []emulator.SeedToken{{Token: "t", Admin: true}}}
	for i := range 10_000 {
		seed.Users = append(seed.Users, emulator.SeedUser{ID: 2 + i, Name: fmt.Sprintf("Person %06d", i),
			Email: fmt.Sprintf("u%06d@example.com", i), Role: "Registered"})
	}
	for g := range 100 {
		ids := make([]int, 100)
		for m := range ids {
			ids[m] = 2 + (g*37+m*101)%10_000
		}
		seed.UserGroups = append(seed.UserGroups, emulator.SeedGroup{ID: 1 + g, Name: fmt.Sprintf("Team grp-%05d", g), UserIDs: ids})
	}
	e, err := emulator.New(seed, emulator.Options{NoThrottle: true})
	if err != nil {
		b.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodGet, "/api/v3/user-groups?page=1&pageSize=100", nil)
	req.Header.Set("Authorization", "Bearer t")
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		b.Fatalf("emulator answered %d", rec.Code)
	}
	return rec.Body.Bytes()
}

// BenchmarkReadGroupsPage reads that page as the sync reads it
// (rosters), as UserGroup models, skipped (checked, nothing kept), and,
// for comparison, with
// encoding/json as the client did before its scanner; MB/s is the
// answer's size over the time.
func BenchmarkReadGroupsPage(b *testing.B) {
	page := groupsPage(b)
	b.Run("rosters", func(b *testing.B) {
		var r rosterReader
		benchPage(b, page, func() error {
			var env envelope
			var items []Roster
			return readPage(&env, &items, r.read)(bytes.NewReader(page))
		})
	})
	b.Run("models", func(b *testing.B) {
		benchPage(b, page, func() error {
			var env envelope
			var items []UserGroup
			return readPage(&env, &items, nil)(bytes.NewReader(page))
		})
	})
	b.Run("skipped", func(b *testing.B) { // checked, nothing kept: as a create's answer's members
		benchPage(b, page, func() error {
			s := newScanner(bytes.NewReader(page))
			defer s.release()
			return s.skip()
		})
	})
	b.Run("encoding-json", func(b *testing.B) {
		benchPage(b, page, func() error {
			var p Page[UserGroup]
			return json.NewDecoder(bytes.NewReader(page)).Decode(&p)
		})
	})
}

func benchPage(b *testing.B, page []byte, read func() error) {
	b.SetBytes(int64(len(page)))
	b.ReportAllocs()
	for b.Loop() {
		if err := read(); err != nil {
			b.Fatal(err)
		}
	}
}

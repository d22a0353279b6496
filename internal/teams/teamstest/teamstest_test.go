package teamstest_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/syncd/syncd/internal/teams/emulator"
	"github.com/syncd/syncd/internal/teams/teamstest"
	"github.com/syncd/syncd/internal/teams/teamstest/spectest"
)

func seed() *emulator.Seed {
	return &emulator.Seed{
		Tokens: []emulator.SeedToken{{Token: "admin-token", Admin: true, Write: true, UserID: 2}},
		Users:  []emulator.SeedUser{{ID: 2, Name: "Alice Admin", Email: "alice@example.com", Role: "Admin"}},
	}
}

func TestNewServer(t *testing.T) {
	for _, c := range []struct {
		name  string
		start func(testing.TB, *emulator.Seed, emulator.Options) (*emulator.Emulator, *httptest.Server)
		https bool
	}{
		{"NewServer", teamstest.NewServer, false},
		{"NewTLSServer", teamstest.NewTLSServer, true},
	} {
		emu, srv := c.start(t, seed(), emulator.Options{})
		req, _ := http.NewRequest("GET", srv.URL+"/api/v3/users/me", nil)
		req.Header.Set("Authorization", "Bearer admin-token")
		client := &http.Client{Transport: spectest.Transport(t, srv.Client().Transport)}
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 200 || strings.HasPrefix(srv.URL, "https://") != c.https {
			t.Errorf("%s: %d from %s", c.name, res.StatusCode, srv.URL)
		}
		if emu.Count("GET", "/users/me") != 1 {
			t.Errorf("%s: not counted", c.name)
		}
	}
}

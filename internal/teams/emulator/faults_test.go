package emulator_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/syncd/syncd/internal/teams/emulator"
	"github.com/syncd/syncd/internal/teams/teamstest/spectest"
)

func TestFaultRateAppliesNothing(t *testing.T) {
	e := newEnv(t, nil, emulator.Options{FaultRate: 1, RandSeed: 7})
	before := e.emu.Snapshot()
	seen := map[int]bool{}
	for i := 0; i < 30; i++ {
		r := e.do("POST", "/api/v3/user-groups/1/members", "admin-token", `[3]`)
		switch r.status {
		case 500, 502, 503:
			seen[r.status] = true
		default:
			t.Fatalf("FaultRate 1: status %d", r.status)
		}
		headerInts(t, r)
	}
	if len(seen) != 3 {
		t.Errorf("statuses seen %v, want 500, 502 and 503", seen)
	}
	if !reflect.DeepEqual(before, e.emu.Snapshot()) {
		t.Error("a faulted write was applied")
	}
	e.emu.SetFaults(0, 0)
	e.do("GET", "/api/v3/users/me", "admin-token", "").want(t, 200)
}

func TestFaultRateShare(t *testing.T) {
	e := newEnv(t, nil, emulator.Options{FaultRate: 0.3, RandSeed: 42})
	faults := 0
	const n = 400
	for i := 0; i < n; i++ {
		if r := e.do("GET", "/api/v3/tags", "admin-token", ""); r.status >= 500 {
			faults++
		}
	}
	if faults < n*20/100 || faults > n*40/100 { // deterministic for a given RandSeed
		t.Errorf("%d faults in %d requests at rate 0.3", faults, n)
	}
}

func TestLostResponse(t *testing.T) {
	e := newEnv(t, nil, emulator.Options{LostResponseRate: 1})
	r := e.do("POST", "/api/v3/user-groups", "admin-token", `{"name":"Lost","userIds":[2]}`)
	if r.status != http.StatusBadGateway {
		t.Fatalf("status %d, want 502", r.status)
	}
	g, ok := e.emu.GroupByName("lost")
	if !ok || len(g.UserIDs) != 1 {
		t.Fatalf("the write behind a lost response was not applied: %+v %v", g, ok)
	}
	// Reads are never lost; failed writes stay failed.
	e.do("GET", "/api/v3/user-groups", "admin-token", "").want(t, 200)
	e.do("POST", "/api/v3/user-groups", "reader-token", `{"name":"x"}`).want(t, 403)
	e.emu.SetFaults(0, 0)
	e.do("POST", "/api/v3/user-groups/1/members", "admin-token", `[3]`).want(t, 200)
}

func TestLatency(t *testing.T) {
	const lat = 30 * time.Millisecond
	e := newEnv(t, nil, emulator.Options{Latency: lat})
	start := time.Now()
	e.do("GET", "/api/v3/users/me", "admin-token", "").want(t, 200)
	if d := time.Since(start); d < lat {
		t.Errorf("answered in %v, before the %v latency", d, lat)
	}
	// A client that gives up is not kept waiting.
	emu, err := emulator.New(mustSeed(t), emulator.Options{Latency: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", "http://emulator/api/v3/users/me", nil)
	req.Header.Set("Authorization", "Bearer admin-token")
	done := make(chan error, 1)
	go func() {
		res, err := (&http.Client{Transport: spectest.Transport(t, emu.Transport())}).Do(req)
		if err == nil {
			res.Body.Close()
		}
		done <- err
	}()
	cancel()
	if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled request: %v", err)
	}
}

func TestRequestLogAndCounters(t *testing.T) {
	clock := newClock()
	e := newEnv(t, nil, emulator.Options{Now: clock.Now, NoThrottle: true})
	e.do("GET", "/api/v3/users", "admin-token", "")
	e.do("GET", "/v3/teams/acme/users?page=2", "acme-token", "")
	e.do("GET", "/api/v3/users/me", "admin-token", "")
	e.do("GET", "/api/v3/users/by-email/alice%40example.com", "admin-token", "")
	e.do("POST", "/api/v3/user-groups/1/members", "admin-token", `[3]`)
	e.do("POST", "/api/v3/user-groups/1/members", "reader-token", `[3]`)
	e.do("DELETE", "/api/v3/user-groups/1/members/3", "admin-token", "")
	e.do("DELETE", "/api/v3/tags/1/subject-matter-experts/user-groups/3", "admin-token", "")
	e.do("GET", "/api/v3/nowhere", "admin-token", "")
	for _, c := range []struct {
		method, route string
		want          int
	}{
		{"GET", "/users", 2}, {"", "/users", 2}, {"GET", "/users/me", 1}, {"GET", "/users/{userId}", 0},
		{"GET", "/users/by-email/{email}", 1}, {"POST", "/user-groups/{userGroupId}/members", 2},
		{"delete", "/user-groups/{userGroupId}/members/{userId}", 1},
		{"DELETE", "/tags/{tagId}/subject-matter-experts/user-groups/{userGroupId}", 1}, {"GET", "", 1},
	} {
		if got := e.emu.Count(c.method, c.route); got != c.want {
			t.Errorf("Count(%q, %q) = %d, want %d", c.method, c.route, got, c.want)
		}
	}
	if w := e.emu.WriteCount(); w != 4 {
		t.Errorf("WriteCount %d, want 4 (any status)", w)
	}
	log := e.emu.Requests()
	if len(log) != 9 || log[1].Path != "/v3/teams/acme/users" || log[1].Route != "/users" || log[1].Status != 200 ||
		log[5].Status != 403 || !log[0].Time.Equal(clock.Now()) {
		t.Errorf("log: %+v", log)
	}
	e.emu.ResetLog()
	if len(e.emu.Requests()) != 0 || e.emu.WriteCount() != 0 || e.emu.Count("", "/users") != 0 {
		t.Error("ResetLog left entries")
	}
}

func TestTransport(t *testing.T) {
	emu, err := emulator.New(mustSeed(t), emulator.Options{})
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Transport: spectest.Transport(t, emu.Transport())}
	req, _ := http.NewRequest("POST", "https://emulator.invalid/api/v3/user-groups", strings.NewReader(`{"name":"InProc"}`))
	req.Header.Set("Authorization", "Bearer admin-token")
	req.Header.Set("Content-Type", "application/json")
	res, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 201 || !strings.Contains(string(body), `"name":"InProc"`) || res.Header.Get("x-token-bucket-calls-left") == "" {
		t.Errorf("in-process create: %d %s", res.StatusCode, body)
	}
	if _, ok := emu.GroupByName("InProc"); !ok {
		t.Error("group not created")
	}
}

func TestCORSPreflight(t *testing.T) {
	e := newEnv(t, nil, emulator.Options{})
	req, _ := http.NewRequest("OPTIONS", e.url+"/api/v3/user-groups", nil)
	req.Header.Set("Origin", "https://intranet.example.com")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 204 || res.Header.Get("Access-Control-Allow-Origin") != "*" ||
		!strings.Contains(res.Header.Get("Access-Control-Allow-Headers"), "Authorization") {
		t.Errorf("preflight: %d %v", res.StatusCode, res.Header)
	}
}

// The in-process transport answers as a server would: the status and
// header as written, no body where the handler wrote none.
func TestTransportAnswers(t *testing.T) {
	emu, err := emulator.New(mustSeed(t), emulator.Options{})
	if err != nil {
		t.Fatal(err)
	}
	// Some requests are off the spec on purpose: no spectest here.
	client := &http.Client{Transport: emu.Transport()}
	for _, c := range []struct {
		method, path, token string
		status              int
		contentType, body   string
	}{
		{"DELETE", "/api/v3/tags/1/subject-matter-experts/users/3", "admin-token", 204, "", ""},
		{"GET", "/api/v3/users/me", "", 401, "text/plain; charset=utf-8", "Invalid access token"},
		{"GET", "/api/v3/nowhere", "admin-token", 404, "", ""},
		{"DELETE", "/api/v3/user-groups/1", "admin-token", 405, "", ""},
	} {
		req, _ := http.NewRequest(c.method, "http://emulator"+c.path, nil)
		if c.token != "" {
			req.Header.Set("Authorization", "Bearer "+c.token)
		}
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != c.status || res.Status != fmt.Sprintf("%d %s", c.status, http.StatusText(c.status)) ||
			res.Header.Get("Content-Type") != c.contentType || string(body) != c.body || res.ContentLength != int64(len(body)) {
			t.Errorf("%s %s: %q %v %q (length %d)", c.method, c.path, res.Status, res.Header, body, res.ContentLength)
		}
		if res.Header.Get("x-token-bucket-calls-left") == "" {
			t.Errorf("%s %s: no throttle headers: %v", c.method, c.path, res.Header)
		}
	}
	if allow := emu.Count("DELETE", "/user-groups/{userGroupId}"); allow != 1 {
		t.Errorf("405 not logged: %d", allow)
	}
}

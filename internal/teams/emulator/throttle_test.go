package emulator_test

import (
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/syncd/syncd/internal/teams/emulator"
)

var throttleHeaders = []string{
	"x-burst-throttle-calls-left", "x-burst-throttle-seconds-until-full",
	"x-token-bucket-calls-left", "x-token-bucket-seconds-until-full", "x-token-bucket-seconds-until-next-refill",
}

// headerInts reads the five throttle headers, failing unless each is an
// integer string.
func headerInts(t *testing.T, r resp) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, h := range throttleHeaders {
		v := r.header.Get(h)
		n, err := strconv.Atoi(v)
		if err != nil {
			t.Fatalf("%s = %q: not an integer", h, v)
		}
		out[h] = n
	}
	return out
}

func TestThrottleHeadersOnEveryResponse(t *testing.T) {
	clock := newClock()
	e := newEnv(t, nil, emulator.Options{Now: clock.Now})
	for _, c := range []struct {
		method, path, token, body, contentType string
		status                                 int
	}{
		{"GET", "/api/v3/users", "admin-token", "", "", 200},
		{"POST", "/api/v3/user-groups", "admin-token", `{"name":"x"}`, "application/json", 201},
		{"DELETE", "/api/v3/tags/1/subject-matter-experts/users/4", "admin-token", "", "", 204},
		{"GET", "/api/v3/users?pageSize=7", "admin-token", "", "", 400},
		{"GET", "/api/v3/users", "", "", "", 401},
		{"POST", "/api/v3/user-groups", "reader-token", `{"name":"x"}`, "application/json", 403},
		{"GET", "/api/v3/nothing", "admin-token", "", "", 404},
		{"GET", "/api/v3/users/999", "admin-token", "", "", 404},
		{"DELETE", "/api/v3/user-groups/1", "admin-token", "", "", 405},
		{"POST", "/api/v3/user-groups", "admin-token", `{"name":"x"}`, "text/plain", 415},
		{"GET", "/api/v3/tags/1/subject-matter-experts", "admin-token", "", "", 422}, // SMEs off from here
	} {
		if c.status == 422 {
			e.emu.SetSMEEnabled(false)
		}
		r := e.do(c.method, c.path, c.token, c.body, c.contentType)
		if r.status != c.status {
			t.Errorf("%s %s: %d, want %d", c.method, c.path, r.status, c.status)
		}
		headerInts(t, r)
	}
}

func TestBurstThrottle(t *testing.T) {
	clock := newClock()
	e := newEnv(t, nil, emulator.Options{Now: clock.Now, BurstLimit: 3, BurstWindow: 2 * time.Second})
	for i := 0; i < 3; i++ {
		h := headerInts(t, e.do("GET", "/api/v3/users/me", "admin-token", "").want(t, 200))
		if h["x-burst-throttle-calls-left"] != 2-i || h["x-burst-throttle-seconds-until-full"] != 2 {
			t.Errorf("call %d: %v", i, h)
		}
		if h["x-token-bucket-calls-left"] != 5000-1-i {
			t.Errorf("call %d: bucket %d", i, h["x-token-bucket-calls-left"])
		}
	}
	clock.Advance(500 * time.Millisecond)
	r := e.do("GET", "/api/v3/users/me", "admin-token", "").want(t, 429)
	r.problem(t)
	if ra := r.header.Get("Retry-After"); ra != "2" { // 1.5 s left, rounded up
		t.Errorf("Retry-After %q, want 2", ra)
	}
	if h := headerInts(t, r); h["x-burst-throttle-calls-left"] != 0 || h["x-token-bucket-calls-left"] != 4997 {
		t.Errorf("a rejected call consumed budget: %v", h)
	}
	// Another token has its own budget.
	e.do("GET", "/api/v3/users/me", "reader-token", "").want(t, 200)
	clock.Advance(1500 * time.Millisecond)
	h := headerInts(t, e.do("GET", "/api/v3/users/me", "admin-token", "").want(t, 200))
	if h["x-burst-throttle-calls-left"] != 2 {
		t.Errorf("new window: %v", h)
	}
}

func TestTokenBucket(t *testing.T) {
	clock := newClock()
	e := newEnv(t, nil, emulator.Options{Now: clock.Now, BurstLimit: 1000, BucketSize: 5, RefillAmount: 2, RefillEvery: 10 * time.Second})
	for i := 0; i < 5; i++ {
		e.do("GET", "/api/v3/tags", "admin-token", "").want(t, 200)
	}
	clock.Advance(3 * time.Second)
	r := e.do("GET", "/api/v3/tags", "admin-token", "").want(t, 429)
	h := headerInts(t, r)
	if r.header.Get("Retry-After") != "7" || h["x-token-bucket-calls-left"] != 0 ||
		h["x-token-bucket-seconds-until-next-refill"] != 7 || h["x-token-bucket-seconds-until-full"] != 27 {
		t.Errorf("empty bucket: Retry-After %q, %v", r.header.Get("Retry-After"), h)
	}
	clock.Advance(7 * time.Second)
	h = headerInts(t, e.do("GET", "/api/v3/tags", "admin-token", "").want(t, 200))
	if h["x-token-bucket-calls-left"] != 1 || h["x-token-bucket-seconds-until-next-refill"] != 10 {
		t.Errorf("after one refill: %v", h)
	}
	e.do("GET", "/api/v3/tags", "admin-token", "").want(t, 200)
	e.do("GET", "/api/v3/tags", "admin-token", "").want(t, 429)
	clock.Advance(time.Hour) // refills never overflow the bucket
	h = headerInts(t, e.do("GET", "/api/v3/tags", "admin-token", "").want(t, 200))
	if h["x-token-bucket-calls-left"] != 4 {
		t.Errorf("after an hour: %v", h)
	}
}

// With throttling off the headers still come, announcing a full budget
// on every answer, so a client pacing from them never waits.
func TestNoThrottle(t *testing.T) {
	clock := newClock()
	e := newEnv(t, nil, emulator.Options{Now: clock.Now, BurstLimit: 2, BucketSize: 3, NoThrottle: true})
	for i := 0; i < 5; i++ {
		h := headerInts(t, e.do("GET", "/api/v3/tags", "admin-token", "").want(t, http.StatusOK))
		if h["x-burst-throttle-calls-left"] != 2 || h["x-token-bucket-calls-left"] != 3 {
			t.Errorf("call %d: %v, want the whole budget (burst 2, bucket 3)", i, h)
		}
	}
}

func TestDefaultThrottleNumbers(t *testing.T) {
	clock := newClock()
	e := newEnv(t, nil, emulator.Options{Now: clock.Now, BurstLimit: 0})
	// BurstLimit 0 in newEnv means "defaults"; NoThrottle stays off with a clock.
	var last resp
	for i := 0; i < 50; i++ {
		last = e.do("GET", "/api/v3/tags", "admin-token", "").want(t, 200)
	}
	h := headerInts(t, last)
	if h["x-burst-throttle-calls-left"] != 0 || h["x-token-bucket-calls-left"] != 4950 || h["x-token-bucket-seconds-until-next-refill"] != 60 {
		t.Errorf("defaults after 50 calls: %v", h)
	}
	e.do("GET", "/api/v3/tags", "admin-token", "").want(t, 429)
}

func TestRetryAfterCoversBothLimits(t *testing.T) {
	clock := newClock()
	e := newEnv(t, nil, emulator.Options{Now: clock.Now, BurstLimit: 2, BurstWindow: 2 * time.Second,
		BucketSize: 2, RefillAmount: 1, RefillEvery: 30 * time.Second})
	e.do("GET", "/api/v3/tags", "admin-token", "").want(t, 200)
	e.do("GET", "/api/v3/tags", "admin-token", "").want(t, 200)
	r := e.do("GET", "/api/v3/tags", "admin-token", "").want(t, 429)
	ra, err := strconv.Atoi(r.header.Get("Retry-After"))
	if err != nil || ra != 30 {
		t.Fatalf("Retry-After %q, want 30 (the bucket's refill, later than the burst window)", r.header.Get("Retry-After"))
	}
	clock.Advance(time.Duration(ra) * time.Second)
	e.do("GET", "/api/v3/tags", "admin-token", "").want(t, 200)
}

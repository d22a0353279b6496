package teams

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// flaky answers the first len(statuses) requests with those statuses
// (with extra headers), then 200 with body.
type flaky struct {
	mu       sync.Mutex
	statuses []int
	headers  []http.Header
	body     any
	seen     []string
}

func (f *flaky) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	n := len(f.seen)
	f.seen = append(f.seen, r.Method+" "+r.URL.Path)
	f.mu.Unlock()
	if n < len(f.statuses) {
		if n < len(f.headers) {
			for k, v := range f.headers[n] {
				w.Header()[k] = v
			}
		}
		problem(w, f.statuses[n], http.StatusText(f.statuses[n]), "")
		return
	}
	writeJSON(w, 200, f.body)
}

func TestRetryAfterForms(t *testing.T) {
	fixed := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		name string
		h    http.Header
		want time.Duration
	}{
		{"seconds", http.Header{"Retry-After": {"2"}}, 2 * time.Second},
		{"http date", http.Header{"Retry-After": {fixed.Add(7 * time.Second).Format(http.TimeFormat)}}, 7 * time.Second},
		{"burst headers", http.Header{hBurstLeft: {"0"}, hBurstUntilFull: {"2"}, hBucketLeft: {"40"}}, 3 * time.Second},
		{"bucket headers", http.Header{hBurstLeft: {"3"}, hBucketLeft: {"0"}, hBucketRefill: {"4"}}, 5 * time.Second},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := &flaky{statuses: []int{429}, headers: []http.Header{tc.h}, body: anyAnswer}
			c, rec := newTestClient(t, f, func(o *Options) { o.Now = func() time.Time { return fixed } })
			if _, err := c.Me(context.Background()); err != nil {
				t.Fatal(err)
			}
			// The wait the 429 asked for, and no pacing on top of it.
			if w := rec.Waits(); !slices.Equal(w, []time.Duration{tc.want}) {
				t.Errorf("waits = %v, want [%v]", w, tc.want)
			}
		})
	}
}

func TestRetryWithoutHintBacksOff(t *testing.T) {
	f := &flaky{statuses: []int{429, 503, 502, 504}, body: anyAnswer}
	c, rec := newTestClient(t, f)
	if _, err := c.Me(context.Background()); err != nil {
		t.Fatal(err)
	}
	w := rec.Waits()
	if len(w) != 4 || c.Calls() != 5 {
		t.Fatalf("waits %v, calls %d; want 4 waits and 5 calls", w, c.Calls())
	}
	for i, d := range w {
		top := min(backoffCap, backoffBase<<i)
		if d < top/2 || d > top {
			t.Errorf("wait %d = %v, want within [%v, %v]", i, d, top/2, top)
		}
	}
}

func TestRetriesAreCapped(t *testing.T) {
	f := &flaky{statuses: slices.Repeat([]int{503}, 10), body: anyAnswer}
	c, _ := newTestClient(t, f, func(o *Options) { o.MaxRetries = 2 })
	_, err := c.Me(context.Background())
	if !errors.Is(err, ErrServer) || c.Calls() != 3 {
		t.Fatalf("err = %v after %d calls, want ErrServer after 3", err, c.Calls())
	}
	// Default: 4 retries.
	f = &flaky{statuses: slices.Repeat([]int{503}, 10), body: anyAnswer}
	c, _ = newTestClient(t, f)
	_, _ = c.Me(context.Background())
	if c.Calls() != 5 {
		t.Errorf("default retries: %d calls, want 5", c.Calls())
	}
}

// failFirst answers the first request with a failure (status, or a
// dropped connection when status is 0) and every later one 200 {}. It
// logs each request with the status it got (0: connection dropped).
type failFirst struct {
	mu     sync.Mutex
	status int
	seen   []string
}

func (f *failFirst) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	first := len(f.seen) == 0
	status := http.StatusOK
	if first {
		status = f.status
	}
	f.seen = append(f.seen, fmt.Sprintf("%s %s %d", r.Method, r.URL.Path, status))
	f.mu.Unlock()
	switch {
	case status == 0:
		conn, _, _ := w.(http.Hijacker).Hijack()
		conn.Close()
	case status == http.StatusTooManyRequests:
		w.Header().Set("Retry-After", "1")
		problem(w, status, "Too many requests", "")
	case status != http.StatusOK:
		problem(w, status, http.StatusText(status), "")
	default:
		writeJSON(w, 200, anyAnswer)
	}
}

// TestRetryMatrix runs every operation against every failure: reads, PUTs,
// DELETEs and the POSTs of member and SME id arrays (idempotent in effect)
// are sent again after 429, 500, 502, 503, 504 and a dropped connection,
// never after 400; POST /user-groups is sent again only after a 429
// (rejected before processing), and after an ambiguous failure it lists
// the groups to adopt the group instead.
func TestRetryMatrix(t *testing.T) {
	failures := map[string]int{"429": 429, "502": 502, "503": 503, "504": 504, "dropped connection": 0, "400": 400, "500": 500}
	for _, o := range append(allOps(), createOp()) {
		for name, status := range failures {
			t.Run(o.name+"/"+name, func(t *testing.T) {
				f := &failFirst{status: status}
				hook := &recHook{}
				c, rec := newTestClient(t, f, func(o *Options) { o.Hook = hook })
				c.rememberGroups(map[string][]int{}, nil) // a create's "before" listing is done
				_ = o.run(context.Background(), c)
				first := strings.TrimSuffix(f.seen[0], fmt.Sprintf(" %d", status)) // "METHOD PATH"
				retried := status == 0 || status == 429 || status >= 500
				var want []string
				switch {
				case o.name == "CreateUserGroup" && status == 429:
					want = []string{first + " 429", first + " 200"}
				case o.name == "CreateUserGroup" && status != 400:
					// Ambiguous: maybe created. One POST, then a listing
					// (which finds nothing to adopt).
					want = []string{fmt.Sprintf("%s %d", first, status), "GET /api/v3/user-groups 200"}
				case retried:
					want = []string{fmt.Sprintf("%s %d", first, status), first + " 200"}
				default:
					want = []string{fmt.Sprintf("%s %d", first, status)}
				}
				if !slices.Equal(f.seen, want) {
					t.Errorf("requests %v, want %v", f.seen, want)
				}
				if c.Calls() != len(want) || len(hook.requests) != len(want) {
					t.Errorf("Calls %d, hook saw %d requests, want %d", c.Calls(), len(hook.requests), len(want))
				}
				if !strings.HasSuffix(hook.requests[0], fmt.Sprintf(" %d", status)) {
					t.Errorf("hook reported %q for a %d", hook.requests[0], status)
				}
				waits := rec.Waits()
				switch {
				case status == 429 && !slices.Equal(waits, []time.Duration{time.Second}):
					t.Errorf("waits %v after a 429 with Retry-After 1, want [1s]", waits)
				case status != 429 && len(want) == 2 && want[1] != "GET /api/v3/user-groups 200" &&
					(len(waits) != 1 || waits[0] < backoffBase/2 || waits[0] > backoffBase):
					t.Errorf("waits %v, want one backoff within [%v, %v]", waits, backoffBase/2, backoffBase)
				}
			})
		}
	}
}

// A very long Retry-After is handed back to the caller, not slept through.
func TestLongRetryAfterReturned(t *testing.T) {
	f := &flaky{statuses: []int{429}, headers: []http.Header{{"Retry-After": {"3600"}}}, body: anyAnswer}
	c, rec := newTestClient(t, f)
	_, err := c.Me(context.Background())
	var e *Error
	if !errors.As(err, &e) || !errors.Is(err, ErrRateLimited) || e.RetryAfter != time.Hour {
		t.Fatalf("err = %v", err)
	}
	if !strings.Contains(err.Error(), "429 rate limited") || !strings.Contains(err.Error(), "retry after 1h0m0s") {
		t.Errorf("message = %q", err)
	}
	if len(rec.Waits()) != 0 {
		t.Errorf("slept %v", rec.Waits())
	}
}

// groupServer is a tiny user-group store whose POST /user-groups can be
// told to apply the create and then lose the answer.
type groupServer struct {
	mu         sync.Mutex
	groups     []UserGroup
	createFail int // status answered to POST /user-groups
	apply      bool
	posts      int
}

func (s *groupServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case r.Method == "GET" && strings.HasSuffix(r.URL.Path, "/user-groups"):
		writeJSON(w, 200, Page[UserGroup]{TotalCount: len(s.groups), Page: 1, TotalPages: 1, Items: append([]UserGroup{}, s.groups...)})
	case r.Method == "POST" && strings.HasSuffix(r.URL.Path, "/user-groups"):
		s.posts++
		var req UserGroupRequest
		b, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(b, &req); err != nil {
			problem(w, 400, "bad body", err.Error())
			return
		}
		g := UserGroup{ID: 100 + len(s.groups), Name: req.Name, Users: []UserSummary{}}
		if s.apply {
			s.groups = append(s.groups, g)
		}
		if s.createFail != 0 {
			problem(w, s.createFail, "fail", "")
			return
		}
		writeJSON(w, 201, g)
	default:
		problem(w, 404, "no", r.URL.Path)
	}
}

func TestCreateAdoptsAfterLostAnswer(t *testing.T) {
	s := &groupServer{groups: []UserGroup{{ID: 1, Name: "Other", Users: []UserSummary{}}}, createFail: 502, apply: true}
	c, _ := newTestClient(t, s)
	g, err := c.CreateUserGroup(context.Background(), UserGroupRequest{Name: "Platform"})
	if err != nil {
		t.Fatal(err)
	}
	if g.ID != 101 || g.Name != "Platform" || s.posts != 1 || len(s.groups) != 2 {
		t.Errorf("adopted %+v after %d posts, %d groups; want group 101 from one post", g, s.posts, len(s.groups))
	}
}

// A name the evidence shows, in any case, is not created again.
func TestCreateRefusesExistingName(t *testing.T) {
	s := &groupServer{groups: []UserGroup{{ID: 7, Name: "Platform", Users: []UserSummary{}}, {ID: 9, Name: "PLATFORM", Users: []UserSummary{}}}}
	c, _ := newTestClient(t, s)
	_, err := c.CreateUserGroup(context.Background(), UserGroupRequest{Name: "platform"})
	var e *GroupExistsError
	if !errors.As(err, &e) || !slices.Equal(e.IDs, []int{7, 9}) || s.posts != 0 {
		t.Fatalf("err = %v after %d posts; want ErrGroupExists naming 7 and 9, no post", err, s.posts)
	}
	if want := `teams: create user group "platform": a user group of that name already exists (ids 7, 9)`; err.Error() != want {
		t.Errorf("message %q, want %q", err, want)
	}
}

// A failed create that did not land: nothing to adopt, the error stays
// (the outcome is unknown: it may still land).
func TestCreateNothingToAdopt(t *testing.T) {
	s := &groupServer{createFail: 503}
	c, _ := newTestClient(t, s)
	_, err := c.CreateUserGroup(context.Background(), UserGroupRequest{Name: "Platform"})
	if !errors.Is(err, ErrServer) || !OutcomeUnknown(err) || s.posts != 1 {
		t.Fatalf("err = %v after %d posts; want the 503 after one post", err, s.posts)
	}
}

func TestCreateNotRetriedOnClientError(t *testing.T) {
	s := &groupServer{createFail: 403}
	c, _ := newTestClient(t, s)
	_, err := c.CreateUserGroup(context.Background(), UserGroupRequest{Name: "P"})
	if !errors.Is(err, ErrForbidden) || s.posts != 1 || c.Calls() != 2 {
		t.Fatalf("err = %v, posts %d, calls %d; want 403 after list + one post", err, s.posts, c.Calls())
	}
	if !strings.Contains(err.Error(), "403 forbidden: the token is read-only, or its user is not an admin") {
		t.Errorf("message = %q", err)
	}
}

func TestCreateRetriedOn429(t *testing.T) {
	f := &flaky{statuses: []int{429}, headers: []http.Header{{"Retry-After": {"1"}}}, body: UserGroup{ID: 5, Name: "P"}}
	c, rec := newTestClient(t, f)
	c.rememberGroups(map[string][]int{}, nil) // the engine listed the groups already
	g, err := c.CreateUserGroup(context.Background(), UserGroupRequest{Name: "P"})
	if err != nil || g.ID != 5 {
		t.Fatalf("create = %+v, %v", g, err)
	}
	want := []string{"POST /api/v3/user-groups", "POST /api/v3/user-groups"}
	if !slices.Equal(f.seen, want) || !slices.Equal(rec.Waits(), []time.Duration{time.Second}) {
		t.Errorf("requests %v, waits %v", f.seen, rec.Waits())
	}
}

// A create whose connection breaks after sending is ambiguous too.
func TestCreateAdoptsAfterBrokenConnection(t *testing.T) {
	s := &groupServer{apply: true}
	var once sync.Once
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == "POST" {
			hang := false
			once.Do(func() { hang = true })
			if hang {
				s.ServeHTTP(httptestRecorder{}, r) // applied, answer lost
				conn, _, _ := w.(http.Hijacker).Hijack()
				conn.Close()
				return
			}
		}
		s.ServeHTTP(w, r)
	})
	c, _ := newTestClient(t, h)
	g, err := c.CreateUserGroup(context.Background(), UserGroupRequest{Name: "Data"})
	if err != nil || g.Name != "Data" || s.posts != 1 {
		t.Fatalf("create = %+v, %v, posts %d", g, err, s.posts)
	}
}

// httptestRecorder swallows a response.
type httptestRecorder struct{}

func (httptestRecorder) Header() http.Header         { return http.Header{} }
func (httptestRecorder) Write(b []byte) (int, error) { return len(b), nil }
func (httptestRecorder) WriteHeader(int)             {}

func TestHookCountsCalls(t *testing.T) {
	f := &flaky{statuses: []int{503}, headers: []http.Header{{hBurstLeft: {"30"}, hBucketLeft: {"4000"}}}, body: anyAnswer}
	h := &recHook{}
	c, _ := newTestClient(t, f, func(o *Options) { o.Hook = h })
	if _, err := c.GetUser(context.Background(), 3); err != nil {
		t.Fatal(err)
	}
	want := []string{"GET /users/{userId} 503", "GET /users/{userId} 200"}
	if !slices.Equal(h.requests, want) {
		t.Errorf("hook requests %v, want %v", h.requests, want)
	}
	if !slices.Equal(h.limits, []string{"burst=30", "bucket=4000"}) {
		t.Errorf("hook limits %v", h.limits)
	}
}

type recHook struct {
	mu       sync.Mutex
	requests []string
	limits   []string
	waited   time.Duration
}

func (h *recHook) Request(method, route string, code int, d time.Duration) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.requests = append(h.requests, fmt.Sprintf("%s %s %d", method, route, code))
}

func (h *recHook) ThrottleWait(d time.Duration) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.waited += d
}

func (h *recHook) RateLimit(limiter string, remaining int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.limits = append(h.limits, fmt.Sprintf("%s=%d", limiter, remaining))
}

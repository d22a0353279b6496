package teams

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

const testToken = "tok-5ecret-Abc123"

// sleepRecorder is an injected Options.Sleep that records waits and
// returns at once.
type sleepRecorder struct {
	mu    sync.Mutex
	waits []time.Duration
}

func (s *sleepRecorder) Sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.waits = append(s.waits, d)
	s.mu.Unlock()
	return ctx.Err()
}

func (s *sleepRecorder) Waits() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.waits...)
}

// newTestClient serves h on a real httptest server and returns a client
// for it at base path prefix (default "/api/v3") that never really sleeps.
func newTestClient(t *testing.T, h http.Handler, mod ...func(*Options)) (*Client, *sleepRecorder) {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	rec := &sleepRecorder{}
	o := Options{BaseURL: srv.URL + "/api/v3", Token: testToken, Sleep: rec.Sleep}
	for _, m := range mod {
		m(&o)
	}
	c, err := New(o)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c, rec
}

// anyAnswer is a 200 body every operation can read: a user, a group,
// SMEs and an empty list page at once.
var anyAnswer = map[string]any{"id": 1, "name": "g", "users": []any{}, "userGroups": []any{},
	"items": []any{}, "totalCount": 0, "totalPages": 1}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func problem(w http.ResponseWriter, status int, title, detail string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"type":null,"title":%q,"status":%d,"detail":%q,"instance":null}`, title, status, detail)
}

func TestNewRejectsBadOptions(t *testing.T) {
	cases := []struct{ url, token, want string }{
		{"", "t", "base URL is required"},
		{"ftp://h/api/v3", "t", "scheme"},
		{"https:///api/v3", "t", "no host"},
		{"https://u:p@h/api/v3", "t", "credentials"},
		{"https://h/api/v3?x=1", "t", "query"},
		{"https://h/api/v2", "t", "path must end in"},
		{"https://api.stackoverflowteams.com/v3", "t", "path must end in"},
		{"https://h/api/v3/teams", "t", "path must end in"},
		{"https://h/api/v3", "", "token is required"},
		{"https://h/api/v3", "a\nb", "line break"},
	}
	for _, tc := range cases {
		_, err := New(Options{BaseURL: tc.url, Token: tc.token})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New(%q, %q) = %v, want error containing %q", tc.url, tc.token, err, tc.want)
		}
	}
}

func TestBaseURLFormsBuildPaths(t *testing.T) {
	forms := []string{"/v3/teams/acme", "/api/v3", "/api/v3/teams/acme", "/proxy/api/v3/"}
	for _, prefix := range forms {
		t.Run(prefix, func(t *testing.T) {
			var got []string
			h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				got = append(got, r.Method+" "+r.URL.EscapedPath()+"?"+r.URL.RawQuery)
				switch {
				case strings.HasSuffix(r.URL.Path, "/by-external-id/x y"):
					writeJSON(w, 200, []User{})
				case r.Method == "GET" && strings.HasSuffix(r.URL.Path, "/tags"):
					writeJSON(w, 200, Page[Tag]{Page: 1, TotalPages: 1, TotalCount: 1, Items: []Tag{{ID: 3, Name: "Go"}}})
				case r.Method == "DELETE":
					w.WriteHeader(http.StatusNoContent)
				default:
					writeJSON(w, 200, anyAnswer)
				}
			})
			c, _ := newTestClient(t, h, func(o *Options) { o.BaseURL = strings.TrimSuffix(o.BaseURL, "/api/v3") + prefix })
			ctx := context.Background()
			mustNoErr(t, func() error { _, err := c.GetUser(ctx, 7); return err }())
			mustNoErr(t, func() error { _, err := c.UserByEmail(ctx, "a.b+c@example.com"); return err }())
			mustNoErr(t, func() error { _, err := c.UsersByExternalID(ctx, "x y"); return err }())
			mustNoErr(t, c.RemoveUserGroupMember(ctx, 4, 9))
			mustNoErr(t, c.RemoveSMEGroup(ctx, 3, 4))
			mustNoErr(t, func() error { _, err := c.FindTag(ctx, "go"); return err }())
			p := strings.TrimSuffix(prefix, "/")
			want := []string{
				"GET " + p + "/users/7?",
				"GET " + p + "/users/by-email/a.b%2Bc@example.com?",
				"GET " + p + "/users/by-external-id/x%20y?",
				"DELETE " + p + "/user-groups/4/members/9?",
				"DELETE " + p + "/tags/3/subject-matter-experts/user-groups/4?",
				"GET " + p + "/tags?page=1&pageSize=100&partialName=go",
			}
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("requests:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
		})
	}
}

func mustNoErr(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestRequestHeaders(t *testing.T) {
	var hdr http.Header
	var body string
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hdr = r.Header.Clone()
		b, _ := io.ReadAll(r.Body)
		body = string(b)
		writeJSON(w, 200, map[string][]any{"users": {}, "userGroups": {}})
	})
	c, _ := newTestClient(t, h)
	if _, err := c.ReplaceSMEs(context.Background(), 1, SMERequest{}); err != nil {
		t.Fatal(err)
	}
	if got, want := hdr.Get("Authorization"), "Bearer "+testToken; got != want {
		t.Errorf("Authorization = %q, want %q", got, want)
	}
	if got := hdr.Get("User-Agent"); !strings.HasPrefix(got, "syncd/") {
		t.Errorf("User-Agent = %q, want syncd/<version>", got)
	}
	if got := hdr.Get("Content-Type"); got != "application/json" {
		t.Errorf("Content-Type = %q", got)
	}
	// A full replacement sends empty lists, never null.
	if want := `{"userIds":[],"userGroupIds":[]}`; body != want {
		t.Errorf("body = %s, want %s", body, want)
	}

	c, _ = newTestClient(t, h, func(o *Options) { o.UserAgent = "acme-sync/2" })
	if _, err := c.GetSMEs(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	if got := hdr.Get("User-Agent"); got != "acme-sync/2" {
		t.Errorf("custom User-Agent = %q", got)
	}
}

func TestContextCancelStopsCall(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	})
	c, _ := newTestClient(t, h)
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(20 * time.Millisecond); cancel() }()
	_, err := c.Me(ctx)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if c.Calls() != 1 {
		t.Errorf("calls = %d, want 1 (a cancelled call is not retried)", c.Calls())
	}
}

func TestPerAttemptTimeoutIsRetried(t *testing.T) {
	var mu sync.Mutex
	n := 0
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		n++
		first := n == 1
		mu.Unlock()
		if first {
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
			return
		}
		writeJSON(w, 200, User{UserSummary: UserSummary{ID: 1}})
	})
	c, rec := newTestClient(t, h, func(o *Options) { o.Timeout = 50 * time.Millisecond })
	u, err := c.Me(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if u.ID != 1 || c.Calls() != 2 || len(rec.Waits()) != 1 {
		t.Errorf("user %d, calls %d, waits %v; want user 1 after one timeout and one backoff", u.ID, c.Calls(), rec.Waits())
	}
}

package teams

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
)

// op is one client operation, for tables over every method.
type op struct {
	name  string
	write bool
	sme   bool
	run   func(ctx context.Context, c *Client) error
}

func allOps() []op {
	return []op{
		{"ListAccounts", false, false, func(ctx context.Context, c *Client) error { _, err := c.ListAccounts(ctx); return err }},
		{"GetUser", false, false, func(ctx context.Context, c *Client) error { _, err := c.GetUser(ctx, 2); return err }},
		{"Me", false, false, func(ctx context.Context, c *Client) error { _, err := c.Me(ctx); return err }},
		{"UserByEmail", false, false, func(ctx context.Context, c *Client) error { _, err := c.UserByEmail(ctx, "a@x.io"); return err }},
		{"UsersByExternalID", false, false, func(ctx context.Context, c *Client) error { _, err := c.UsersByExternalID(ctx, "e1"); return err }},
		{"ListUserGroups", false, false, func(ctx context.Context, c *Client) error { _, err := c.ListUserGroups(ctx); return err }},
		{"GetUserGroup", false, false, func(ctx context.Context, c *Client) error { _, err := c.GetUserGroup(ctx, 1); return err }},
		{"ReplaceUserGroup", true, false, func(ctx context.Context, c *Client) error {
			_, err := c.ReplaceUserGroup(ctx, 1, UserGroupRequest{Name: "g"})
			return err
		}},
		{"AddUserGroupMembers", true, false, func(ctx context.Context, c *Client) error {
			_, err := c.AddUserGroupMembers(ctx, 1, []int{2})
			return err
		}},
		{"RemoveUserGroupMember", true, false, func(ctx context.Context, c *Client) error { return c.RemoveUserGroupMember(ctx, 1, 2) }},
		{"FindTag", false, false, func(ctx context.Context, c *Client) error { _, err := c.FindTag(ctx, "go"); return err }},
		{"GetTag", false, false, func(ctx context.Context, c *Client) error { _, err := c.GetTag(ctx, 1); return err }},
		{"GetSMEs", false, true, func(ctx context.Context, c *Client) error { _, err := c.GetSMEs(ctx, 1); return err }},
		{"ReplaceSMEs", true, true, func(ctx context.Context, c *Client) error { _, err := c.ReplaceSMEs(ctx, 1, SMERequest{}); return err }},
		{"AddSMEUsers", true, true, func(ctx context.Context, c *Client) error { _, err := c.AddSMEUsers(ctx, 1, []int{2}); return err }},
		{"AddSMEGroups", true, true, func(ctx context.Context, c *Client) error { _, err := c.AddSMEGroups(ctx, 1, []int{1}); return err }},
		{"RemoveSMEUser", true, true, func(ctx context.Context, c *Client) error { return c.RemoveSMEUser(ctx, 1, 2) }},
		{"RemoveSMEGroup", true, true, func(ctx context.Context, c *Client) error { return c.RemoveSMEGroup(ctx, 1, 1) }},
	}
}

func TestErrorMapping(t *testing.T) {
	cases := []struct {
		status  int
		plain   string // text/plain body when set, else ProblemDetails
		kind    error
		message string // in Error() for writes (SME writes for 422)
	}{
		{401, "Invalid access token", ErrUnauthorized, "401 token invalid or expired: Invalid access token"},
		{403, "", ErrForbidden, "403 forbidden: the token is read-only, or its user is "},
		{404, "", ErrNotFound, "404 not found: Inadequate permissions"},
		{422, "", ErrSMEDisabled, "422 SMEs are not enabled on this site"},
		{400, "", ErrBadRequest, "400 bad request"},
		{500, "oops", ErrServer, "500 server error: oops"},
	}
	for _, tc := range cases {
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if tc.plain != "" {
				w.Header().Set("Content-Type", "text/plain")
				w.WriteHeader(tc.status)
				fmt.Fprint(w, tc.plain)
				return
			}
			problem(w, tc.status, "Forbidden", "Inadequate permissions")
		})
		c, _ := newTestClient(t, h, func(o *Options) { o.MaxRetries = -1 })
		for _, o := range allOps() {
			err := o.run(context.Background(), c)
			want := tc.kind
			if tc.status == 422 && !o.sme {
				want = ErrBadRequest
			}
			if !errors.Is(err, want) {
				t.Errorf("%d %s: err = %v, want kind %v", tc.status, o.name, err, want)
				continue
			}
			var apiErr *Error
			if !errors.As(err, &apiErr) || apiErr.Status != tc.status {
				t.Errorf("%d %s: err %v is not an *Error with that status", tc.status, o.name, err)
			}
			if o.write && (tc.status != 422 || o.sme) && !strings.Contains(err.Error(), tc.message) {
				t.Errorf("%d %s: message %q lacks %q", tc.status, o.name, err, tc.message)
			}
			// A 403 on a write says which role the token's user needs.
			role := "the token's user must be an admin"
			if o.sme {
				role = "neither an admin nor a moderator"
			}
			if tc.status == 403 && o.write && !strings.Contains(err.Error(), role) {
				t.Errorf("403 %s: message %q lacks %q", o.name, err, role)
			}
		}
	}
}

func TestProblemDetailsParsed(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		problem(w, 404, "Not Found", "User group not found")
	})
	c, _ := newTestClient(t, h)
	_, err := c.GetUserGroup(context.Background(), 9)
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("err = %T %v", err, err)
	}
	if e.Problem == nil || *e.Problem.Title != "Not Found" || *e.Problem.Detail != "User group not found" || *e.Problem.Status != 404 {
		t.Fatalf("problem = %+v", e.Problem)
	}
	want := "teams: GET /user-groups/{userGroupId}: 404 not found: User group not found"
	if err.Error() != want {
		t.Errorf("Error() = %q, want %q", err, want)
	}
	// A 403 on a read does not blame the token's write scope.
	h2 := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { problem(w, 403, "Forbidden", "") })
	c, _ = newTestClient(t, h2)
	_, err = c.UserByEmail(context.Background(), "a@b.c")
	if !errors.Is(err, ErrForbidden) || !strings.Contains(err.Error(), "403 forbidden: Forbidden") {
		t.Errorf("read 403: %v", err)
	}
}

func TestErrorBodyIsCapped(t *testing.T) {
	big := strings.Repeat("é", 5000) // 10 KB of two-byte runes
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(400)
		fmt.Fprint(w, big)
	})
	c, _ := newTestClient(t, h)
	_, err := c.Me(context.Background())
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("err = %v", err)
	}
	if len(e.Body) > maxErrorBody+len("…") || len(e.Body) < maxErrorBody-4 {
		t.Errorf("body is %d bytes, want about %d", len(e.Body), maxErrorBody)
	}
	if !strings.HasPrefix(big, strings.TrimSuffix(e.Body, "…")) || len(err.Error()) > 2*maxErrorBody {
		t.Errorf("body not cut on a rune boundary or error too long (%d)", len(err.Error()))
	}
}

// A token echoed across the cut of the error body is redacted whole, not
// left with its first characters before the cut.
func TestTokenAcrossBodyCapIsRedacted(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(400)
		fmt.Fprint(w, strings.Repeat("x", maxErrorBody-20)+" you sent "+r.Header.Get("Authorization"))
	})
	c, _ := newTestClient(t, h)
	_, err := c.Me(context.Background())
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("err = %v", err)
	}
	if strings.Contains(e.Body, "Bearer "+testToken[:3]) || !strings.Contains(e.Body, "Bearer "+redacted[:3]) {
		t.Errorf("the token's start survived the cut, or the echo was lost: %q", e.Body[len(e.Body)-40:])
	}
}

// A body past the answer limit is an error naming the limit, not a memory
// exhaustion; on a write it is also unconfirmed (the write was accepted).
func TestHugeResponseBodyRefused(t *testing.T) {
	const limit = 4 << 20
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"id":1,"name":"`)
		chunk := strings.Repeat("a", 1<<20)
		for i := 0; i <= limit>>20; i++ {
			if _, err := fmt.Fprint(w, chunk); err != nil {
				return
			}
		}
		fmt.Fprint(w, `"}`)
	})
	c, _ := newTestClient(t, h, func(o *Options) { o.MaxResponseBytes = limit })
	_, err := c.Me(context.Background())
	var tl *TooLargeError
	if !errors.As(err, &tl) || !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "larger than 4 MiB") ||
		!strings.Contains(err.Error(), "Options.MaxResponseBytes") {
		t.Errorf("err = %v, want a TooLargeError naming 4 MiB", err)
	}
	if c.Calls() != 1 {
		t.Errorf("%d calls: a too large answer is not asked for again", c.Calls())
	}
	_, err = c.AddUserGroupMembers(context.Background(), 1, []int{2})
	if !errors.Is(err, ErrTooLarge) || !errors.Is(err, ErrUnconfirmed) || !OutcomeUnknown(err) {
		t.Errorf("write: err = %v, want too large and unconfirmed", err)
	}
}

// An answer of exactly the limit is read.
func TestAnswerOfExactlyTheLimit(t *testing.T) {
	body := `{"id":7,"name":"` + strings.Repeat("b", 1000) + `"}`
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, body) })
	c, _ := newTestClient(t, h, func(o *Options) { o.MaxResponseBytes = int64(len(body)) })
	if u, err := c.Me(context.Background()); err != nil || u.ID != 7 {
		t.Fatalf("Me = %+v, %v", u, err)
	}
	c, _ = newTestClient(t, h, func(o *Options) { o.MaxResponseBytes = int64(len(body)) - 1 })
	if _, err := c.Me(context.Background()); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("one byte over: err = %v", err)
	}
}

// The token never appears in an error, even when a server echoes it.
func TestTokenNeverInErrors(t *testing.T) {
	echo := func(status int, problemJSON bool) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			auth := r.Header.Get("Authorization")
			if problemJSON {
				problem(w, status, "bad token "+auth, "you sent "+auth)
				return
			}
			w.Header().Set("Content-Type", "text/plain")
			w.WriteHeader(status)
			fmt.Fprintf(w, "Invalid access token: %s", auth)
		})
	}
	var handlers []http.Handler
	for _, s := range []int{400, 401, 403, 404, 422, 429, 500, 502} {
		handlers = append(handlers, echo(s, false), echo(s, true))
	}
	// A server that hangs up: a transport error.
	handlers = append(handlers, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hj, _ := w.(http.Hijacker)
		conn, _, _ := hj.Hijack()
		conn.Close()
	}))
	for i, h := range handlers {
		c, _ := newTestClient(t, h, func(o *Options) { o.MaxRetries = 1 })
		for _, o := range append(allOps(), createOp()) {
			err := o.run(context.Background(), c)
			if err == nil {
				t.Fatalf("handler %d %s: no error", i, o.name)
			}
			assertNoToken(t, err)
		}
	}
	// And in errors about the options.
	_, err := New(Options{BaseURL: "https://h/v3", Token: testToken})
	assertNoToken(t, err)
}

func createOp() op {
	return op{"CreateUserGroup", true, false, func(ctx context.Context, c *Client) error {
		_, err := c.CreateUserGroup(ctx, UserGroupRequest{Name: "g"})
		return err
	}}
}

func assertNoToken(t *testing.T, err error) {
	t.Helper()
	var texts []string
	for e := err; e != nil; e = errors.Unwrap(e) {
		texts = append(texts, e.Error(), fmt.Sprintf("%+v", e))
		if apiErr, ok := e.(*Error); ok {
			texts = append(texts, fmt.Sprintf("%+v", *apiErr), apiErr.Body)
			if p := apiErr.Problem; p != nil {
				texts = append(texts, fmt.Sprint(deref(p.Title), deref(p.Detail)))
			}
		}
	}
	for _, s := range texts {
		if strings.Contains(s, testToken) {
			t.Fatalf("token in error text %q", s)
		}
	}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func TestTransportErrorWrapped(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	rec := &sleepRecorder{}
	c, err := New(Options{BaseURL: url + "/api/v3", Token: testToken, Sleep: rec.Sleep, MaxRetries: 2})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.GetTag(context.Background(), 1)
	// Three attempts (two waits between them), none of them an API call:
	// nothing listens.
	if err == nil || !strings.Contains(err.Error(), "GET /tags/{tagId}") || len(rec.Waits()) != 2 || c.Calls() != 0 {
		t.Fatalf("err = %v after %d waits and %d calls; want a wrapped transport error after 2 and 0", err, len(rec.Waits()), c.Calls())
	}
	assertNoToken(t, err)
}

// A redirect is not followed: the token would go along with it.
func TestRedirectNotFollowed(t *testing.T) {
	followed := false
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { followed = true }))
	t.Cleanup(target.Close)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target.URL+r.URL.Path, http.StatusMovedPermanently)
	})
	c, _ := newTestClient(t, h)
	_, err := c.Me(context.Background())
	if err == nil || followed {
		t.Errorf("redirect: err %v, followed %v; want an error and no request to the target", err, followed)
	}
}

// TestUnknownUsers: which ids of a refused write may not exist. A 404 may
// be about any of them; a 400 only about those it names beside "user".
func TestUnknownUsers(t *testing.T) {
	detail := func(s string) *ProblemDetails { return &ProblemDetails{Detail: &s} }
	sent := []int{13, 20, 130}
	for _, tt := range []struct {
		name string
		err  error
		want []int
	}{
		{"404", &Error{Status: 404, Kind: ErrNotFound}, sent},
		{"400 naming one user", &Error{Status: 400, Kind: ErrBadRequest, Problem: detail("User 13 not found")}, []int{13}},
		{"400 naming two in its body", fmt.Errorf("put: %w", &Error{Status: 400, Kind: ErrBadRequest, Body: `{"detail":"Users 20, 130 do not exist"}`}), []int{20, 130}},
		{"400 about something else", &Error{Status: 400, Kind: ErrBadRequest, Problem: detail("The name must be at most 13 characters")}, nil},
		{"400 naming no sent id", &Error{Status: 400, Kind: ErrBadRequest, Problem: detail("User 7 not found")}, nil},
		{"500", &Error{Status: 500, Kind: ErrServer, Problem: detail("User 13 not found")}, nil},
		{"not an API error", errors.New("User 13 not found"), nil},
	} {
		if got := UnknownUsers(tt.err, sent); !slices.Equal(got, tt.want) {
			t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
		}
	}
}

package spectest_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/syncd/syncd/internal/teams/teamstest/spectest"
)

// recordingTB collects Errorf calls instead of failing the test, so the
// validator's own reports can be asserted.
type recordingTB struct {
	testing.TB
	mu   sync.Mutex
	errs []string
}

func (r *recordingTB) Helper() {}

func (r *recordingTB) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

func (r *recordingTB) reports() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.Join(r.errs, "\n")
}

// fixed answers every request with the same status, content type and body.
func fixed(status int, contentType, body string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if contentType != "" {
			w.Header().Set("Content-Type", contentType)
		}
		w.WriteHeader(status)
		io.WriteString(w, body)
	})
}

const goodGroup = `{"id":1,"name":"Platform","description":"","users":[{"id":2,"accountId":null,"name":"A",` +
	`"avatarUrl":"https://x/a.png","webUrl":"https://x/users/2","reputation":1,"role":"Registered"}]}`

// exchange sends one request through the wrapped handler and returns what
// the validator reported.
func exchange(t *testing.T, strict bool, h http.Handler, method, path, contentType, body string) string {
	t.Helper()
	rec := &recordingTB{TB: t}
	var wrapped http.Handler
	if strict {
		wrapped = spectest.Wrap(rec, h)
	} else {
		wrapped = spectest.WrapResponses(rec, h)
	}
	srv := httptest.NewServer(wrapped)
	defer srv.Close()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, srv.URL+path, rd)
	req.Header.Set("Authorization", "Bearer t")
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return rec.reports()
}

func TestValidExchangesPass(t *testing.T) {
	cases := []struct {
		method, path, ct, body string
		h                      http.Handler
	}{
		{"GET", "/api/v3/user-groups/1", "", "", fixed(200, "application/json; charset=utf-8", goodGroup)},
		{"GET", "/v3/teams/acme/user-groups/1", "", "", fixed(200, "application/json", goodGroup)},
		{"GET", "/api/v3/teams/acme/user-groups/1", "", "", fixed(200, "application/json", goodGroup)},
		{"POST", "/api/v3/user-groups", "application/json-patch+json", `{"name":"x","userIds":[2]}`, fixed(201, "application/json", goodGroup)},
		{"POST", "/api/v3/user-groups/1/members", "application/json", `[2,3]`, fixed(200, "application/json", goodGroup)},
		{"POST", "/api/v3/user-groups/1/members", "text/json", `[2]`, fixed(200, "application/json", goodGroup)},
		{"POST", "/api/v3/user-groups/1/members", "application/vnd.example+json", `[2]`, fixed(200, "application/json", goodGroup)},
		{"GET", "/api/v3/users?page=1&pageSize=100", "", "", fixed(200, "application/json",
			`{"totalCount":0,"pageSize":100,"page":1,"totalPages":1,"sort":"reputation","order":"desc","items":[]}`)},
		{"GET", "/api/v3/users", "", "", fixed(401, "text/plain", "Invalid access token")},
		{"GET", "/api/v3/user-groups/1", "", "", fixed(404, "application/json", `{"type":null,"title":"Not found","status":404,"detail":"x","instance":"/"}`)},
		{"GET", "/api/v3/users", "", "", fixed(429, "application/json", `{"title":"Too many requests","status":429,"traceId":"extra members are allowed"}`)},
		{"DELETE", "/api/v3/tags/1/subject-matter-experts/users/2", "", "", fixed(204, "", "")},
	}
	for _, c := range cases {
		if got := exchange(t, true, c.h, c.method, c.path, c.ct, c.body); got != "" {
			t.Errorf("%s %s: unexpected reports:\n%s", c.method, c.path, got)
		}
	}
}

// TestCatchesInventedField proves the conformance tests can fail: a group
// with a memberCount (which the spec does not have) is reported.
func TestCatchesInventedField(t *testing.T) {
	bad := strings.Replace(goodGroup, `"id":1,`, `"id":1,"memberCount":1,`, 1)
	got := exchange(t, false, fixed(200, "application/json", bad), "GET", "/api/v3/user-groups/1", "", "")
	if !strings.Contains(got, "memberCount") || !strings.Contains(got, "GET /api/v3/user-groups/1") {
		t.Errorf("invented field not reported; reports:\n%s", got)
	}
}

func TestCatchesWrongResponses(t *testing.T) {
	cases := []struct {
		name, method, path, want string
		h                        http.Handler
	}{
		{"wrong type", "GET", "/api/v3/user-groups/1", "response 200",
			fixed(200, "application/json", `{"id":"one","name":"x","description":"","users":[]}`)},
		{"paging envelope extra", "GET", "/api/v3/tags", "has_more",
			fixed(200, "application/json", `{"totalCount":0,"pageSize":15,"page":1,"totalPages":1,"sort":"name","order":"asc","items":[],"has_more":false}`)},
		{"bad sort value", "GET", "/api/v3/tags", "response 200",
			fixed(200, "application/json", `{"totalCount":0,"pageSize":15,"page":1,"totalPages":1,"sort":"size","order":"asc","items":[]}`)},
		{"401 as JSON", "GET", "/api/v3/users", "401",
			fixed(401, "application/json", `{"title":"Unauthorized","status":401}`)},
		{"undeclared 429 not ProblemDetails", "GET", "/api/v3/users", "429",
			fixed(429, "application/json", `{"status":"slow down"}`)},
		{"undeclared 404 as text", "PUT", "/api/v3/user-groups/1", "404",
			fixed(404, "text/plain", `no`)},
		{"200 for a missing operation", "DELETE", "/api/v3/user-groups/1", "spec does not have",
			fixed(200, "application/json", goodGroup)},
		{"user email as number", "GET", "/api/v3/users/me", "email",
			fixed(200, "application/json", `{"id":2,"email":5}`)},
	}
	for _, c := range cases {
		got := exchange(t, false, c.h, c.method, c.path, "", "")
		if !strings.Contains(got, c.want) {
			t.Errorf("%s: want a report containing %q; got:\n%s", c.name, c.want, got)
		}
	}
}

func TestRequestChecks(t *testing.T) {
	ok := fixed(400, "application/json", `{"title":"Invalid request","status":400}`)
	cases := []struct{ method, path, ct, body, want string }{
		{"GET", "/api/v3/users?pageSize=7", "", "", "pageSize"},
		{"GET", "/api/v3/users?page=0", "", "", "page"},
		{"POST", "/api/v3/user-groups", "application/json", `{"description":"no name"}`, "name"},
		{"POST", "/api/v3/user-groups/1/members", "application/json", `["2"]`, "request"},
		{"POST", "/api/v3/user-groups", "text/plain", `{"name":"x"}`, "request"},
		// Bodies in every accepted media type are checked, not skipped.
		{"POST", "/api/v3/user-groups", "application/json-patch+json", `{"description":"no name"}`, "name"},
		{"POST", "/api/v3/user-groups", "text/json", `{"name":7}`, "name"},
		{"POST", "/api/v3/user-groups/1/members", "application/vnd.example+json", `{"userIds":[2]}`, "request"},
		{"DELETE", "/api/v3/user-groups/1", "", "", "no such operation"},
		{"GET", "/api/v2.3/users", "", "", "base URL"},
	}
	for _, c := range cases {
		got := exchange(t, true, ok, c.method, c.path, c.ct, c.body)
		if !strings.Contains(got, c.want) {
			t.Errorf("%s %s (Wrap): want a report containing %q; got:\n%s", c.method, c.path, c.want, got)
		}
		if c.want == "no such operation" || c.want == "base URL" {
			continue
		}
		if got := exchange(t, false, ok, c.method, c.path, c.ct, c.body); got != "" {
			t.Errorf("%s %s (WrapResponses): reported a request problem:\n%s", c.method, c.path, got)
		}
	}
}

func TestSpecPathFromEnv(t *testing.T) {
	p := spectest.SpecPath(t)
	t.Setenv("SYNCD_OPENAPI", p)
	if got := spectest.SpecPath(t); got != p {
		t.Errorf("SpecPath with SYNCD_OPENAPI: %q", got)
	}
}

func TestCheck(t *testing.T) {
	req := httptest.NewRequest("GET", "/v3/teams/acme/user-groups/1", nil)
	req.Header.Set("Authorization", "Bearer t")
	h := http.Header{"Content-Type": {"application/json"}}
	if got := spectest.Check(t, req, nil, 200, h, []byte(goodGroup), true); len(got) != 0 {
		t.Errorf("valid exchange: %v", got)
	}
	got := spectest.Check(t, req, nil, 200, h, []byte(`{"id":1,"memberCount":3}`), true)
	if len(got) != 1 || !strings.Contains(got[0], "memberCount") {
		t.Errorf("invented field: %v", got)
	}
}

// TestTransport: a client-side wrapper reports what Wrap would.
func TestTransport(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == "GET" {
			fixed(200, "application/json", goodGroup).ServeHTTP(w, r)
			return
		}
		fixed(200, "application/json", `{"id":1,"memberCount":3}`).ServeHTTP(w, r)
	}))
	defer srv.Close()
	rec := &recordingTB{TB: t}
	client := &http.Client{Transport: spectest.Transport(rec, http.DefaultTransport)}
	do := func(method, path string, body io.Reader) string {
		req, _ := http.NewRequest(method, srv.URL+path, body)
		req.Header.Set("Authorization", "Bearer t")
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		data, _ := io.ReadAll(res.Body)
		return string(data)
	}
	if body := do("GET", "/api/v3/user-groups/1", nil); body != goodGroup || rec.reports() != "" {
		t.Errorf("valid exchange: body %q, reports %q", body, rec.reports())
	}
	do("POST", "/api/v3/user-groups/1/members", strings.NewReader(`[2]`))
	if r := rec.reports(); !strings.Contains(r, "POST /api/v3/user-groups/1/members") || !strings.Contains(r, "memberCount") {
		t.Errorf("invented field not reported: %q", r)
	}
	do("POST", "/api/v3/user-groups/1/members", strings.NewReader(`{"userIds":[2]}`))
	if r := rec.reports(); !strings.Contains(r, "request:") {
		t.Errorf("invalid request body not reported: %q", r)
	}
}

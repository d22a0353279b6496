package emulator_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/syncd/syncd/internal/teams/emulator"
	"github.com/syncd/syncd/internal/teams/teamstest/spectest"
)

// fakeClock is an injectable clock that only moves when told.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock {
	return &fakeClock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func mustSeed(tb testing.TB) *emulator.Seed {
	tb.Helper()
	s, err := emulator.LoadSeed("testdata/seed.json")
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// env is an emulator behind a real HTTP server, every response of which
// is validated against openapi.json.
type env struct {
	t   *testing.T
	emu *emulator.Emulator
	url string // server root, no base path
}

func newEnv(t *testing.T, seed *emulator.Seed, o emulator.Options) *env {
	t.Helper()
	if seed == nil {
		seed = mustSeed(t)
	}
	if o.Now == nil && !o.NoThrottle && o.BurstLimit == 0 {
		o.NoThrottle = true // throttling has its own tests
	}
	emu, err := emulator.New(seed, o)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(spectest.WrapResponses(t, emu))
	t.Cleanup(srv.Close)
	return &env{t: t, emu: emu, url: srv.URL}
}

type resp struct {
	status int
	header http.Header
	body   []byte
}

func (r resp) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

// problem decodes a ProblemDetails body and checks its status member.
func (r resp) problem(t *testing.T) problemDetails {
	t.Helper()
	var p problemDetails
	r.decode(t, &p)
	if p.Status != r.status || p.Title == "" {
		t.Errorf("problem details %s: want status %d and a title", r.body, r.status)
	}
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("problem Content-Type %q", ct)
	}
	return p
}

type problemDetails struct {
	Type, Title, Detail, Instance string
	Status                        int
}

// do sends one request; path is relative to the server root, base form
// included ("/api/v3/users"). A body is sent as application/json unless
// contentType says otherwise.
func (e *env) do(method, path, token, body string, contentType ...string) resp {
	e.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, e.url+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if len(contentType) > 0 {
		if contentType[0] != "" {
			req.Header.Set("Content-Type", contentType[0])
		}
	} else if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp{status: res.StatusCode, header: res.Header, body: data}
}

// want fails the test unless the response has the status.
func (r resp) want(t *testing.T, status int) resp {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d; body %s", r.status, status, r.body)
	}
	return r
}

// Response shapes as the spec names them (decoded strictly in tests).
type userSummary struct {
	ID         int    `json:"id"`
	AccountID  *int   `json:"accountId"`
	Name       string `json:"name"`
	AvatarURL  string `json:"avatarUrl"`
	WebURL     string `json:"webUrl"`
	Reputation int    `json:"reputation"`
	Role       string `json:"role"`
}

type user struct {
	userSummary
	ExternalID *string `json:"externalId"`
	Email      *string `json:"email"`
}

type group struct {
	ID          int           `json:"id"`
	Name        string        `json:"name"`
	Description string        `json:"description"`
	Users       []userSummary `json:"users"`
}

type tag struct {
	ID                       int    `json:"id"`
	Name                     string `json:"name"`
	SubjectMatterExpertCount *int   `json:"subjectMatterExpertCount"`
	SubjectMatterExperts     *smes  `json:"subjectMatterExperts"`
	PostCount                int    `json:"postCount"`
}

type smes struct {
	Users      []userSummary `json:"users"`
	UserGroups []group       `json:"userGroups"`
}

type page[T any] struct {
	TotalCount int    `json:"totalCount"`
	PageSize   int    `json:"pageSize"`
	Page       int    `json:"page"`
	TotalPages int    `json:"totalPages"`
	Sort       string `json:"sort"`
	Order      string `json:"order"`
	Items      []T    `json:"items"`
}

func memberIDs(g group) []int {
	ids := make([]int, 0, len(g.Users))
	for _, u := range g.Users {
		ids = append(ids, u.ID)
	}
	return ids
}

func summaryIDs(us []userSummary) []int {
	ids := make([]int, 0, len(us))
	for _, u := range us {
		ids = append(ids, u.ID)
	}
	return ids
}

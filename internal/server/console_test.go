package server_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/syncd/syncd/internal/daemon"
	"github.com/syncd/syncd/internal/report"
	"github.com/syncd/syncd/internal/server"
	"github.com/syncd/syncd/internal/state"
	engine "github.com/syncd/syncd/internal/sync"
)

const heldID = "3a29a11f2e96"

// fakeConsole is the daemon's state with one run that held Victor's
// removal, and an explainer that answers from a table.
type fakeConsole struct {
	store *state.Store
	busy  bool
}

func newFakeConsole(t *testing.T) (*fakeConsole, *report.Report) {
	t.Helper()
	rep := sampleReport()
	rep.RunID = "20261128T120000Z-0a1b2c3d"
	rep.Changes = append(rep.Changes, report.Change{Kind: report.KindRemoveMembers, Group: "Platform", Status: report.StatusHeld,
		ID: heldID, Reason: "1 removal in this run exceeds max_removals 0", Users: []report.User{{ID: 23, Email: "victor@example.com", Name: "Victor Lane"}}})
	rep.Summary.ChangesHeld = 1
	s := state.Memory()
	data, _ := json.Marshal(rep)
	if err := s.AddReport(rep.StartedAt, data); err != nil {
		t.Fatal(err)
	}
	if err := s.AddRun(state.Run{RunID: rep.RunID, StartedAt: rep.StartedAt, FinishedAt: rep.FinishedAt, Mode: "apply", ExitCode: 4,
		Summary: map[string]int{"changes_applied": 1, "changes_planned": 1, "changes_held": 1, "api_calls": 7}}); err != nil {
		t.Fatal(err)
	}
	return &fakeConsole{store: s}, rep
}

func (c *fakeConsole) Store() *state.Store { return c.store }
func (c *fakeConsole) Target() string      { return "site" }
func (c *fakeConsole) Explain(_ context.Context, email string) (*engine.Explanation, error) {
	if c.busy {
		return nil, daemon.ErrBusy
	}
	return &engine.Explanation{Email: email, TeamsID: 17, Match: "matched by e-mail",
		Entries: []engine.ExplainEntry{{Target: `user group "Platform"`, Should: true, Via: []string{"corp: platform"}, IsMember: true, Next: "nothing"}}}, nil
}

// consoleServer serves a console as if on listen, with token.
func consoleServer(t *testing.T, listen, token string) (*fakeConsole, *server.Server, string) {
	t.Helper()
	c, rep := newFakeConsole(t)
	s, err := server.New(server.Options{Logger: zap.NewNop(), Gatherer: prometheus.NewRegistry(), Scheduler: &fakeScheduler{latest: rep},
		Listen: listen, SyncToken: token, Console: c, Pprof: true})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	return c, s, ts.URL
}

// browser is an HTTP client with a cookie jar that does not follow
// redirects, as a page's forms are checked one step at a time.
func browser(t *testing.T) *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func send(t *testing.T, c *http.Client, method, u string, form url.Values, header map[string]string) (int, http.Header, string) {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(data)
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func csrfOf(t *testing.T, page string) string {
	t.Helper()
	m := csrfField.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no CSRF token on the page:\n%s", page)
	}
	return m[1]
}

// TestConsoleOnLoopback: without a token on loopback the console opens,
// shows the held change with its Approve button, and its form approves
// it only with the page's CSRF token and the browser's cookie, and never
// for a request another site sent.
func TestConsoleOnLoopback(t *testing.T) {
	c, _, ts := consoleServer(t, "127.0.0.1:9184", "")
	b := browser(t)
	code, hdr, page := send(t, b, "GET", ts+"/", nil, nil)
	if code != 200 || !strings.Contains(page, heldID) || !strings.Contains(page, `name="id" value="`+heldID+`"`) {
		t.Fatalf("GET / = %d; want the console with the held change and its Approve button:\n%s", code, page)
	}
	for _, want := range []string{"Victor Lane", "new.hire@example.com", "20261128T120000Z-0a1b2c3d", "1 applied, 1 held", "<label for=\"email\">"} {
		if !strings.Contains(page, want) {
			t.Errorf("the console lacks %q", want)
		}
	}
	if csp := hdr.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") || strings.Contains(csp, "script-src") {
		t.Errorf("CSP %q: want no script and no framing", csp)
	}
	token := csrfOf(t, page)
	approve := url.Values{"csrf": {token}, "id": {heldID}, "ttl": {"4h"}}

	if code, _, _ := send(t, browser(t), "POST", ts+"/console/approve", approve, nil); code != http.StatusForbidden {
		t.Errorf("approve from a browser without the console's cookie = %d, want 403", code)
	}
	if code, _, _ := send(t, b, "POST", ts+"/console/approve", url.Values{"id": {heldID}}, nil); code != http.StatusForbidden {
		t.Errorf("approve without the form token = %d, want 403", code)
	}
	if code, _, _ := send(t, b, "POST", ts+"/console/approve", approve, map[string]string{"Sec-Fetch-Site": "cross-site"}); code != http.StatusForbidden {
		t.Errorf("approve sent by another site = %d, want 403", code)
	}
	if got := c.store.Approvals(time.Now()); len(got) != 0 {
		t.Fatalf("refused requests approved %v", got)
	}
	code, hdr, _ = send(t, b, "POST", ts+"/console/approve", approve, map[string]string{"Sec-Fetch-Site": "same-origin"})
	if code != http.StatusSeeOther || !strings.Contains(hdr.Get("Location"), "approved="+heldID) {
		t.Fatalf("approve = %d to %q, want 303 back to the console", code, hdr.Get("Location"))
	}
	a, ok := c.store.Approvals(time.Now())[heldID]
	if !ok || !strings.HasPrefix(a.By, "web console") || a.Target != "site" || a.Expires.Sub(a.At) != 4*time.Hour {
		t.Errorf("approval %+v: want one by the web console for 4h", a)
	}
	_, _, page = send(t, b, "GET", ts+"/?approved="+heldID+",ffffffffffff", nil, nil)
	if !strings.Contains(page, "Approved "+heldID+". The next run that applies") || strings.Contains(page, "ffffffffffff") {
		t.Errorf("the page after approving does not say what was approved (and only that)")
	}
	if code, _, page := send(t, b, "POST", ts+"/console/approve", url.Values{"csrf": {token}, "id": {"0123456789ab"}}, nil); code != 404 ||
		!strings.Contains(page, "Nothing approved") {
		t.Errorf("approve an unknown id = %d, want 404 and the console saying so", code)
	}
}

// TestConsoleSignIn: with a sync token a browser signs in once and gets
// an HttpOnly, SameSite=Strict session cookie that opens the console and
// the report, not POST /sync, POST /approve or the profiler (they keep to
// the bearer token), and that a rotated token ends.
func TestConsoleSignIn(t *testing.T) {
	_, s, ts := consoleServer(t, "0.0.0.0:9184", "s3cret-token")
	b := browser(t)
	code, _, page := send(t, b, "GET", ts+"/", nil, nil)
	if code != http.StatusUnauthorized || !strings.Contains(page, `<label for="token">Sync token</label>`) || strings.Contains(page, "Victor") {
		t.Fatalf("GET / signed out = %d; want 401 and the sign-in form only:\n%s", code, page)
	}
	if code, _, page := send(t, b, "POST", ts+"/login", url.Values{"token": {"wrong"}}, nil); code != http.StatusUnauthorized ||
		!strings.Contains(page, "not the sync token") {
		t.Errorf("wrong token = %d", code)
	}
	if code, _, _ := send(t, b, "POST", ts+"/login", url.Values{"token": {"s3cret-token"}}, map[string]string{"Sec-Fetch-Site": "cross-site"}); code != http.StatusForbidden {
		t.Errorf("sign-in posted by another site = %d, want 403", code)
	}
	code, hdr, _ := send(t, b, "POST", ts+"/login", url.Values{"token": {"s3cret-token"}}, map[string]string{"X-Forwarded-Proto": "https"})
	cookie := hdr.Get("Set-Cookie")
	if code != http.StatusSeeOther || !strings.Contains(cookie, "syncd_session=") || !strings.Contains(cookie, "HttpOnly") ||
		!strings.Contains(cookie, "SameSite=Strict") || !strings.Contains(cookie, "Secure") || strings.Contains(cookie, "s3cret") {
		t.Fatalf("sign in = %d, Set-Cookie %q: want an HttpOnly, SameSite=Strict, Secure session without the token", code, cookie)
	}
	// The jar keeps Secure cookies for https only; hand the cookie over.
	session := strings.SplitN(strings.TrimPrefix(cookie, "syncd_session="), ";", 2)[0]
	withSession := map[string]string{"Cookie": "syncd_session=" + session}
	if code, _, page := send(t, b, "GET", ts+"/", nil, withSession); code != 200 || !strings.Contains(page, "Victor Lane") || !strings.Contains(page, "Sign out") {
		t.Errorf("GET / signed in = %d, want the console", code)
	}
	if code, _, _ := send(t, b, "GET", ts+"/reports/latest?format=json", nil, withSession); code != 200 {
		t.Errorf("the report with a session = %d, want 200", code)
	}
	for _, path := range []string{"/debug/pprof/heap", "/debug/pprof/goroutine?debug=2"} {
		if code, _, _ := send(t, b, "GET", ts+path, nil, withSession); code != http.StatusUnauthorized {
			t.Errorf("GET %s with a session cookie only = %d, want 401 (the profiler keeps to the bearer token)", path, code)
		}
	}
	for _, path := range []string{"/sync", "/approve"} {
		if code, _, _ := send(t, b, "POST", ts+path, nil, map[string]string{"Cookie": withSession["Cookie"], "Content-Type": "application/json"}); code != http.StatusUnauthorized {
			t.Errorf("POST %s with a session cookie only = %d, want 401 (the bearer token is needed)", path, code)
		}
	}
	forged := map[string]string{"Cookie": "syncd_session=99999999999." + strings.Repeat("A", 43)}
	if code, _, _ := send(t, b, "GET", ts+"/", nil, forged); code != http.StatusUnauthorized {
		t.Errorf("forged session = %d, want 401", code)
	}
	s.SetSyncToken("rotated-token")
	if code, _, _ := send(t, b, "GET", ts+"/", nil, withSession); code != http.StatusUnauthorized {
		t.Errorf("session after the token was rotated = %d, want 401", code)
	}
}

// TestConsoleOffLoopbackWithoutToken: the console is off and says why,
// naming nobody.
func TestConsoleOffLoopbackWithoutToken(t *testing.T) {
	_, _, ts := consoleServer(t, "0.0.0.0:9184", "")
	code, _, page := send(t, browser(t), "GET", ts+"/", nil, nil)
	if code != http.StatusForbidden || !strings.Contains(page, "server.sync_token_file") || strings.Contains(page, "victor") {
		t.Errorf("GET / = %d:\n%s", code, page)
	}
}

// TestApproveAPI: POST /approve takes {"ids": [...]} or {"all": true},
// with the rules of POST /sync.
func TestApproveAPI(t *testing.T) {
	c, _, ts := consoleServer(t, "0.0.0.0:9184", "s3cret-token")
	post := func(body, token string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest("POST", ts+"/approve", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		data, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(data)
	}
	if code, _ := post(`{"ids":["`+heldID+`"]}`, ""); code != http.StatusUnauthorized {
		t.Errorf("without the token = %d, want 401", code)
	}
	for body, want := range map[string]int{`{"ids":["0123456789ab"]}`: 404, `{"ids":[]}`: 400, `{"all":true,"ids":["x"]}`: 400,
		`not json`: 400, `{"ids":["` + heldID + `"],"ttl":"30d"}`: 400, `{"id":"x"}`: 400} {
		if code, msg := post(body, "s3cret-token"); code != want {
			t.Errorf("%s = %d %q, want %d", body, code, msg, want)
		}
	}
	code, body := post(`{"ids":["`+heldID+`"],"ttl":"2h"}`, "s3cret-token")
	var out struct {
		Approved []state.Approval `json:"approved"`
	}
	if err := json.Unmarshal([]byte(body), &out); code != 200 || err != nil || len(out.Approved) != 1 || out.Approved[0].ID != heldID {
		t.Fatalf("approve = %d %s", code, body)
	}
	if a := c.store.Approvals(time.Now())[heldID]; !strings.HasPrefix(a.By, "POST /approve from ") || a.Expires.Sub(a.At) != 2*time.Hour {
		t.Errorf("recorded %+v", a)
	}
	if code, _ := post(`{"all":true}`, "s3cret-token"); code != 200 {
		t.Errorf("all = %d", code)
	}
}

func TestConsoleExplain(t *testing.T) {
	c, _, ts := consoleServer(t, "127.0.0.1:9184", "")
	b := browser(t)
	code, _, page := send(t, b, "GET", ts+"/explain?email=ada%40example.com", nil, nil)
	if code != 200 || !strings.Contains(page, `class="explained"`) || !strings.Contains(page, "corp: platform") {
		t.Errorf("explain = %d:\n%s", code, page)
	}
	if code, _, _ := send(t, b, "GET", ts+"/explain?email=ada%40example.com", nil, map[string]string{"Sec-Fetch-Site": "cross-site"}); code != 403 {
		t.Errorf("explain started by another site's page = %d, want 403", code)
	}
	if code, _, page := send(t, b, "GET", ts+"/explain?email=not+an+address", nil, nil); code != 400 || !strings.Contains(page, "not an e-mail address") {
		t.Errorf("explain a non-address = %d", code)
	}
	c.busy = true
	if code, _, page := send(t, b, "GET", ts+"/explain?email=ada%40example.com", nil, nil); code != 409 || !strings.Contains(page, "A sync run is going") {
		t.Errorf("explain during a run = %d", code)
	}
}

// applyingScheduler is a daemon in the middle of a long apply.
type applyingScheduler struct {
	fakeScheduler
	progress engine.Progress
}

func (a *applyingScheduler) Running() bool                     { return true }
func (a *applyingScheduler) Progress() (engine.Progress, bool) { return a.progress, true }

// TestConsoleShowsProgress: while a run applies, the console says how far
// it is and about how long is left, once the run has an estimate.
func TestConsoleShowsProgress(t *testing.T) {
	c, rep := newFakeConsole(t)
	sched := &applyingScheduler{fakeScheduler: fakeScheduler{latest: rep}, progress: engine.Progress{Done: 12, Total: 8050}}
	s, err := server.New(server.Options{Logger: zap.NewNop(), Gatherer: prometheus.NewRegistry(), Scheduler: sched,
		Listen: "127.0.0.1:9184", Console: c})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	if _, _, page := send(t, browser(t), "GET", ts.URL+"/", nil, nil); !strings.Contains(page, "A sync run is going now: 12 of 8050 user groups and tags done. ") {
		t.Errorf("before an estimate, the page says:\n%s", page)
	}
	sched.progress = engine.Progress{Done: 1430, Total: 8050, Left: 33*time.Minute + 10*time.Second}
	if _, _, page := send(t, browser(t), "GET", ts.URL+"/", nil, nil); !strings.Contains(page, "A sync run is going now: 1430 of 8050 user groups and tags done, about 33 min left. ") {
		t.Errorf("with an estimate, the page says:\n%s", page)
	}
}

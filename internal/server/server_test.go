package server_test

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	gosync "sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/syncd/syncd/internal/daemon"
	"github.com/syncd/syncd/internal/metrics"
	"github.com/syncd/syncd/internal/report"
	"github.com/syncd/syncd/internal/server"
)

// fakeScheduler stands in for the daemon: Trigger starts a "run" that
// lasts until finish is called.
type fakeScheduler struct {
	mu       gosync.Mutex
	running  chan struct{}
	triggers int
	ready    bool
	why      string
	latest   *report.Report
	next     *report.Report // becomes latest when the run finishes
}

func (f *fakeScheduler) Trigger() (<-chan struct{}, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.running != nil {
		return nil, daemon.ErrBusy
	}
	f.triggers++
	f.running = make(chan struct{})
	return f.running, nil
}

func (f *fakeScheduler) finish() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.next != nil {
		f.latest = f.next
	}
	close(f.running)
	f.running = nil
}

// finishOnceTriggered waits for a run to start and ends it.
func (f *fakeScheduler) finishOnceTriggered() {
	for {
		f.mu.Lock()
		running := f.running != nil
		f.mu.Unlock()
		if running {
			f.finish()
			return
		}
		time.Sleep(time.Millisecond)
	}
}

func (f *fakeScheduler) finishIfRunning() {
	f.mu.Lock()
	running := f.running != nil
	f.mu.Unlock()
	if running {
		f.finish()
	}
}

func (f *fakeScheduler) Ready() (bool, string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.ready, f.why
}

func (f *fakeScheduler) Latest() *report.Report {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.latest
}

func sampleReport() *report.Report {
	at := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	return &report.Report{
		Mode: report.ModeApply, StartedAt: at, FinishedAt: at.Add(3 * time.Second),
		Summary: report.Summary{SourceGroups: 2, ChangesPlanned: 1, ChangesApplied: 1, APICalls: 7},
		Changes: []report.Change{{Kind: report.KindAddMembers, Group: "Platform",
			Users: []report.User{{ID: 17, Email: "ada@example.com", Name: "Ada"}}, Status: report.StatusApplied}},
		Pending: []report.Pending{{Email: "new.hire@example.com", Groups: []string{"Platform"}}},
	}
}

// newServer serves on a loopback listen address, where the token is optional.
func newServer(t *testing.T, f *fakeScheduler, token string) *httptest.Server {
	t.Helper()
	ts, _, _ := newServerAt(t, f, "127.0.0.1:9184", token)
	return ts
}

// newServerAt builds a server as if it listened on listen (the test server
// itself is always on loopback: the rules follow server.listen).
func newServerAt(t *testing.T, f *fakeScheduler, listen, token string) (*httptest.Server, *server.Server, *metrics.Metrics) {
	t.Helper()
	return newServerWith(t, f, listen, token)
}

// newServerWith is newServerAt with any scheduler.
func newServerWith(t *testing.T, f server.Scheduler, listen, token string) (*httptest.Server, *server.Server, *metrics.Metrics) {
	t.Helper()
	reg := prometheus.NewRegistry()
	m, err := metrics.New(reg, "v9.9.9")
	if err != nil {
		t.Fatal(err)
	}
	s, err := server.New(server.Options{Logger: zap.NewNop(), Gatherer: reg, Scheduler: f, Listen: listen, SyncToken: token,
		Handlers: map[string]http.Handler{"/scim/test/v2/": http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			io.WriteString(w, "scim here")
		})}})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	return ts, s, m
}

func do(t *testing.T, method, url, token string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if method == http.MethodPost {
		req.Header.Set("Content-Type", "application/json") // as the documented clients send it
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(body)
}

func TestHealthAndReadiness(t *testing.T) {
	f := &fakeScheduler{ready: true}
	ts := newServer(t, f, "")
	if code, _, body := do(t, "GET", ts.URL+"/healthz", ""); code != 200 || !strings.Contains(body, "ok") {
		t.Errorf("/healthz = %d %q, want 200 ok", code, body)
	}
	if code, _, _ := do(t, "GET", ts.URL+"/readyz", ""); code != 200 {
		t.Errorf("/readyz when ready = %d, want 200", code)
	}
	f.ready, f.why = false, "the Teams token was rejected"
	code, _, body := do(t, "GET", ts.URL+"/readyz", "")
	if code != 503 || !strings.Contains(body, "token was rejected") {
		t.Errorf("/readyz when not ready = %d %q, want 503 with the reason", code, body)
	}
	if code, _, _ := do(t, "GET", ts.URL+"/healthz", ""); code != 200 {
		t.Errorf("/healthz when not ready = %d, want 200 (alive all the same)", code)
	}
}

func TestMetricsEndpoint(t *testing.T) {
	ts := newServer(t, &fakeScheduler{}, "")
	code, hdr, body := do(t, "GET", ts.URL+"/metrics", "")
	if code != 200 || !strings.HasPrefix(hdr.Get("Content-Type"), "text/plain") {
		t.Fatalf("/metrics = %d %s", code, hdr.Get("Content-Type"))
	}
	for _, want := range []string{`syncd_build_info{version="v9.9.9"} 1`, `syncd_runs_total{result="success"} 0`} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if code, _, _ := do(t, "POST", ts.URL+"/metrics", ""); code != http.StatusMethodNotAllowed {
		t.Errorf("POST /metrics = %d, want 405", code)
	}
}

func TestLatestReport(t *testing.T) {
	f := &fakeScheduler{}
	ts := newServer(t, f, "")
	if code, _, _ := do(t, "GET", ts.URL+"/reports/latest", ""); code != 404 {
		t.Errorf("/reports/latest before any run = %d, want 404", code)
	}
	f.latest = sampleReport()

	code, hdr, body := do(t, "GET", ts.URL+"/reports/latest", "")
	if code != 200 || !strings.HasPrefix(hdr.Get("Content-Type"), "text/html") {
		t.Fatalf("/reports/latest = %d %s, want 200 HTML", code, hdr.Get("Content-Type"))
	}
	if !strings.Contains(body, "ada@example.com") || !strings.Contains(body, "new.hire@example.com") {
		t.Error("HTML report lacks the change's user or the pending person")
	}

	code, hdr, body = do(t, "GET", ts.URL+"/reports/latest?format=json", "")
	if code != 200 || hdr.Get("Content-Type") != "application/json" {
		t.Fatalf("?format=json = %d %s", code, hdr.Get("Content-Type"))
	}
	var got map[string]any
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatalf("JSON report: %v", err)
	}
	for _, key := range []string{"mode", "started_at", "finished_at", "summary", "changes", "pending", "errors"} {
		if _, ok := got[key]; !ok {
			t.Errorf("JSON report lacks contract key %q", key)
		}
	}
	if got["mode"] != "apply" || got["summary"].(map[string]any)["api_calls"] != 7.0 {
		t.Errorf("JSON report = %v", got)
	}
	if code, _, _ := do(t, "GET", ts.URL+"/reports/latest?format=pdf", ""); code != 400 {
		t.Errorf("?format=pdf = %d, want 400", code)
	}
	if code, hdr, _ := do(t, "GET", ts.URL+"/reports/latest?format=markdown", ""); code != 200 || !strings.HasPrefix(hdr.Get("Content-Type"), "text/markdown") {
		t.Errorf("?format=markdown = %d %s", code, hdr.Get("Content-Type"))
	}
}

func TestSyncNowAndConflict(t *testing.T) {
	f := &fakeScheduler{}
	ts := newServer(t, f, "")
	if code, _, _ := do(t, "POST", ts.URL+"/sync", ""); code != http.StatusAccepted {
		t.Fatalf("POST /sync = %d, want 202", code)
	}
	if code, _, body := do(t, "POST", ts.URL+"/sync", ""); code != http.StatusConflict {
		t.Errorf("POST /sync during a run = %d %q, want 409", code, body)
	}
	if code, _, _ := do(t, "GET", ts.URL+"/sync", ""); code != http.StatusMethodNotAllowed {
		t.Errorf("GET /sync = %d, want 405", code)
	}
	f.finish()
	if code, _, _ := do(t, "POST", ts.URL+"/sync", ""); code != http.StatusAccepted {
		t.Errorf("POST /sync after the run = %d, want 202", code)
	}
	if f.triggers != 2 {
		t.Errorf("runs triggered = %d, want 2", f.triggers)
	}
}

func TestSyncWait(t *testing.T) {
	f := &fakeScheduler{next: sampleReport()}
	ts := newServer(t, f, "")
	go f.finishOnceTriggered()
	code, _, body := do(t, "POST", ts.URL+"/sync?wait=1", "")
	if code != 200 || !strings.Contains(body, `"api_calls": 7`) && !strings.Contains(body, `"api_calls":7`) {
		t.Errorf("POST /sync?wait=1 = %d %q, want 200 with the run's JSON report", code, body)
	}
}

func TestSyncToken(t *testing.T) {
	f := &fakeScheduler{}
	ts := newServer(t, f, "s3cret-token")
	for _, bad := range []string{"", "wrong", "s3cret-token-longer", "s3cret-toke"} {
		code, hdr, body := do(t, "POST", ts.URL+"/sync", bad)
		if code != http.StatusUnauthorized || hdr.Get("WWW-Authenticate") == "" {
			t.Errorf("POST /sync with token %q = %d, want 401 with WWW-Authenticate", bad, code)
		}
		if strings.Contains(body, "s3cret") {
			t.Errorf("401 body reveals the token: %q", body)
		}
	}
	if f.triggers != 0 {
		t.Fatalf("unauthorised requests started %d runs", f.triggers)
	}
	if code, _, _ := do(t, "POST", ts.URL+"/sync", "s3cret-token"); code != http.StatusAccepted {
		t.Errorf("POST /sync with the right token = %d, want 202", code)
	}
	if code, _, _ := do(t, "GET", ts.URL+"/healthz", ""); code != 200 {
		t.Errorf("/healthz needs no token: %d", code)
	}
}

func TestExtraHandlersAndIndex(t *testing.T) {
	ts := newServer(t, &fakeScheduler{}, "")
	if code, _, body := do(t, "GET", ts.URL+"/scim/test/v2/Users", ""); code != 200 || body != "scim here" {
		t.Errorf("mounted handler = %d %q", code, body)
	}
	if code, _, body := do(t, "GET", ts.URL+"/", ""); code != 200 || !strings.Contains(body, "/metrics") {
		t.Errorf("index = %d %q", code, body)
	}
	if code, _, _ := do(t, "GET", ts.URL+"/nope", ""); code != 404 {
		t.Errorf("unknown path = %d, want 404", code)
	}
}

func TestNewChecksOptions(t *testing.T) {
	reg := prometheus.NewRegistry()
	for name, o := range map[string]server.Options{
		"no logger":    {Gatherer: reg, Scheduler: &fakeScheduler{}},
		"no gatherer":  {Logger: zap.NewNop(), Scheduler: &fakeScheduler{}},
		"no scheduler": {Logger: zap.NewNop(), Gatherer: reg},
	} {
		if _, err := server.New(o); err == nil {
			t.Errorf("%s: New succeeded", name)
		}
	}
}

func TestServeTimeoutsAndShutdown(t *testing.T) {
	s, err := server.New(server.Options{Logger: zap.NewNop(), Gatherer: prometheus.NewRegistry(), Scheduler: &fakeScheduler{}})
	if err != nil {
		t.Fatal(err)
	}
	hs := s.HTTPServer()
	if hs.ReadHeaderTimeout <= 0 || hs.ReadTimeout <= 0 || hs.WriteTimeout <= 0 || hs.IdleTimeout <= 0 {
		t.Errorf("server timeouts not all set: %+v", hs)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	if code, _, _ := do(t, "GET", "http://"+ln.Addr().String()+"/healthz", ""); code != 200 {
		t.Errorf("served /healthz = %d", code)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Serve after cancel: %v", err)
	}
	if _, err := http.Get("http://" + ln.Addr().String() + "/healthz"); err == nil {
		t.Error("still serving after shutdown")
	}
}

// lastScheduler is the daemon's side of POST /sync?wait=1: how the run
// that just ended ended.
type lastScheduler struct {
	*fakeScheduler
	last daemon.LastRun
}

func (l lastScheduler) Last() daemon.LastRun { return l.last }

// POST /sync?wait=1 answers with the run's own exit code, and never with
// an older run's report for a run that made none.
func TestSyncWaitSaysHowTheRunEnded(t *testing.T) {
	older := sampleReport()
	for _, tc := range []struct {
		last       daemon.LastRun
		code       int
		exit, said string
	}{
		{last: daemon.LastRun{Report: sampleReport(), ExitCode: 4}, code: 200, exit: "4", said: "held"},
		{last: daemon.LastRun{Report: sampleReport(), ExitCode: 0}, code: 200, exit: "0", said: "success"},
		{last: daemon.LastRun{ExitCode: 1}, code: 500, exit: "1", said: "failure"},
	} {
		f := &fakeScheduler{latest: older}
		s, err := server.New(server.Options{Logger: zap.NewNop(), Gatherer: prometheus.NewRegistry(), Scheduler: lastScheduler{f, tc.last}, Listen: "127.0.0.1:9184"})
		if err != nil {
			t.Fatal(err)
		}
		ts := httptest.NewServer(s.Handler())
		defer ts.Close()
		go f.finishOnceTriggered()
		code, hdr, _ := do(t, "POST", ts.URL+"/sync?wait=1", "")
		if code != tc.code || hdr.Get("Syncd-Exit-Code") != tc.exit || hdr.Get("Syncd-Result") != tc.said {
			t.Errorf("run ending %d: answer %d, Syncd-Exit-Code %q, Syncd-Result %q; want %d, %s, %s",
				tc.last.ExitCode, code, hdr.Get("Syncd-Exit-Code"), hdr.Get("Syncd-Result"), tc.code, tc.exit, tc.said)
		}
	}
}

package server_test

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/syncd/syncd/internal/server"
)

// request sends one request with the given Host and headers.
func request(t *testing.T, method, url, host, body string, hdr map[string]string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if host != "" {
		req.Host = host
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// DNS rebinding: a web page's host name made to resolve to 127.0.0.1 still
// comes as Host. Without a token, a loopback listener serves the report
// and runs only to loopback names; the probes, /metrics and the SCIM
// receiver (its own token) answer any Host.
func TestHostHeaderOnLoopbackWithoutToken(t *testing.T) {
	f := &fakeScheduler{ready: true, latest: sampleReport()}
	ts, _, _ := newServerAt(t, f, "127.0.0.1:9184", "")
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(ts.URL, "http://"))
	jsonCT := map[string]string{"Content-Type": "application/json"}
	for _, host := range []string{"attacker.example", "attacker.example:" + port, "127.0.0.1.nip.io:" + port,
		"localhost.attacker.example", "10.0.0.1:" + port, "[::ffff:10.0.0.1]:" + port, "127.0.0.1:1:2", "0x7f000001", "127.1"} {
		code, body := request(t, "GET", ts.URL+"/reports/latest?format=json", host, "", nil)
		if code != http.StatusMisdirectedRequest || strings.Contains(body, "ada@example.com") || !strings.Contains(body, "sync_token") {
			t.Errorf("GET /reports/latest with Host %q = %d %q, want 421 saying why", host, code, body)
		}
		if code, _ := request(t, "POST", ts.URL+"/sync", host, "", jsonCT); code != http.StatusMisdirectedRequest {
			t.Errorf("POST /sync with Host %q = %d, want 421", host, code)
		}
		if code, _ := request(t, "GET", ts.URL+"/", host, "", nil); code != http.StatusMisdirectedRequest {
			t.Errorf("GET / with Host %q = %d, want 421", host, code)
		}
		for _, open := range []string{"/healthz", "/readyz", "/metrics", "/scim/test/v2/Users"} {
			if code, _ := request(t, "GET", ts.URL+open, host, "", nil); code != 200 {
				t.Errorf("GET %s with Host %q = %d, want 200", open, host, code)
			}
		}
	}
	if f.triggers != 0 {
		t.Fatalf("refused requests started %d runs", f.triggers)
	}
	for _, host := range []string{"localhost:" + port, "LOCALHOST", "localhost.", "127.0.0.1:" + port, "127.9.8.7",
		"[::1]:" + port, "[::1]", "[::ffff:127.0.0.1]:" + port} {
		if code, body := request(t, "GET", ts.URL+"/reports/latest?format=json", host, "", nil); code != 200 || !strings.Contains(body, "ada@example.com") {
			t.Errorf("GET /reports/latest with Host %q = %d, want 200 and the report", host, code)
		}
	}
	// HTTP/1.0 may leave Host out.
	if status := rawRequest(t, ts.Listener.Addr().String(), "GET /reports/latest?format=json HTTP/1.0\r\n\r\n"); !strings.Contains(status, " 421 ") {
		t.Errorf("HTTP/1.0 without Host: %q, want 421", status)
	}
}

// With a token configured the token decides, whatever the Host: a
// reverse proxy in front of a loopback listener keeps working.
func TestHostHeaderWithToken(t *testing.T) {
	f := &fakeScheduler{latest: sampleReport()}
	ts, _, _ := newServerAt(t, f, "127.0.0.1:9184", goodToken)
	auth := map[string]string{"Authorization": "Bearer " + goodToken}
	if code, _ := request(t, "GET", ts.URL+"/reports/latest?format=json", "syncd.example.com", "", auth); code != 200 {
		t.Errorf("with the token and a public Host = %d, want 200", code)
	}
	if code, _ := request(t, "GET", ts.URL+"/reports/latest?format=json", "syncd.example.com", "", nil); code != 401 {
		t.Errorf("without the token = %d, want 401", code)
	}
}

func rawRequest(t *testing.T, addr, req string) string {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	status, _ := bufio.NewReader(c).ReadString('\n')
	return status
}

// A web page in the operator's browser may POST to 127.0.0.1 without
// reading the answer. Each way a browser can send that is refused and
// starts no run; the documented clients still work.
func TestCrossSiteWrites(t *testing.T) {
	f := &fakeScheduler{}
	ts, _, _ := newServerAt(t, f, "127.0.0.1:9184", "")
	self := ts.URL // the Origin of a page served by syncd itself
	for _, tc := range []struct {
		name string
		body string
		hdr  map[string]string
		code int
	}{
		{"form, text/plain, modern browser", "x=1", map[string]string{"Content-Type": "text/plain",
			"Origin": "https://attacker.example", "Sec-Fetch-Site": "cross-site"}, 403},
		{"form, text/plain, browser without Origin", "x=1", map[string]string{"Content-Type": "text/plain"}, 415},
		{"form, urlencoded", "x=1", map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, 415},
		{"form, multipart", "--b--\r\n", map[string]string{"Content-Type": "multipart/form-data; boundary=b"}, 415},
		{"fetch no-cors, no body, old browser", "", nil, 415},
		{"Origin of another site", "", map[string]string{"Content-Type": "application/json", "Origin": "http://attacker.example"}, 403},
		{"Origin of another port", "", map[string]string{"Content-Type": "application/json", "Origin": "http://127.0.0.1:1"}, 403},
		{"Origin null (sandboxed page)", "", map[string]string{"Content-Type": "application/json", "Origin": "null"}, 403},
		{"Sec-Fetch-Site cross-site", "", map[string]string{"Content-Type": "application/json", "Sec-Fetch-Site": "cross-site"}, 403},
		{"Sec-Fetch-Site same-site", "", map[string]string{"Content-Type": "application/json", "Sec-Fetch-Site": "same-site"}, 403},
		{"curl with the documented header", "", map[string]string{"Content-Type": "application/json"}, 202},
		{"JSON with charset", "{}", map[string]string{"Content-Type": "application/json; charset=utf-8"}, 202},
		{"same-origin page", "{}", map[string]string{"Content-Type": "application/json", "Origin": self, "Sec-Fetch-Site": "same-origin"}, 202},
		{"typed by the user (Sec-Fetch-Site none)", "", map[string]string{"Content-Type": "application/json", "Sec-Fetch-Site": "none"}, 202},
	} {
		before := f.triggers
		code, body := request(t, "POST", ts.URL+"/sync", "", tc.body, tc.hdr)
		f.finishIfRunning()
		if code != tc.code {
			t.Errorf("%s: POST /sync = %d %q, want %d", tc.name, code, body, tc.code)
		}
		if started := f.triggers - before; (code == 202) != (started == 1) {
			t.Errorf("%s: answered %d and started %d runs", tc.name, code, started)
		}
		if code == 415 && !strings.Contains(body, "Content-Type: application/json") {
			t.Errorf("%s: 415 %q does not say which header to send", tc.name, body)
		}
	}
}

// With a token configured, the bearer token is what proves the request is
// not a web page's: the browser cannot attach it across sites.
func TestCrossSiteWritesWithToken(t *testing.T) {
	f := &fakeScheduler{}
	ts, _, _ := newServerAt(t, f, "0.0.0.0:9184", goodToken)
	cross := map[string]string{"Content-Type": "text/plain", "Origin": "https://attacker.example", "Sec-Fetch-Site": "cross-site"}
	if code, _ := request(t, "POST", ts.URL+"/sync", "", "x", cross); code != 401 {
		t.Errorf("cross-site form without the token = %d, want 401", code)
	}
	if code, _ := request(t, "POST", ts.URL+"/sync", "", "", map[string]string{"Authorization": "Bearer " + goodToken}); code != 202 {
		t.Errorf("curl -X POST with the token = %d, want 202", code)
	}
}

// serve runs s.Serve, its connection limit included, on a loopback port
// until the test ends, and returns its base URL.
func serve(t *testing.T, s *server.Server) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	t.Cleanup(func() { cancel(); <-done })
	return "http://" + ln.Addr().String()
}

// TestConnectionCap: past MaxConns connections, the next waits until one
// closes instead of being served at once.
func TestConnectionCap(t *testing.T) {
	const maxConns = 3
	entered, release := make(chan struct{}, maxConns), make(chan struct{})
	s, err := server.New(server.Options{Logger: zap.NewNop(), Gatherer: prometheus.NewRegistry(), Scheduler: &fakeScheduler{},
		MaxConns: maxConns, Handlers: map[string]http.Handler{"/hold": http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			entered <- struct{}{}
			<-release
		})}})
	if err != nil {
		t.Fatal(err)
	}
	base := serve(t, s)
	get := func(path string, answered chan<- int) {
		c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
		resp, err := c.Get(base + path)
		if err != nil {
			answered <- 0
			return
		}
		resp.Body.Close()
		answered <- resp.StatusCode
	}
	held := make(chan int, maxConns)
	for range maxConns {
		go get("/hold", held)
	}
	for range maxConns {
		<-entered // every slot is taken by a request in progress
	}
	probe := make(chan int, 1)
	go get("/healthz", probe)
	select {
	case code := <-probe:
		t.Fatalf("request %d was served (%d) while %d connections were open", maxConns+1, code, maxConns)
	case <-time.After(300 * time.Millisecond):
	}
	close(release)
	select {
	case code := <-probe:
		if code != 200 {
			t.Errorf("waiting request = %d, want 200 once a connection closed", code)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("waiting request not served after the others closed")
	}
	for range maxConns {
		if code := <-held; code != 200 {
			t.Errorf("held request = %d", code)
		}
	}
}

// TestIdleConnectionsMakeRoom: connections that made a request and then
// stay open and silent (keep-alive) do not keep the next client out: one
// of them is closed to make room, and its client can still come back.
func TestIdleConnectionsMakeRoom(t *testing.T) {
	const maxConns = 3
	s, err := server.New(server.Options{Logger: zap.NewNop(), Gatherer: prometheus.NewRegistry(), Scheduler: &fakeScheduler{}, MaxConns: maxConns})
	if err != nil {
		t.Fatal(err)
	}
	base := serve(t, s)
	// Each client keeps its own connection open after one request.
	var clients []*http.Client
	get := func(c *http.Client) (int, error) {
		resp, err := c.Get(base + "/healthz")
		if err != nil {
			return 0, err
		}
		defer resp.Body.Close()
		_, err = io.Copy(io.Discard, resp.Body)
		return resp.StatusCode, err
	}
	for range maxConns {
		c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}, Timeout: 5 * time.Second}
		clients = append(clients, c)
		if code, err := get(c); code != 200 {
			t.Fatalf("first requests: %d, %v", code, err)
		}
	}
	probe := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 5 * time.Second}
	for i := range 2 * maxConns {
		if code, err := get(probe); code != 200 {
			t.Fatalf("probe %d with %d idle connections open: %d, %v", i, maxConns, code, err)
		}
	}
	for i, c := range clients {
		if code, err := get(c); code != 200 {
			t.Errorf("client %d coming back: %d, %v", i, code, err)
		}
	}
}

// Another site may not frame the HTML report (a framed report could be
// dressed up to mislead the operator).
func TestReportMayNotBeFramed(t *testing.T) {
	ts := newServer(t, &fakeScheduler{latest: sampleReport()}, "")
	code, hdr, _ := do(t, "GET", ts.URL+"/reports/latest", "")
	if code != 200 || !strings.Contains(hdr.Get("Content-Security-Policy"), "frame-ancestors 'none'") {
		t.Errorf("HTML report = %d, CSP %q, want frame-ancestors 'none'", code, hdr.Get("Content-Security-Policy"))
	}
}

// TestSilentConnectionsMakeRoom: connections opened and never used, as
// fast as the server closes them, do not keep a probe out for the header
// timeout: one silent for a second is closed to make room.
func TestSilentConnectionsMakeRoom(t *testing.T) {
	const maxConns = 3
	s, err := server.New(server.Options{Logger: zap.NewNop(), Gatherer: prometheus.NewRegistry(), Scheduler: &fakeScheduler{}, MaxConns: maxConns})
	if err != nil {
		t.Fatal(err)
	}
	base := serve(t, s)
	addr := strings.TrimPrefix(base, "http://")
	for range maxConns {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
	}
	time.Sleep(100 * time.Millisecond) // accepted, every slot taken
	probe := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 3 * time.Second}
	resp, err := probe.Get(base + "/healthz")
	if err != nil {
		t.Fatalf("probe with %d silent connections open: %v (the header timeout is 5 s)", maxConns, err)
	}
	resp.Body.Close()
}

// A reverse proxy on this host makes every request come from loopback,
// and nginx's proxy_pass sends its upstream's Host (127.0.0.1:PORT):
// without a token, a request carrying a proxy's headers is refused, and
// a public_url naming another host ends the loopback exception.
func TestProxiedRequestsAreNotLocal(t *testing.T) {
	local := newServer(t, &fakeScheduler{latest: sampleReport()}, "")
	for _, h := range []string{"X-Forwarded-For", "Forwarded", "X-Real-IP", "X-Forwarded-Host"} {
		if code, _ := request(t, "GET", local.URL+"/reports/latest", "", "", map[string]string{h: "192.0.2.2"}); code != 403 {
			t.Errorf("report through a proxy (%s) = %d, want 403", h, code)
		}
	}
	if code, _ := request(t, "GET", local.URL+"/reports/latest", "", "", nil); code != 200 {
		t.Errorf("report from this host = %d, want 200", code)
	}
	for publicURL, want := range map[string]int{"https://syncd.example.com": 403, "http://127.0.0.1:9184/": 200, "http://localhost:9184": 200} {
		s, err := server.New(server.Options{Logger: zap.NewNop(), Gatherer: prometheus.NewRegistry(), Scheduler: &fakeScheduler{latest: sampleReport()},
			Listen: "127.0.0.1:9184", PublicURL: publicURL})
		if err != nil {
			t.Fatal(err)
		}
		ts := httptest.NewServer(s.Handler())
		defer ts.Close()
		if code, _ := request(t, "GET", ts.URL+"/reports/latest", "", "", nil); code != want {
			t.Errorf("public_url %s, no token: report = %d, want %d", publicURL, code, want)
		}
		if code, _ := request(t, "POST", ts.URL+"/sync", "", "{}", map[string]string{"Content-Type": "application/json"}); (code == 403) != (want == 403) {
			t.Errorf("public_url %s, no token: POST /sync = %d", publicURL, code)
		}
		if code, _ := request(t, "GET", ts.URL+"/healthz", "", "", nil); code != 200 {
			t.Errorf("public_url %s: /healthz = %d, want 200", publicURL, code)
		}
	}
}

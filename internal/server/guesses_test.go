package server_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/syncd/syncd/internal/server"
)

// clock is a settable clock for the server's ration of wrong tokens.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// TestWrongTokensRationed: after a burst of wrong tokens, through bearer
// headers and the sign-in form alike, tokens are not checked (429 with
// Retry-After, even the right one, which would otherwise tell a guesser it
// had found it) until time has earned another try; requests without a
// token and browsers already signed in are served as before.
func TestWrongTokensRationed(t *testing.T) {
	c, _ := newFakeConsole(t)
	clk := &clock{t: time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)}
	s, err := server.New(server.Options{Logger: zap.NewNop(), Gatherer: prometheus.NewRegistry(), Scheduler: &fakeScheduler{ready: true, latest: sampleReport()},
		Listen: "0.0.0.0:9184", SyncToken: goodToken, Console: c, Now: clk.now})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	b := browser(t)
	login := func(token string) (int, http.Header) {
		code, hdr, _ := send(t, b, "POST", ts.URL+"/login", url.Values{"token": {token}}, nil)
		return code, hdr
	}
	_, hdr := login(goodToken)
	session := map[string]string{"Cookie": strings.SplitN(hdr.Get("Set-Cookie"), ";", 2)[0]}

	for i := range 10 {
		var code int
		if i%2 == 0 {
			code, _, _ = do(t, "GET", ts.URL+"/reports/latest?format=json", "guess-"+string(rune('a'+i)))
		} else {
			code, _ = login("guess-" + string(rune('a'+i)))
		}
		if code != http.StatusUnauthorized {
			t.Fatalf("wrong token %d = %d, want 401", i+1, code)
		}
	}
	for _, try := range []func() (int, http.Header){
		func() (int, http.Header) {
			code, hdr, _ := do(t, "GET", ts.URL+"/reports/latest?format=json", goodToken)
			return code, hdr
		},
		func() (int, http.Header) { return login(goodToken) },
		func() (int, http.Header) { code, hdr, _ := do(t, "POST", ts.URL+"/sync", "guess-k"); return code, hdr },
	} {
		if code, hdr := try(); code != http.StatusTooManyRequests || hdr.Get("Retry-After") != "6" {
			t.Errorf("a token after 10 wrong ones = %d, Retry-After %q; want 429, 6", code, hdr.Get("Retry-After"))
		}
	}
	if code, _, _ := do(t, "GET", ts.URL+"/reports/latest?format=json", ""); code != http.StatusUnauthorized {
		t.Errorf("no token while rationed = %d, want 401 as always", code)
	}
	if code, _, _ := send(t, b, "GET", ts.URL+"/reports/latest?format=json", nil, session); code != http.StatusOK {
		t.Errorf("a signed-in browser while rationed = %d, want 200", code)
	}
	if code, _, _ := do(t, "GET", ts.URL+"/metrics", ""); code != http.StatusOK {
		t.Errorf("/metrics while rationed = %d", code)
	}

	clk.add(6 * time.Second) // one more try earned
	if code, _, _ := do(t, "GET", ts.URL+"/reports/latest?format=json", goodToken); code != http.StatusOK {
		t.Errorf("the right token once a try is earned = %d, want 200", code)
	}
	if code, _, _ := do(t, "GET", ts.URL+"/reports/latest?format=json", "guess-l"); code != http.StatusUnauthorized {
		t.Errorf("a wrong one then = %d, want 401", code)
	}
	if code, hdr := login(goodToken); code != http.StatusTooManyRequests {
		t.Errorf("right after it = %d (Retry-After %q), want 429", code, hdr.Get("Retry-After"))
	}
	clk.add(time.Minute) // the whole burst earned back
	for i := range 10 {
		if code, _, _ := do(t, "GET", ts.URL+"/reports/latest?format=json", "again"); code != http.StatusUnauthorized {
			t.Fatalf("wrong token %d after a quiet minute = %d, want 401 (checked)", i+1, code)
		}
	}
}

package server_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/syncd/syncd/internal/metrics"
	"github.com/syncd/syncd/internal/server"
)

const goodToken = "s3cret-sync-token"

// TestAccessMatrix asks every route from every side: loopback or not,
// token configured or not, and the request's token missing, wrong or right.
func TestAccessMatrix(t *testing.T) {
	routes := []struct {
		method, path string
		guarded      bool
		ok           int
	}{
		{"GET", "/metrics", false, 200},
		{"GET", "/healthz", false, 200},
		{"GET", "/readyz", false, 200},
		{"GET", "/reports/latest?format=json", true, 200},
		{"POST", "/sync", true, 202},
	}
	listens := map[string]bool{"127.0.0.1:9184": true, "[::1]:9184": true, "localhost:9184": true,
		"0.0.0.0:9184": false, ":9184": false, "192.0.2.10:9184": false, "syncd.example.com:9184": false}
	for listen, loopback := range listens {
		for _, configured := range []string{"", goodToken} {
			f := &fakeScheduler{ready: true, latest: sampleReport()}
			ts, _, _ := newServerAt(t, f, listen, configured)
			for _, rt := range routes {
				for _, sent := range []string{"", "wrong-token", goodToken} {
					code, hdr, body := do(t, rt.method, ts.URL+rt.path, sent)
					f.finishIfRunning()
					want := wantCode(rt.guarded, loopback, configured, sent, rt.ok)
					if code != want {
						t.Errorf("listen %s, token configured %t, sent %q: %s %s = %d %q, want %d",
							listen, configured != "", sent, rt.method, rt.path, code, body, want)
						continue
					}
					checkRefusal(t, code, hdr, body, rt.path)
				}
			}
		}
	}
}

// wantCode is the access rule: open routes always answer; guarded ones
// need the configured token, or, without one, a loopback listen address.
func wantCode(guarded, loopback bool, configured, sent string, ok int) int {
	switch {
	case !guarded:
		return ok
	case configured != "" && sent == configured:
		return ok
	case configured != "":
		return http.StatusUnauthorized
	case loopback:
		return ok
	default:
		return http.StatusForbidden
	}
}

func checkRefusal(t *testing.T, code int, hdr http.Header, body, path string) {
	t.Helper()
	if strings.Contains(body, goodToken) {
		t.Errorf("%s: answer %d reveals the token", path, code)
	}
	switch code {
	case http.StatusUnauthorized:
		if hdr.Get("WWW-Authenticate") == "" {
			t.Errorf("%s: 401 without WWW-Authenticate", path)
		}
	case http.StatusForbidden:
		if !strings.Contains(body, "server.sync_token_file") || !strings.Contains(body, "disabled") {
			t.Errorf("%s: 403 %q does not say how to enable it", path, body)
		}
	}
	if code >= 400 && strings.Contains(body, "ada@example.com") {
		t.Errorf("%s: refusal %d carries the report", path, code)
	}
}

// A refused request starts no run.
func TestRefusedSyncStartsNoRun(t *testing.T) {
	f := &fakeScheduler{}
	ts, _, _ := newServerAt(t, f, "0.0.0.0:9184", "")
	do(t, "POST", ts.URL+"/sync", "anything")
	ts2, _, _ := newServerAt(t, f, "0.0.0.0:9184", goodToken)
	do(t, "POST", ts2.URL+"/sync", "wrong")
	if f.triggers != 0 {
		t.Errorf("refused requests started %d runs", f.triggers)
	}
}

// A rotated token takes effect at once: the old one is refused.
func TestSetSyncToken(t *testing.T) {
	f := &fakeScheduler{latest: sampleReport()}
	ts, s, _ := newServerAt(t, f, "0.0.0.0:9184", "old-token")
	url := ts.URL + "/reports/latest?format=json"
	if code, _, _ := do(t, "GET", url, "old-token"); code != 200 {
		t.Fatalf("old token before rotation = %d, want 200", code)
	}
	s.SetSyncToken("new-token")
	if code, _, _ := do(t, "GET", url, "old-token"); code != 401 {
		t.Errorf("old token after rotation = %d, want 401", code)
	}
	if code, _, _ := do(t, "GET", url, "new-token"); code != 200 {
		t.Errorf("new token after rotation = %d, want 200", code)
	}
	s.SetSyncToken("")
	if code, _, _ := do(t, "GET", url, "new-token"); code != 403 {
		t.Errorf("token removed on a non-loopback address = %d, want 403", code)
	}
}

// The open endpoints name nobody, even after a run whose report does.
func TestOpenEndpointsRevealNoPeople(t *testing.T) {
	rep := sampleReport()
	f := &fakeScheduler{ready: false, why: "source corp rejected syncd's credentials", latest: rep}
	ts, _, m := newServerAt(t, f, "0.0.0.0:9184", "")
	m.ObserveRun(metrics.Run{Result: metrics.ResultSuccess, Duration: time.Second, Finished: rep.FinishedAt,
		Report: rep, Sources: []metrics.Source{{Name: "corp", Users: 3, Groups: 2}}})
	for _, path := range []string{"/metrics", "/healthz", "/readyz", "/"} {
		code, _, body := do(t, "GET", ts.URL+path, "")
		if code >= 500 && code != 503 {
			t.Errorf("%s = %d", path, code)
		}
		for _, pii := range []string{"ada@example.com", "new.hire@example.com", `"Ada"`, "Ada "} {
			if strings.Contains(body, pii) {
				t.Errorf("%s reveals %q", path, pii)
			}
		}
	}
	if _, _, body := do(t, "GET", ts.URL+"/metrics", ""); !strings.Contains(body, `syncd_source_users{source="corp"} 3`) {
		t.Error("/metrics lacks the run just observed: the check above proves nothing")
	}
}

func TestIsLoopback(t *testing.T) {
	for listen, want := range map[string]bool{
		"127.0.0.1:9184": true, "127.8.9.10:1": true, "[::1]:9184": true, "localhost:9184": true, "LOCALHOST.:1": true,
		"[::ffff:127.0.0.1]:9184": true,
		"0.0.0.0:9184":            false, ":9184": false, "[::]:9184": false, "10.0.0.1:9184": false,
		"localhost.example.com:1": false, "syncd:9184": false, "": false, "127.0.0.1": false,
	} {
		if got := server.IsLoopback(listen); got != want {
			t.Errorf("IsLoopback(%q) = %t, want %t", listen, got, want)
		}
	}
}

package main

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/syncd/syncd/internal/exitcode"
)

// By default healthcheck asks /readyz: a daemon that serves but cannot
// sync (its token rejected) is unhealthy, and the reason is printed for
// the container's health log. --live asks /healthz.
func TestHealthcheckAsksReadiness(t *testing.T) {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/healthz":
			w.Write([]byte("ok\n"))
		case "/readyz":
			http.Error(w, "not ready: the Teams API rejected the token (invalid or expired)", http.StatusServiceUnavailable)
		default:
			http.NotFound(w, r)
		}
	}))
	defer ts.Close()
	dir := t.TempDir()
	listen := strings.TrimPrefix(ts.URL, "http://")
	if _, _, err := net.SplitHostPort(listen); err != nil {
		t.Fatal(err)
	}
	cfg := writeTestFile(t, filepath.Join(dir, "config.yaml"), "teams:\n  url: https://api.example.com/v3/teams/acme\n  token: t\n"+
		"sources:\n  - name: x\n    ldif: {path: "+dir+"/d.ldif}\nserver:\n  listen: "+listen+"\n", 0o600)
	writeTestFile(t, filepath.Join(dir, "d.ldif"), "", 0o600)
	var stderr strings.Builder
	e := env{stdout: &strings.Builder{}, stderr: &stderr, getenv: func(k string) string {
		if k == "SYNCD_CONFIG" {
			return cfg
		}
		return os.Getenv(k)
	}}
	if code := run(context.Background(), []string{"healthcheck"}, e); code != exitcode.Failure || !strings.Contains(stderr.String(), "rejected the token") {
		t.Errorf("not ready: exit %d, stderr %q; want 1 and the reason", code, stderr.String())
	}
	stderr.Reset()
	if code := run(context.Background(), []string{"healthcheck", "--live"}, e); code != exitcode.OK {
		t.Errorf("--live on a serving daemon: exit %d (%s), want 0", code, stderr.String())
	}
	// --url with the daemon's base URL probes its readiness, not its
	// console's page.
	for _, base := range []string{ts.URL, ts.URL + "/"} {
		stderr.Reset()
		if code := run(context.Background(), []string{"healthcheck", "--url", base}, e); code != exitcode.Failure || !strings.Contains(stderr.String(), "rejected the token") {
			t.Errorf("--url %s: exit %d, stderr %q; want 1 and the reason", base, code, stderr.String())
		}
	}
}

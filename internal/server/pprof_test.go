package server_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/syncd/syncd/internal/server"
)

// TestPprof: the profiler is served only when server.pprof asks for it,
// and then under the rules of /reports/latest.
func TestPprof(t *testing.T) {
	for _, tc := range []struct {
		name          string
		pprof         bool
		listen, token string
		send          string // the bearer token sent
		host          string
		want          int
	}{
		{name: "off", listen: "127.0.0.1:9184", want: http.StatusNotFound},
		{name: "loopback", pprof: true, listen: "127.0.0.1:9184", want: http.StatusOK},
		{name: "loopback, foreign Host", pprof: true, listen: "127.0.0.1:9184", host: "attacker.example", want: http.StatusMisdirectedRequest},
		{name: "exposed without token", pprof: true, listen: "0.0.0.0:9184", want: http.StatusForbidden},
		{name: "exposed, no bearer", pprof: true, listen: "0.0.0.0:9184", token: "s3cret-token", want: http.StatusUnauthorized},
		{name: "exposed, bearer", pprof: true, listen: "0.0.0.0:9184", token: "s3cret-token", send: "s3cret-token", want: http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg := prometheus.NewRegistry()
			s, err := server.New(server.Options{Logger: zap.NewNop(), Gatherer: reg, Scheduler: &fakeScheduler{},
				Listen: tc.listen, SyncToken: tc.token, Pprof: tc.pprof})
			if err != nil {
				t.Fatal(err)
			}
			ts := httptest.NewServer(s.Handler())
			defer ts.Close()
			for _, path := range []string{"/debug/pprof/", "/debug/pprof/cmdline", "/debug/pprof/heap"} {
				req, _ := http.NewRequest("GET", ts.URL+path, nil)
				if tc.host != "" {
					req.Host = tc.host
				}
				if tc.send != "" {
					req.Header.Set("Authorization", "Bearer "+tc.send)
				}
				resp, err := ts.Client().Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != tc.want {
					t.Errorf("GET %s: %d, want %d", path, resp.StatusCode, tc.want)
				}
				if tc.want == http.StatusOK && path == "/debug/pprof/heap" && !strings.Contains(resp.Header.Get("Content-Type"), "octet-stream") {
					t.Errorf("heap profile served as %q", resp.Header.Get("Content-Type"))
				}
			}
		})
	}
}

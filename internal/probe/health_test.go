package probe

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestHealthURL(t *testing.T) {
	for listen, want := range map[string]string{
		"127.0.0.1:9184": "http://127.0.0.1:9184/healthz",
		"0.0.0.0:9000":   "http://127.0.0.1:9000/healthz",
		":9184":          "http://127.0.0.1:9184/healthz",
		"[::]:9184":      "http://[::1]:9184/healthz",
		"garbage":        "http://127.0.0.1:9184/healthz",
	} {
		if got := HealthURL(listen, "/healthz"); got != want {
			t.Errorf("HealthURL(%q) = %q, want %q", listen, got, want)
		}
	}
	if got := HealthURL("0.0.0.0:9184", "/readyz"); got != "http://127.0.0.1:9184/readyz" {
		t.Errorf("HealthURL = %q", got)
	}
}

// Health passes a 200 and fails anything else with what the endpoint
// said, terminal controls escaped.
func TestHealth(t *testing.T) {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" {
			fmt.Fprintln(w, "ok")
			return
		}
		http.Error(w, "not ready: \x1b[2J the token was rejected", http.StatusServiceUnavailable)
	}))
	defer ts.Close()
	if err := Health(context.Background(), ts.Client(), ts.URL+"/healthz"); err != nil {
		t.Errorf("healthy: %v", err)
	}
	err := Health(context.Background(), ts.Client(), ts.URL+"/readyz")
	if err == nil || !strings.Contains(err.Error(), "503 Service Unavailable: not ready") || strings.Contains(err.Error(), "\x1b") {
		t.Errorf("not ready: %v, want the status and the reason, escaped", err)
	}
	ts.Close()
	if err := Health(context.Background(), ts.Client(), ts.URL+"/healthz"); err == nil {
		t.Error("nothing listening: no error")
	}
}

package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/syncd/syncd/internal/config"
	"github.com/syncd/syncd/internal/daemon"
	"github.com/syncd/syncd/internal/exitcode"
	"github.com/syncd/syncd/internal/source/ldap"
	"github.com/syncd/syncd/internal/source/scim"
	"github.com/syncd/syncd/internal/teams"
)

func TestHealthcheck(t *testing.T) {
	healthy := true
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" || !healthy {
			http.Error(w, "no", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ok")
	}))
	defer ts.Close()
	var stderr strings.Builder
	e := env{stdout: &strings.Builder{}, stderr: &stderr, getenv: testGetenv(t, nil)}
	if code := cmdHealthcheck(context.Background(), e, []string{"--url", ts.URL + "/healthz"}); code != exitcode.OK {
		t.Errorf("healthy: exit %d (%s), want 0", code, stderr.String())
	}
	healthy = false
	if code := cmdHealthcheck(context.Background(), e, []string{"--url", ts.URL + "/healthz"}); code != exitcode.Failure {
		t.Errorf("unhealthy: exit %d, want 1", code)
	}
	ts.Close()
	if code := cmdHealthcheck(context.Background(), e, []string{"--url", ts.URL + "/healthz", "--timeout", "1s"}); code != exitcode.Failure {
		t.Errorf("nothing listening: exit %d, want 1", code)
	}
	if code := cmdHealthcheck(context.Background(), e, []string{"extra"}); code != exitcode.Usage {
		t.Errorf("stray argument: exit %d, want 2", code)
	}
}

func TestHealthURL(t *testing.T) {
	for listen, want := range map[string]string{
		"127.0.0.1:9184": "http://127.0.0.1:9184/healthz",
		"0.0.0.0:9000":   "http://127.0.0.1:9000/healthz",
		":9184":          "http://127.0.0.1:9184/healthz",
		"[::]:9184":      "http://[::1]:9184/healthz",
		"garbage":        "http://127.0.0.1:9184/healthz",
	} {
		if got := healthURL(listen, "/healthz"); got != want {
			t.Errorf("healthURL(%q) = %q, want %q", listen, got, want)
		}
	}
}

func TestHealthcheckReadsListenFromConfig(t *testing.T) {
	dir := t.TempDir()
	path := dir + "/config.yaml"
	cfg := "teams:\n  url: https://api.example.com/v3/teams/acme\n  token: t\nsources:\n  - name: x\n    ldif: {path: " + dir + "/d.ldif}\nserver:\n  listen: 0.0.0.0:19999\n"
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dir+"/d.ldif", nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if got, err := listenOf(path, func(string) string { return "" }); got != "0.0.0.0:19999" || err != nil {
		t.Errorf("listenOf = %q, %v; want the config's server.listen", got, err)
	}
	if got, err := listenOf(dir+"/missing.yaml", func(string) string { return "" }); got != config.DefaultListen || err == nil {
		t.Errorf("listenOf(missing) = %q, %v; want the default and why", got, err)
	}
}

func TestHandleSignals(t *testing.T) {
	sigs := make(chan os.Signal, 4)
	finished := make(chan struct{})
	stopped := make(chan struct{})
	reloads := 0
	exited := make(chan int, 1)
	go handleSignals(finished, sigs, func() { close(stopped) }, func() error { reloads++; return nil }, zap.NewNop(),
		func(code int) { exited <- code })
	sigs <- syscall.SIGHUP
	sigs <- syscall.SIGHUP
	sigs <- syscall.SIGTERM
	<-stopped
	if reloads != 2 {
		t.Errorf("reloads = %d, want 2", reloads)
	}
	select {
	case code := <-exited:
		t.Fatalf("exited (%d) on the first stop signal", code)
	default:
	}
	sigs <- syscall.SIGINT
	select {
	case code := <-exited:
		if code == exitcode.OK {
			t.Errorf("forced exit code %d, want non-zero", code)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("second stop signal did not exit")
	}
	close(finished)
}

func TestNotReady(t *testing.T) {
	// The errors the real sources return (wrapped as the engine wraps them).
	ldapBind := fmt.Errorf("ldap source %q: %w", "corp", &ldap.BindError{URL: "ldap://x", BindDN: "cn=syncd", Err: &ldap.ResultError{Code: 49}})
	scimRefused := fmt.Errorf("scim source: %w", &scim.Error{Method: "GET", URL: "https://idp/scim/v2/Groups", Status: 401, Kind: scim.ErrUnauthorized})
	scimDown := fmt.Errorf("scim source: %w", &scim.Error{Method: "GET", URL: "https://idp/scim/v2/Groups", Status: 503, Kind: scim.ErrServer})
	cases := []struct {
		name  string
		res   *daemon.Result
		err   error
		ready bool
	}{
		{"success", &daemon.Result{}, nil, true},
		{"token", &daemon.Result{ExitCode: 1}, fmt.Errorf("list users: %w", teams.ErrUnauthorized), false},
		{"read-only token", nil, fmt.Errorf("add: %w", teams.ErrForbidden), false},
		{"ldap bind", &daemon.Result{ExitCode: 1, Sources: []daemon.SourceStat{{Name: "corp", Err: ldapBind}}}, nil, false},
		{"ldap down", &daemon.Result{ExitCode: 1, Sources: []daemon.SourceStat{{Name: "corp", Err: errors.New("connection refused")}}}, nil, true},
		{"ldap other result", &daemon.Result{ExitCode: 1, Sources: []daemon.SourceStat{{Name: "corp", Err: &ldap.ResultError{Code: 51}}}}, nil, true},
		{"scim token", &daemon.Result{ExitCode: 1, Sources: []daemon.SourceStat{{Name: "idp", Err: scimRefused}}}, nil, false},
		{"scim down", &daemon.Result{ExitCode: 1, Sources: []daemon.SourceStat{{Name: "idp", Err: scimDown}}}, nil, true},
		{"api down", &daemon.Result{ExitCode: 1}, fmt.Errorf("list: %w", teams.ErrServer), true},
	}
	for _, c := range cases {
		why := notReady(c.res, c.err)
		if (why == "") != c.ready {
			t.Errorf("%s: notReady = %q, want ready=%v", c.name, why, c.ready)
		}
	}
}

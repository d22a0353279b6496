package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/syncd/syncd/internal/config"
	"github.com/syncd/syncd/internal/exitcode"
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
	if code := run(context.Background(), []string{"healthcheck", "--url", ts.URL + "/healthz"}, e); code != exitcode.OK {
		t.Errorf("healthy: exit %d (%s), want 0", code, stderr.String())
	}
	healthy = false
	if code := run(context.Background(), []string{"healthcheck", "--url", ts.URL + "/healthz"}, e); code != exitcode.Failure {
		t.Errorf("unhealthy: exit %d, want 1", code)
	}
	ts.Close()
	if code := run(context.Background(), []string{"healthcheck", "--url", ts.URL + "/healthz", "--timeout", "1s"}, e); code != exitcode.Failure {
		t.Errorf("nothing listening: exit %d, want 1", code)
	}
	if code := run(context.Background(), []string{"healthcheck", "extra"}, e); code != exitcode.Usage {
		t.Errorf("stray argument: exit %d, want 2", code)
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

// A stop signal that ended the daemon (main's context) before the handler
// read it is still logged, before the handler returns, whichever of the
// two the handler sees first (tried 20 times: select picks at random).
func TestHandleSignalsLogsAStopAlreadyDone(t *testing.T) {
	finished := make(chan struct{})
	close(finished)
	for range 20 {
		sigs := make(chan os.Signal, 1)
		sigs <- syscall.SIGTERM
		core, logs := observer.New(zap.InfoLevel)
		handleSignals(finished, sigs, func() {}, func() error { return nil }, zap.New(core), func(int) {})
		if logs.FilterMessageSnippet("stop signal").Len() != 1 {
			t.Fatalf("logs %v, want the stop signal once", logs.All())
		}
	}
}

package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/syncd/syncd/internal/config"
)

// reloadConfig is a daemon configuration with SCIM receivers named in
// receivers (token files scim-<name>) and a sync token, on a non-loopback
// address so that /reports/latest needs that token.
func reloadConfig(t *testing.T, dir string, receivers ...string) string {
	t.Helper()
	rest := "sources:\n  - name: corp\n    ldif: {path: directory.ldif, users: {base_dn: \"ou=people,dc=example,dc=com\"}}\n"
	for _, r := range receivers {
		rest += "  - name: " + r + "\n    scim_receiver: {token_file: scim-" + r + "}\n"
	}
	rest += "groups:\n  - {source: corp, from: platform, to: Platform}\nsync: {state_dir: state}\n" +
		"server: {listen: \"0.0.0.0:0\", sync_token_file: sync-token}\n"
	return writeConfig(t, dir, "http://127.0.0.1:1", rest)
}

func getStatus(t *testing.T, url, token string) int {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// TestReloadRotatesTokens: after a reload (SIGHUP) with new token files, the
// SCIM receiver and /reports/latest take the new tokens at once and refuse
// the old ones; a receiver removed stops answering, one added is logged as
// waiting for a restart.
func TestReloadRotatesTokens(t *testing.T) {
	dir := t.TempDir()
	writeTestFile(t, filepath.Join(dir, "directory.ldif"), adaLDIF, 0o644)
	writeTestFile(t, filepath.Join(dir, "scim-entra"), "old-scim-token\n", 0o600)
	writeTestFile(t, filepath.Join(dir, "scim-okta"), "okta-token\n", 0o600)
	writeTestFile(t, filepath.Join(dir, "sync-token"), "old-sync-token\n", 0o600)
	path := reloadConfig(t, dir, "entra")
	e := env{stdout: io.Discard, stderr: io.Discard, getenv: testGetenv(t, nil)}
	cfg, err := config.Load(path, e.getenv)
	if err != nil {
		t.Fatal(err)
	}
	core, logs := observer.New(zap.InfoLevel)
	p, err := newDaemonParts(e, cfg, daemonFlags{path: path}, zap.New(core))
	if err != nil {
		t.Fatal(err)
	}
	defer p.close()
	ts := httptest.NewServer(p.server.Handler())
	defer ts.Close()
	users, latest := ts.URL+"/scim/entra/v2/Users", ts.URL+"/reports/latest?format=json"
	expect := func(when, url, token string, want int) {
		t.Helper()
		if got := getStatus(t, url, token); got != want {
			t.Errorf("%s: GET %s with %s = %d, want %d", when, url[len(ts.URL):], token, got, want)
		}
	}
	// /reports/latest answers 404 (no run yet) to whoever may see it.
	expect("before", users, "old-scim-token", 200)
	expect("before", users, "new-scim-token", 401)
	expect("before", latest, "old-sync-token", 404)
	expect("before", latest, "new-sync-token", 401)

	writeTestFile(t, filepath.Join(dir, "scim-entra"), "new-scim-token\n", 0o600)
	writeTestFile(t, filepath.Join(dir, "sync-token"), "new-sync-token\n", 0o600)
	reloadConfig(t, dir, "entra", "okta")
	if err := p.daemon.Reload(); err != nil {
		t.Fatalf("Reload: %v", err)
	}
	expect("after rotation", users, "old-scim-token", 401)
	expect("after rotation", users, "new-scim-token", 200)
	expect("after rotation", latest, "old-sync-token", 401)
	expect("after rotation", latest, "new-sync-token", 404)
	if n := logs.FilterMessageSnippet("only after a restart").Len(); n != 1 {
		t.Errorf("an added receiver was logged %d times as waiting for a restart, want once", n)
	}
	expect("added receiver before a restart", ts.URL+"/scim/okta/v2/Users", "okta-token", 404)

	reloadConfig(t, dir)
	if err := p.daemon.Reload(); err != nil {
		t.Fatalf("Reload without receivers: %v", err)
	}
	expect("receiver removed", users, "new-scim-token", 404)
	reloadConfig(t, dir, "entra")
	if err := p.daemon.Reload(); err != nil {
		t.Fatalf("Reload with the receiver back: %v", err)
	}
	expect("receiver back", users, "new-scim-token", 200)
	expect("receiver back", users, "old-scim-token", 401)
}

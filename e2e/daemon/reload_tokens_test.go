package daemon

import (
	"net/http"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/syncd/syncd/internal/teams/emulator"
	"github.com/syncd/syncd/internal/teams/teamstest"
)

// TestDaemonReloadRotatesTokens: SIGHUP after new token files are written
// makes the SCIM receiver and the sync token take the new tokens at once;
// the old ones are refused from then on.
func TestDaemonReloadRotatesTokens(t *testing.T) {
	requireBinary(t)
	_, hs := teamstest.NewServer(t, companySeed(), emulator.Options{})
	dir := t.TempDir()
	scimFile, syncFile := filepath.Join(dir, "scim-token"), filepath.Join(dir, "sync-token")
	write := func(path, token string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(token+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(scimFile, "old-scim-token")
	write(syncFile, "old-sync-token")
	listen := freeAddr(t)
	cfg := `teams:
  url: ` + hs.URL + `/v3/teams/` + team + `
  token: ${SYNCD_E2E_TOKEN}
sources:
  - name: entra
    scim_receiver: {token_file: ` + scimFile + `}
groups:
  - {source: entra, from: Platform Engineers, to: Platform}
sync:
  schedule: "@every 1h"
  run_at_start: false
  state_dir: ` + filepath.Join(dir, "state") + `
server:
  listen: ` + listen + `
  sync_token_file: ` + syncFile + `
`
	path := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	d := startDaemon(t, path, listen)
	expect := func(when, route, token string, want int) {
		t.Helper()
		if code, _, body := d.doAuth(http.MethodGet, route, "Bearer "+token); code != want {
			t.Errorf("%s: GET %s with %s = %d %q, want %d", when, route, token, code, body, want)
		}
	}
	// No run yet: /reports/latest answers 404 to whoever may see it.
	expect("before", "/scim/entra/v2/Users", "old-scim-token", http.StatusOK)
	expect("before", "/reports/latest", "old-sync-token", http.StatusNotFound)

	write(scimFile, "new-scim-token")
	write(syncFile, "new-sync-token")
	d.signal(syscall.SIGHUP)
	d.waitFor("the reload", func() bool { return d.metric("syncd_config_reloads_total", `result="success"`) >= 1 })
	expect("after SIGHUP", "/scim/entra/v2/Users", "old-scim-token", http.StatusUnauthorized)
	expect("after SIGHUP", "/scim/entra/v2/Users", "new-scim-token", http.StatusOK)
	expect("after SIGHUP", "/reports/latest", "old-sync-token", http.StatusUnauthorized)
	expect("after SIGHUP", "/reports/latest", "new-sync-token", http.StatusNotFound)
}

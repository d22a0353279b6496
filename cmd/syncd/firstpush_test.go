package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/syncd/syncd/internal/exitcode"
	"github.com/syncd/syncd/internal/scimserver"
)

// Before the identity provider's first push, validate --connect says so
// and succeeds: that is how every new setup starts.
func TestValidateConnectBeforeFirstPush(t *testing.T) {
	teamsSrv := checkedEmulator(t, false)
	dir := t.TempDir()
	writeTestFile(t, filepath.Join(dir, "scim-token"), "scim-token-1\n", 0o600)
	cfg := writeConfig(t, dir, teamsSrv.URL, `sources:
  - name: entra
    scim_receiver: {token_file: scim-token}
groups:
  - {source: entra, from: Platform Engineers, to: Platform}
sync: {state_dir: state}
`)
	stateDir := filepath.Join(dir, "state")
	check := func(when, want string) {
		t.Helper()
		code, out, errOut := runCmd(t, nil, "validate", "--connect", "--config", cfg)
		if code != exitcode.OK || !strings.Contains(out, want) {
			t.Errorf("%s: exit %d, want 0 and %q\nstdout: %s\nstderr: %s", when, code, want, out, errOut)
		}
	}
	check("no store yet", "source entra: no push received yet")
	if _, err := scimserver.OpenStore(scimserver.StorePath(stateDir, "entra")); err != nil { // the daemon started
		t.Fatal(err)
	}
	check("daemon started, nothing pushed", "source entra: no push received yet")
	idp := serveSCIM(t, stateDir, "entra", "scim-token-1")
	idp.group("Platform Engineers", idp.user("ada@example.com"))
	check("after a push", "source entra: 1 user, 1 group (0 unknown)")
	check("after a push", "source entra: last push stored ")
}

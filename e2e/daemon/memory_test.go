package daemon

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/syncd/syncd/internal/source/ldap/slapdtest"
	"github.com/syncd/syncd/internal/teams/emulator"
	"github.com/syncd/syncd/internal/teams/teamstest"
)

// TestDaemonWithoutStateDirRemembers: without sync.state_dir the daemon
// keeps its state in memory from one run to the next, so that only its
// first run matches people through the user listing (here four pages of
// Teams users); the later runs read the user count instead, for the
// pending new hire. A one-shot `syncd sync` cannot keep it, and pays the
// listing every time.
func TestDaemonWithoutStateDirRemembers(t *testing.T) {
	requireBinary(t)
	ldapSrv := slapdtest.Start(t, slapdtest.Options{LDIF: companyLDIF()})
	seed := companySeed()
	for i := range 300 { // Teams users from outside the directory: the listing has four pages
		seed.Users = append(seed.Users, emulator.SeedUser{ID: 1000 + i, Name: fmt.Sprintf("Other %d", i),
			Email: fmt.Sprintf("other%d@example.com", i), Role: "Registered"})
	}
	_, hs := teamstest.NewServer(t, seed, emulator.Options{NoThrottle: true})
	dir := t.TempDir()
	listen := freeAddr(t)
	config := daemonConfig(hs.URL+"/v3/teams/"+team, ldapSrv.URL, listen, "none", "")
	config = strings.Replace(config, "  state_dir: none\n", "", 1)
	if err := os.WriteFile(filepath.Join(dir, "config.yaml"), []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	d := startDaemon(t, filepath.Join(dir, "config.yaml"), listen) // dry runs, every second

	d.waitFor("three finished runs", func() bool { return len(runCalls(t, d.out.String())) >= 3 })
	calls := runCalls(t, d.out.String())
	for i, n := range calls[1:] {
		if n > calls[0]-3 {
			t.Errorf("run %d made %d calls, the first %d: want three fewer at least (four pages of users against one count)", i+2, n, calls[0])
		}
	}
}

// runCalls returns the api_calls of each "sync finished" line of a log.
func runCalls(t *testing.T, log string) []int {
	t.Helper()
	var out []int
	for _, line := range strings.Split(log, "\n") {
		var l struct {
			Msg   string `json:"msg"`
			Calls int    `json:"api_calls"`
		}
		if json.Unmarshal([]byte(line), &l) == nil && l.Msg == "sync finished" {
			out = append(out, l.Calls)
		}
	}
	return out
}

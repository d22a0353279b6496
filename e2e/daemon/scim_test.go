package daemon

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/syncd/syncd/internal/teams/emulator"
	"github.com/syncd/syncd/internal/teams/teamstest"
)

// TestDaemonSCIMReceiver provisions people and a group into syncd's own
// SCIM endpoint, as Entra ID would, and sees the change reach Teams through
// the run that the change triggers.
func TestDaemonSCIMReceiver(t *testing.T) {
	requireBinary(t)
	emu, hs := teamstest.NewServer(t, companySeed(), emulator.Options{})
	dir := t.TempDir()
	listen := freeAddr(t)
	cfg := `teams:
  url: ` + hs.URL + `/v3/teams/` + team + `
  token: ${SYNCD_E2E_TOKEN}
sources:
  - name: entra
    scim_receiver:
      token: scim-receiver-secret
      sync_delay: 1s
groups:
  - {source: entra, from: Platform Engineers, to: Platform}
sync:
  schedule: "@every 1h"
  run_at_start: false
  max_removal_percent: 60
  state_dir: ` + filepath.Join(dir, "state") + `
server:
  listen: ` + listen + `
`
	path := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	d := startDaemon(t, path, listen, "--apply")

	scim := func(path string, body map[string]any) map[string]any {
		t.Helper()
		data, _ := json.Marshal(body)
		req, _ := http.NewRequest(http.MethodPost, d.base+"/scim/entra/v2"+path, bytes.NewReader(data))
		req.Header.Set("Authorization", "Bearer scim-receiver-secret")
		req.Header.Set("Content-Type", "application/scim+json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		json.NewDecoder(resp.Body).Decode(&out)
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("POST %s = %d %v", path, resp.StatusCode, out)
		}
		return out
	}
	var ids []any
	for _, p := range people[:3] { // alice, bob, carol
		u := scim("/Users", map[string]any{
			"schemas":  []string{"urn:ietf:params:scim:schemas:core:2.0:User"},
			"userName": p.Email, "displayName": p.Name, "active": true,
			"emails": []map[string]any{{"value": p.Email, "primary": true, "type": "work"}},
		})
		ids = append(ids, map[string]any{"value": u["id"]})
	}
	scim("/Groups", map[string]any{
		"schemas":     []string{"urn:ietf:params:scim:schemas:core:2.0:Group"},
		"displayName": "Platform Engineers", "members": ids,
	})

	d.waitFor("the run triggered by the SCIM changes", func() bool { return d.successes() >= 1 })
	groupHas(t, emu, "Platform", teamsIDs("alice", "bob", "carol"))

	req, _ := http.NewRequest(http.MethodGet, d.base+"/scim/entra/v2/Users", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("SCIM without the token = %d, want 401", resp.StatusCode)
	}

	// The receiver's metrics: what it stored, the pushes it accepted and the
	// request it refused; and the SCIM names the alerts use are exported.
	for _, c := range []struct {
		name, labels string
		want         float64
	}{
		{"syncd_scim_users", `source="entra"`, 3},
		{"syncd_scim_groups", `source="entra"`, 1},
		{"syncd_scim_requests_total", `result="success"`, 4},
		{"syncd_scim_requests_total", `result="unauthorized"`, 1},
	} {
		if got := d.metric(c.name, c.labels); got != c.want {
			t.Errorf("%s{%s} = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	if got := d.metric("syncd_scim_last_push_timestamp_seconds", `source="entra"`); got < float64(time.Now().Add(-time.Hour).Unix()) {
		t.Errorf("syncd_scim_last_push_timestamp_seconds = %v, want the time of the pushes", got)
	}
	_, _, exposition := d.get("/metrics")
	checkMonitoringNames(t, exposition, func(name string) bool { return strings.HasPrefix(name, scimPrefix) })
}

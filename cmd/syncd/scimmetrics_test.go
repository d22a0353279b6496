package main

import (
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/zap"

	"github.com/syncd/syncd/internal/config"
	"github.com/syncd/syncd/internal/exitcode"
	"github.com/syncd/syncd/internal/metrics"
	"github.com/syncd/syncd/internal/scimserver"
)

// receiverConfig is a config with one scim_receiver source, "entra".
func receiverConfig(t *testing.T, stateDir string) *config.Config {
	t.Helper()
	dir := t.TempDir()
	writeTestFile(t, filepath.Join(dir, "scim-token"), "scim-token-1\n", 0o600)
	path := writeTestFile(t, filepath.Join(dir, "config.yaml"), `teams: {url: "https://api.example.com/v3/teams/acme", token: t}
sources:
  - name: entra
    scim_receiver: {token_file: scim-token}
groups:
  - {source: entra, from: Platform Engineers, to: Platform}
sync: {state_dir: `+stateDir+`}
`, 0o600)
	cfg, err := config.Load(path, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// serveReceivers mounts the daemon's receivers on a test server, with
// their metrics on a fresh registry.
func serveReceivers(t *testing.T, cfg *config.Config) (*prometheus.Registry, *scimServer) {
	t.Helper()
	reg := prometheus.NewRegistry()
	m, err := metrics.New(reg, "test")
	if err != nil {
		t.Fatal(err)
	}
	rs, err := newReceivers(cfg, func() (<-chan struct{}, error) { return nil, nil }, m, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	for pattern, h := range rs.handlers() {
		mux.Handle(pattern, h)
	}
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return reg, &scimServer{t: t, srv: srv, base: srv.URL + "/scim/entra/v2", token: "scim-token-1"}
}

func gauge(t *testing.T, reg *prometheus.Registry, name, source string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "source" && l.GetValue() == source {
					return m.GetGauge().GetValue()
				}
			}
		}
	}
	t.Fatalf("no %s{source=%q}", name, source)
	return 0
}

// The receiver's metrics: requests by result, the last accepted push, the
// store's size; a restart brings the last push and the size back.
func TestSCIMReceiverMetrics(t *testing.T) {
	stateDir := t.TempDir()
	cfg := receiverConfig(t, stateDir)
	reg, idp := serveReceivers(t, cfg)
	if got := gauge(t, reg, "syncd_scim_last_push_timestamp_seconds", "entra"); got != 0 {
		t.Errorf("last push before any: %v", got)
	}
	before := float64(time.Now().Add(-time.Second).Unix())
	ada := idp.user("ada@example.com")
	idp.group("Platform Engineers", ada)
	idp.do("GET", "/Users", "", http.StatusOK)
	idp.do("POST", "/Users", `{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"]}`, http.StatusBadRequest)
	wrong := *idp
	wrong.token = "not-the-token"
	wrong.do("GET", "/Users", "", http.StatusUnauthorized)

	expected := `
# HELP syncd_scim_requests_total Requests to a SCIM receiver by result: success (2xx), unauthorized (401), rejected (other 4xx), error (5xx).
# TYPE syncd_scim_requests_total counter
syncd_scim_requests_total{result="error",source="entra"} 0
syncd_scim_requests_total{result="rejected",source="entra"} 1
syncd_scim_requests_total{result="success",source="entra"} 3
syncd_scim_requests_total{result="unauthorized",source="entra"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(expected), "syncd_scim_requests_total"); err != nil {
		t.Error(err)
	}
	last := gauge(t, reg, "syncd_scim_last_push_timestamp_seconds", "entra")
	if last < before || last > float64(time.Now().Unix()+1) {
		t.Errorf("last push %v, want about now", last)
	}
	if u, g := gauge(t, reg, "syncd_scim_users", "entra"), gauge(t, reg, "syncd_scim_groups", "entra"); u != 1 || g != 1 {
		t.Errorf("store size %v users, %v groups; want 1 and 1", u, g)
	}

	idp.srv.Close()
	reg2, _ := serveReceivers(t, cfg) // the daemon restarts
	if got := gauge(t, reg2, "syncd_scim_last_push_timestamp_seconds", "entra"); got < before || got > last {
		t.Errorf("last push after a restart %v, want the stored %v", got, last)
	}
	if u := gauge(t, reg2, "syncd_scim_users", "entra"); u != 1 {
		t.Errorf("users after a restart %v, want 1", u)
	}
}

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

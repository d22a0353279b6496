package daemon

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/zap"

	"github.com/syncd/syncd/internal/config"
	"github.com/syncd/syncd/internal/metrics"
)

// receiverConfig is a config with one scim_receiver source, "entra", with
// the token token.
func receiverConfig(t *testing.T, stateDir, token string) *config.Config {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "scim-token"), []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(path, []byte(`teams: {url: "https://api.example.com/v3/teams/acme", token: t}
sources:
  - name: entra
    scim_receiver: {token_file: scim-token}
groups:
  - {source: entra, from: Platform Engineers, to: Platform}
sync: {state_dir: `+stateDir+`}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// idp plays the identity provider against a receiver.
type idp struct {
	t     *testing.T
	base  string // .../scim/entra/v2
	token string
}

func (p idp) do(method, path, body string, want int) map[string]any {
	p.t.Helper()
	req, _ := http.NewRequest(method, p.base+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+p.token)
	req.Header.Set("Content-Type", "application/scim+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		p.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	if resp.StatusCode != want {
		p.t.Errorf("%s %s = %d, want %d: %v", method, path, resp.StatusCode, want, out)
	}
	return out
}

func (p idp) user(email string) string {
	u := p.do("POST", "/Users", fmt.Sprintf(`{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": %q,
		"emails": [{"value": %q, "type": "work", "primary": true}], "active": true}`, email, email), http.StatusCreated)
	id, _ := u["id"].(string)
	return id
}

func (p idp) group(name, member string) {
	p.do("POST", "/Groups", fmt.Sprintf(`{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": %q, "members": [{"value": %q}]}`,
		name, member), http.StatusCreated)
}

// serveReceivers mounts the receivers of cfg on a test server, with their
// metrics on a fresh registry.
func serveReceivers(t *testing.T, cfg *config.Config) (*prometheus.Registry, *httptest.Server) {
	t.Helper()
	reg := prometheus.NewRegistry()
	m, err := metrics.New(reg, "test")
	if err != nil {
		t.Fatal(err)
	}
	rs, err := NewReceivers(cfg, noTrigger, m, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	for pattern, h := range rs.Handlers() {
		mux.Handle(pattern, h)
	}
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return reg, srv
}

func noTrigger() (<-chan struct{}, error) { return nil, nil }

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
	cfg := receiverConfig(t, stateDir, "scim-token-1")
	reg, srv := serveReceivers(t, cfg)
	p := idp{t: t, base: srv.URL + "/scim/entra/v2", token: "scim-token-1"}
	if got := gauge(t, reg, "syncd_scim_last_push_timestamp_seconds", "entra"); got != 0 {
		t.Errorf("last push before any: %v", got)
	}
	before := float64(time.Now().Add(-time.Second).Unix())
	p.group("Platform Engineers", p.user("ada@example.com"))
	p.do("GET", "/Users", "", http.StatusOK)
	p.do("POST", "/Users", `{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"]}`, http.StatusBadRequest)
	wrong := p
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

	srv.Close()
	reg2, _ := serveReceivers(t, cfg) // the daemon restarts
	if got := gauge(t, reg2, "syncd_scim_last_push_timestamp_seconds", "entra"); got < before || got > last {
		t.Errorf("last push after a restart %v, want the stored %v", got, last)
	}
	if u := gauge(t, reg2, "syncd_scim_users", "entra"); u != 1 {
		t.Errorf("users after a restart %v, want 1", u)
	}
}

// A push asks for a run one sync_delay later; a reload takes a new token
// at once and refuses the old one; a receiver the reload removes stops
// answering.
func TestReceiversPushAndReload(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		stateDir := t.TempDir()
		cfg := receiverConfig(t, stateDir, "old-token")
		cfg.Sources[0].SCIMReceiver.SyncDelay = config.Duration(5 * time.Second)
		var log runLog
		start := time.Now()
		rs := loggedReceivers(t, cfg, &log, &start)
		h := rs.Handlers()["/scim/entra/v2/"]
		status := func(token string) int {
			rec := httptest.NewRecorder()
			req := httptest.NewRequest("POST", "/scim/entra/v2/Users", strings.NewReader(`{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "a@example.com", "active": true}`))
			req.Header.Set("Authorization", "Bearer "+token)
			req.Header.Set("Content-Type", "application/scim+json")
			h.ServeHTTP(rec, req)
			return rec.Code
		}
		if got := status("old-token"); got != http.StatusCreated {
			t.Fatalf("push: %d", got)
		}
		time.Sleep(time.Minute)
		if runs := log.take(); len(runs) != 1 || runs[0] != 5*time.Second {
			t.Errorf("runs at %v, want one 5s after the push", runs)
		}

		next := receiverConfig(t, stateDir, "new-token")
		rs.Reload(next)
		if got := status("old-token"); got != http.StatusUnauthorized {
			t.Errorf("old token after the reload: %d, want 401", got)
		}
		next.Sources = nil
		rs.Reload(next)
		if got := status("new-token"); got != http.StatusNotFound {
			t.Errorf("receiver removed by the reload: %d, want 404", got)
		}
	})
}

// At a start without a run, a receiver that stored a push since the last
// successful run started asks for a run (after its sync_delay); one whose
// pushes that run already read, or that never received any, does not.
func TestReceiversResume(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		stateDir := t.TempDir()
		cfg := receiverConfig(t, stateDir, "token")
		cfg.Sources[0].SCIMReceiver.SyncDelay = config.Duration(5 * time.Second)
		var log runLog
		start := time.Now()
		open := func() *Receivers { return loggedReceivers(t, cfg, &log, &start) }
		rs := open()
		rs.Resume(time.Time{})
		time.Sleep(time.Minute)
		if runs := log.take(); len(runs) != 0 {
			t.Errorf("runs %v for a receiver that never received anything", runs)
		}

		time.Sleep(500 * time.Millisecond) // the store keeps the second alone
		srv := httptest.NewServer(rs.Handlers()["/scim/entra/v2/"])
		idp{t: t, base: srv.URL + "/scim/entra/v2", token: "token"}.user("ada@example.com")
		srv.Close()
		pushed := time.Now()
		time.Sleep(time.Minute)
		log.take() // the push's own run

		// syncd stopped before that run, or the run failed: the last
		// success started before the push, in the same second.
		start = time.Now()
		open().Resume(pushed.Add(-200 * time.Millisecond))
		time.Sleep(time.Minute)
		if runs := log.take(); len(runs) != 1 || runs[0] != 5*time.Second {
			t.Errorf("runs at %v, want one 5s after the start", runs)
		}
		// A run that started after the push read it.
		open().Resume(pushed.Add(time.Second))
		time.Sleep(time.Minute)
		if runs := log.take(); len(runs) != 0 {
			t.Errorf("runs %v for a push the last run read", runs)
		}
	})
}

// loggedReceivers opens the receivers of cfg with a trigger that logs
// when each run was asked for, since *start.
func loggedReceivers(t *testing.T, cfg *config.Config, log *runLog, start *time.Time) *Receivers {
	t.Helper()
	m, err := metrics.New(prometheus.NewRegistry(), "test")
	if err != nil {
		t.Fatal(err)
	}
	rs, err := NewReceivers(cfg, func() (<-chan struct{}, error) {
		log.add(time.Since(*start))
		return nil, nil
	}, m, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

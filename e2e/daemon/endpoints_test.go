package daemon

import (
	"bufio"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/syncd/syncd/e2e/harness"
	"github.com/syncd/syncd/internal/source/ldap/slapdtest"
	"github.com/syncd/syncd/internal/teams/emulator"
	"github.com/syncd/syncd/internal/teams/teamstest"
)

const syncSecret = "daemon-e2e-sync-bearer-secret"

// TestDaemonEndpoints runs `syncd run` without --apply behind a tight API
// budget, with POST /sync protected by a token read from a file: a dry run
// writes nothing, the bearer token is needed, the client's pacing shows in
// the metrics, the exposition passes promtool, every metric the alerts and
// the dashboard use is exported, and no endpoint shows a secret.
func TestDaemonEndpoints(t *testing.T) {
	requireBinary(t)
	ldapSrv := slapdtest.Start(t, slapdtest.Options{LDIF: companyLDIF()})
	emu, hs := teamstest.NewServer(t, companySeed(), emulator.Options{BurstLimit: 4, BurstWindow: 500 * time.Millisecond})
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "sync-token")
	if err := os.WriteFile(tokenFile, []byte(syncSecret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	listen := freeAddr(t)
	cfg := daemonConfig(hs.URL+"/v3/teams/"+team, ldapSrv.URL, listen, filepath.Join(dir, "state"), "")
	cfg = strings.Replace(cfg, `"@every 1s"`, `"@every 1h"`, 1)
	cfg = strings.Replace(cfg, "server:\n", "server:\n  sync_token_file: "+tokenFile+"\n", 1)
	path := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	d := startDaemon(t, path, listen) // no --apply
	d.waitFor("the run at start", func() bool { return d.successes() >= 1 })

	for _, bad := range []string{"", "Bearer wrong", "Basic " + syncSecret} {
		if code, _, _ := d.doAuth(http.MethodPost, "/sync", bad); code != http.StatusUnauthorized {
			t.Errorf("POST /sync with %q = %d, want 401", bad, code)
		}
	}
	code, _, body := d.doAuth(http.MethodPost, "/sync?wait=1", "Bearer "+syncSecret)
	if code != http.StatusOK || !strings.Contains(body, `"mode": "dry-run"`) && !strings.Contains(body, `"mode":"dry-run"`) {
		t.Fatalf("POST /sync?wait=1 with the token = %d %q, want the dry run's report", code, body)
	}
	// The report names people: with a token set it needs the token too.
	if code, _, body := d.doAuth(http.MethodGet, "/reports/latest?format=json", "Bearer wrong"); code != http.StatusUnauthorized || strings.Contains(body, "@") {
		t.Errorf("GET /reports/latest with a wrong token = %d %q, want 401 and no report", code, body)
	}
	if code, _, body := d.doAuth(http.MethodGet, "/reports/latest?format=json", "Bearer "+syncSecret); code != http.StatusOK || !strings.Contains(body, `"summary"`) {
		t.Errorf("GET /reports/latest with the token = %d %q, want the report", code, body)
	}
	for _, r := range emu.Requests() {
		if r.Method != http.MethodGet {
			t.Errorf("a dry run wrote: %s %s", r.Method, r.Path)
		}
	}

	// The client paced itself from the throttle headers instead of being refused.
	if got := d.metric("syncd_teams_throttle_wait_seconds_total"); got <= 0 {
		t.Errorf("teams_throttle_wait_seconds_total = %v, want > 0 under a 4-request burst", got)
	}
	if got := d.metric("syncd_teams_requests_total", `code="429"`); got > 0 {
		t.Errorf("%v requests answered 429, want none", got)
	}
	if got := d.metric("syncd_teams_rate_limit_remaining", `limiter="burst"`); got < 0 || got > 4 {
		t.Errorf("teams_rate_limit_remaining{burst} = %v, want 0..4", got)
	}
	if got := d.metric("syncd_teams_rate_limit_remaining", `limiter="bucket"`); got < 0 || got >= 5000 {
		t.Errorf("teams_rate_limit_remaining{bucket} = %v, want what is left of 5000", got)
	}
	if got := d.metric("syncd_teams_request_duration_seconds_count", `route="/user-groups"`); got < 2 {
		t.Errorf("teams_request_duration_seconds_count{/user-groups} = %v, want one per run", got)
	}
	if got := d.metric("syncd_source_read_duration_seconds_count", `source="corp"`); got != 2 {
		t.Errorf("source_read_duration_seconds_count{corp} = %v, want 2 (two runs)", got)
	}

	// The container health check, by URL and by the config's server.listen.
	for _, args := range [][]string{{"--url", d.base + "/healthz"}, {"--config", path}} {
		hc := exec.Command(syncdBin, append([]string{"healthcheck"}, args...)...)
		hc.Env = d.cmd.Env
		if out, err := hc.CombinedOutput(); err != nil {
			t.Errorf("syncd healthcheck %v: %v\n%s", args, err, out)
		}
	}

	_, _, exposition := d.get("/metrics")
	promtoolCheck(t, exposition)
	// This daemon has no SCIM receiver: TestDaemonSCIMReceiver checks those.
	// Nor does it watch: TestWatchOpenLDAP checks the watch metrics.
	checkMonitoringNames(t, exposition, func(name string) bool {
		return !strings.HasPrefix(name, scimPrefix) && !strings.HasPrefix(name, watchPrefix)
	})
	checkNoSecret(t, d, []string{tokenRW, slapdtest.ReaderPW, syncSecret})
}

func (d *daemon) doAuth(method, path, auth string) (int, http.Header, string) {
	d.t.Helper()
	req, err := http.NewRequest(method, d.base+path, nil)
	if err != nil {
		d.t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		d.t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 4<<20)
	for sc.Scan() {
		b.WriteString(sc.Text() + "\n")
	}
	return resp.StatusCode, resp.Header, b.String()
}

// checkNoSecret asks every endpoint, in every form, and looks for the
// secrets in the headers and bodies.
func checkNoSecret(t *testing.T, d *daemon, secrets []string) {
	t.Helper()
	requests := [][2]string{
		{"GET", "/"}, {"GET", "/metrics"}, {"GET", "/healthz"}, {"GET", "/readyz"},
		{"GET", "/reports/latest"}, {"GET", "/reports/latest?format=json"}, {"GET", "/reports/latest?format=text"},
		{"GET", "/reports/latest?format=markdown"}, {"GET", "/reports/latest?format=pdf"},
		{"POST", "/sync"}, {"GET", "/sync"}, {"GET", "/nope"},
	}
	for _, auth := range []string{"", "Bearer " + syncSecret} { // refused, then answered in full
		for _, r := range requests {
			code, hdr, body := d.doAuth(r[0], r[1], auth)
			if code == 0 {
				t.Errorf("%s %s: no answer", r[0], r[1])
			}
			var h strings.Builder
			hdr.Write(&h)
			for _, s := range secrets {
				if strings.Contains(body, s) || strings.Contains(h.String(), s) {
					t.Errorf("%s %s reveals a secret", r[0], r[1])
				}
			}
		}
	}
}

// promtoolCheck lints the daemon's real exposition with promtool.
func promtoolCheck(t *testing.T, exposition string) {
	t.Helper()
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("SYNCD_REQUIRE_SERVERS") != "" {
			t.Fatal("promtool is not installed (apt-get install prometheus) and SYNCD_REQUIRE_SERVERS is set")
		}
		t.Log("promtool is not installed: the exposition is not linted")
		return
	}
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = strings.NewReader(exposition)
	if out, err := cmd.CombinedOutput(); err != nil || strings.TrimSpace(string(out)) != "" {
		t.Errorf("promtool check metrics on /metrics: %v\n%s", err, out)
	}
}

var (
	typeLine   = regexp.MustCompile(`(?m)^# TYPE (\S+) (\S+)$`)
	syncdNames = regexp.MustCompile(`\bsyncd_[a-z0-9_]+`)
)

// scimPrefix starts the names of the SCIM receivers' metrics, exported
// only by a daemon that has one.
const scimPrefix = "syncd_scim_"

// watchPrefix starts the names of the metrics of watch mode's feeds,
// exported per source once a feed runs.
const watchPrefix = "syncd_watch_"

// checkMonitoringNames: every syncd_ name in the alerts, their tests and
// the dashboard for which check is true is exported by the running daemon.
func checkMonitoringNames(t *testing.T, exposition string, check func(string) bool) {
	t.Helper()
	exported := map[string]bool{}
	for _, m := range typeLine.FindAllStringSubmatch(exposition, -1) {
		exported[m[1]] = true
		if m[2] == "histogram" {
			for _, s := range []string{"_bucket", "_sum", "_count"} {
				exported[m[1]+s] = true
			}
		}
	}
	root, err := harness.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"deploy/prometheus/alerts.yaml", "deploy/grafana/syncd-dashboard.json", "deploy/kubernetes/prometheusrule.yaml"} {
		data, err := os.ReadFile(filepath.Join(root, f))
		if err != nil {
			t.Fatal(err)
		}
		names := syncdNames.FindAllString(string(data), -1)
		if len(names) == 0 {
			t.Errorf("%s names no syncd metric", f)
		}
		for _, n := range names {
			if check(n) && !exported[n] {
				t.Errorf("%s uses %s, which the running daemon does not export", f, n)
			}
		}
	}
}

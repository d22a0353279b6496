package daemon

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	gosync "sync"
	"syscall"
	"testing"
	"time"

	"github.com/syncd/syncd/internal/report"
	"github.com/syncd/syncd/internal/source/ldap/slapdtest"
	"github.com/syncd/syncd/internal/teams/emulator"
	"github.com/syncd/syncd/internal/teams/teamstest"
)

// daemon is a `syncd run` process under test.
type daemon struct {
	t       testing.TB
	cmd     *exec.Cmd
	base    string // http://127.0.0.1:PORT
	config  string
	out     *lockedBuffer
	exited  chan struct{}
	exitErr error
}

// lockedBuffer collects the daemon's output while it runs.
type lockedBuffer struct {
	mu gosync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// daemonConfig is the e2e company's config for `syncd run`; extra is more
// YAML items under groups:.
func daemonConfig(apiURL, ldapURL, listen, stateDir, extra string) string {
	return fmt.Sprintf(`teams:
  url: %s
  token: ${SYNCD_E2E_TOKEN}
  timeout: 10s
sources:
  - name: corp
    ldap:
      url: %s
      bind_dn: %s
      bind_password: ${SYNCD_E2E_LDAP_PASSWORD}
      timeout: 5s
      users:
        base_dn: %s
      groups:
        base_dn: %s
groups:
  - source: corp
    from: platform
    to: Platform
  - source: corp
    from: data
    to: Data
%ssync:
  schedule: "@every 1s"
  max_removal_percent: 60
  state_dir: %s
server:
  listen: %s
log:
  level: info
  format: json
`, apiURL, ldapURL, slapdtest.ReaderDN, peopleDN, groupsDN, extra, stateDir, listen)
}

func startDaemon(t testing.TB, configPath, listen string, args ...string) *daemon {
	t.Helper()
	d := &daemon{t: t, base: "http://" + listen, config: configPath, out: &lockedBuffer{}, exited: make(chan struct{})}
	d.cmd = exec.Command(syncdBin, append([]string{"run", "--config", configPath}, args...)...)
	d.cmd.Env = append(os.Environ(), "SYNCD_E2E_TOKEN="+tokenRW, "SYNCD_E2E_LDAP_PASSWORD="+slapdtest.ReaderPW,
		"XDG_RUNTIME_DIR="+filepath.Join(filepath.Dir(configPath), "run")) // writer locks of the test's own
	d.cmd.Stdout, d.cmd.Stderr = d.out, d.out
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { d.exitErr = d.cmd.Wait(); close(d.exited) }()
	t.Cleanup(func() {
		select {
		case <-d.exited:
		default:
			d.cmd.Process.Kill()
			<-d.exited
		}
		if t.Failed() {
			t.Logf("syncd run output:\n%s", d.out.String())
		}
		for _, secret := range []string{tokenRW, slapdtest.ReaderPW} {
			if strings.Contains(d.out.String(), secret) {
				t.Error("a secret appears in the daemon's log")
			}
		}
	})
	d.waitFor("/healthz to answer", func() bool {
		code, _, _ := d.get("/healthz")
		return code == http.StatusOK
	})
	return d
}

// waitFor polls cond for up to 20 s.
func (d *daemon) waitFor(what string, cond func() bool) {
	d.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		select {
		case <-d.exited:
			d.t.Fatalf("syncd run exited (%v) while waiting for %s", d.exitErr, what)
		default:
		}
		if time.Now().After(deadline) {
			d.t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (d *daemon) do(method, path string) (int, http.Header, string) {
	req, err := http.NewRequest(method, d.base+path, nil)
	if err != nil {
		d.t.Fatal(err)
	}
	if method == http.MethodPost {
		req.Header.Set("Content-Type", "application/json") // what POST /sync needs without a token
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err.Error()
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(body)
}

func (d *daemon) get(path string) (int, http.Header, string) { return d.do(http.MethodGet, path) }

var sampleLine = regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$`)

// metric sums the samples of name whose labels include every pair of want
// (written as `k="v"`); -1 when there is none.
func (d *daemon) metric(name string, want ...string) float64 {
	d.t.Helper()
	code, _, body := d.get("/metrics")
	if code != http.StatusOK {
		d.t.Fatalf("/metrics answered %d", code)
	}
	sum, found := 0.0, false
	sc := bufio.NewScanner(strings.NewReader(body))
lines:
	for sc.Scan() {
		m := sampleLine.FindStringSubmatch(sc.Text())
		if m == nil || m[1] != name {
			continue
		}
		for _, w := range want {
			if !strings.Contains(m[2], w) {
				continue lines
			}
		}
		v, err := strconv.ParseFloat(m[3], 64)
		if err != nil {
			d.t.Fatalf("sample %q: %v", sc.Text(), err)
		}
		sum, found = sum+v, true
	}
	if !found {
		return -1
	}
	return sum
}

func (d *daemon) successes() float64 { return d.metric("syncd_runs_total", `result="success"`) }

func (d *daemon) signal(sig syscall.Signal) {
	d.t.Helper()
	if err := d.cmd.Process.Signal(sig); err != nil {
		d.t.Fatal(err)
	}
}

func TestDaemonEndToEnd(t *testing.T) {
	requireBinary(t)
	ldapSrv := slapdtest.Start(t, slapdtest.Options{LDIF: companyLDIF()})
	emu, hs := teamstest.NewServer(t, companySeed(), emulator.Options{Latency: 100 * time.Millisecond})
	dir := t.TempDir()
	listen := freeAddr(t)
	apiURL := hs.URL + "/v3/teams/" + team
	writeConfig := func(text string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, "config.yaml"), []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	writeConfig(daemonConfig(apiURL, ldapSrv.URL, listen, filepath.Join(dir, "state"), ""))
	started := time.Now()
	d := startDaemon(t, filepath.Join(dir, "config.yaml"), listen, "--apply")

	// Scheduled runs every second apply the changes and are counted.
	d.waitFor("two successful runs", func() bool { return d.successes() >= 2 })
	if got := d.metric("syncd_changes_total", `kind="add_members"`, `result="applied"`); got < 1 {
		t.Errorf("changes_total{add_members,applied} = %v, want at least 1", got)
	}
	if ts := d.metric("syncd_last_success_timestamp_seconds"); ts < float64(started.Unix()) {
		t.Errorf("last_success_timestamp_seconds = %v, before the daemon started (%d)", ts, started.Unix())
	}
	if got := d.metric("syncd_teams_requests_total", `route="/user-groups"`, `method="GET"`, `code="200"`); got < 2 {
		t.Errorf("teams_requests_total{GET /user-groups 200} = %v, want one per run at least", got)
	}
	if got := d.metric("syncd_source_users", `source="corp"`); got != float64(len(people)) {
		t.Errorf("source_users{corp} = %v, want %d", got, len(people))
	}
	if got := d.metric("syncd_pending_users"); got != 1 {
		t.Errorf("pending_users = %v, want 1 (the new hire)", got)
	}
	groupHas(t, emu, "Platform", teamsIDs("alice", "bob"))
	groupHas(t, emu, "Data", teamsIDs("carol", "dave"))
	if code, _, body := d.get("/readyz"); code != http.StatusOK {
		t.Errorf("/readyz = %d %q, want 200", code, body)
	}

	// The last report, in HTML and in the contract's JSON.
	code, hdr, body := d.get("/reports/latest")
	if code != http.StatusOK || !strings.HasPrefix(hdr.Get("Content-Type"), "text/html") || !strings.Contains(body, newbieMail) {
		t.Errorf("/reports/latest = %d %s; want HTML naming the pending new hire", code, hdr.Get("Content-Type"))
	}
	code, _, body = d.get("/reports/latest?format=json")
	var rep report.Report
	if err := json.Unmarshal([]byte(body), &rep); code != http.StatusOK || err != nil {
		t.Fatalf("/reports/latest?format=json = %d, %v", code, err)
	}
	if rep.Mode != report.ModeApply || rep.Summary.PendingUsers != 1 || len(rep.Pending) != 1 {
		t.Errorf("JSON report: mode %q pending %d %v", rep.Mode, rep.Summary.PendingUsers, rep.Pending)
	}

	// POST /sync runs now; a second request during that run gets 409.
	before := d.successes()
	var accepted bool
	d.waitFor("POST /sync to start a run", func() bool {
		code, _, _ := d.do(http.MethodPost, "/sync")
		if code == http.StatusAccepted {
			accepted = true
			code, _, body := d.do(http.MethodPost, "/sync")
			if code != http.StatusConflict {
				t.Errorf("POST /sync during a run = %d %q, want 409", code, body)
			}
		}
		return accepted
	})
	d.waitFor("the requested run to be counted", func() bool { return d.successes() > before })

	// SIGHUP with a new mapping: it takes effect at the next run.
	writeConfig(daemonConfig(apiURL, ldapSrv.URL, listen, filepath.Join(dir, "state"),
		"  - source: corp\n    from: k8s-experts\n    to: Experts\n"))
	d.signal(syscall.SIGHUP)
	d.waitFor("the Experts group from the reloaded mapping", func() bool {
		_, ok := emu.GroupByName("Experts")
		return ok
	})
	groupHas(t, emu, "Experts", teamsIDs("erin", "alice"))
	if got := d.metric("syncd_config_reloads_total", `result="success"`); got != 1 {
		t.Errorf("config_reloads_total{success} = %v, want 1", got)
	}

	// A broken config is rejected, counted, and the old one stays in force.
	writeConfig("teams:\n  url: " + apiURL + "\n  tokne: typo\n")
	d.signal(syscall.SIGHUP)
	d.waitFor("the rejected reload to be counted", func() bool {
		return d.metric("syncd_config_reloads_total", `result="failure"`) == 1
	})
	if got := d.metric("syncd_config_last_reload_successful"); got != 0 {
		t.Errorf("config_last_reload_successful = %v, want 0", got)
	}
	after := d.successes()
	d.waitFor("runs to go on with the old configuration", func() bool { return d.successes() >= after+2 })
	groupHas(t, emu, "Experts", teamsIDs("erin", "alice"))
	if !strings.Contains(d.out.String(), "reload rejected") {
		t.Error("the rejected reload was not logged")
	}

	// SIGTERM: exit 0 within 5 s.
	d.signal(syscall.SIGTERM)
	sent := time.Now()
	select {
	case <-d.exited:
	case <-time.After(5 * time.Second):
		t.Fatal("syncd run did not exit within 5 s of SIGTERM")
	}
	var exit *exec.ExitError
	if errors.As(d.exitErr, &exit) || d.exitErr != nil {
		t.Errorf("syncd run exited with %v after SIGTERM, want 0", d.exitErr)
	}
	t.Logf("stopped %v after SIGTERM", time.Since(sent).Round(time.Millisecond))
}

// TestDaemonBadCredentialsNotReady: a rejected Teams token or LDAP bind
// password makes /readyz fail, naming the culprit, while /healthz still
// answers.
func TestDaemonBadCredentialsNotReady(t *testing.T) {
	requireBinary(t)
	ldapSrv := slapdtest.Start(t, slapdtest.Options{LDIF: companyLDIF()})
	for _, c := range []struct{ name, placeholder, wrong, reason string }{
		{"teams token", "${SYNCD_E2E_TOKEN}", "not-a-valid-token", "token"},
		{"read-only token", "${SYNCD_E2E_TOKEN}", tokenRO, "read-only"}, // refused at the first write
		{"ldap password", "${SYNCD_E2E_LDAP_PASSWORD}", "not-the-password", "source corp"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, hs := teamstest.NewServer(t, companySeed(), emulator.Options{})
			dir := t.TempDir()
			listen := freeAddr(t)
			path := filepath.Join(dir, "config.yaml")
			cfg := strings.Replace(daemonConfig(hs.URL+"/v3/teams/"+team, ldapSrv.URL, listen, filepath.Join(dir, "state"), ""),
				c.placeholder, c.wrong, 1)
			if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
				t.Fatal(err)
			}
			d := startDaemon(t, path, listen, "--apply")
			d.waitFor("a failed run", func() bool { return d.metric("syncd_runs_total", `result="failure"`) >= 1 })
			if code, _, body := d.get("/readyz"); code != http.StatusServiceUnavailable || !strings.Contains(body, c.reason) {
				t.Errorf("/readyz = %d %q, want 503 naming %q", code, body, c.reason)
			}
			if code, _, _ := d.get("/healthz"); code != http.StatusOK {
				t.Errorf("/healthz = %d, want 200", code)
			}
			if strings.Contains(d.out.String(), c.wrong) {
				t.Errorf("the wrong %s appears in the log", c.name)
			}
			checkFailedRunSummary(t, d.out.String())
			d.signal(syscall.SIGINT)
			if code, _ := d.exitWithin(5 * time.Second); code != 0 {
				t.Errorf("exit %d after SIGINT, want 0", code)
			}
		})
	}
}

func groupHas(t *testing.T, emu *emulator.Emulator, name string, want []int) {
	t.Helper()
	g, ok := emu.GroupByName(name)
	if !ok {
		t.Errorf("Teams group %q does not exist", name)
		return
	}
	got := slices.Clone(g.UserIDs)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("Teams group %q members = %v, want %v", name, got, want)
	}
}

// checkFailedRunSummary: a failed run still has its one summary line, with
// the mode, the calls and the duration, and the daemon adds none.
func checkFailedRunSummary(t *testing.T, log string) {
	t.Helper()
	found := false
	for _, line := range strings.Split(log, "\n") {
		var e map[string]any
		if json.Unmarshal([]byte(line), &e) != nil {
			continue
		}
		switch e["msg"] {
		case "sync failed", "sync finished":
			if e["exit_code"] == 0.0 {
				continue
			}
			found = true
			for _, k := range []string{"mode", "api_calls", "duration", "exit_code", "failed"} {
				if _, ok := e[k]; !ok {
					t.Errorf("summary of a failed run lacks %q: %s", k, line)
				}
			}
		case "run finished":
			t.Errorf("the daemon repeats the run's summary: %s", line)
		}
	}
	if !found {
		t.Error("no summary line for the failed run")
	}
}

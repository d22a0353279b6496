package daemon

import (
	"bufio"
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/syncd/syncd/internal/source/ldap/slapdtest"
	"github.com/syncd/syncd/internal/teams/emulator"
	"github.com/syncd/syncd/internal/teams/teamstest"
)

// The log contract, through the real binary, for `syncd sync` and for
// `syncd run`: one summary line per run (counts, calls, duration, mode),
// every write logged once at info with its group or tag and its users,
// and no secret anywhere.
func TestLogLines(t *testing.T) {
	requireBinary(t)
	ldapSrv := slapdtest.Start(t, slapdtest.Options{LDIF: companyLDIF()})
	extra := "  - source: corp\n    from: k8s-experts\n    to: Experts\n"
	setup := func(t *testing.T) (path, listen string) {
		_, hs := teamstest.NewServer(t, companySeed(), emulator.Options{})
		dir := t.TempDir()
		listen = freeAddr(t)
		cfg := daemonConfig(hs.URL+"/v3/teams/"+team, ldapSrv.URL, listen, filepath.Join(dir, "state"), extra)
		cfg = strings.Replace(cfg, `"@every 1s"`, `"@every 1h"`, 1)
		path = filepath.Join(dir, "config.yaml")
		if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
			t.Fatal(err)
		}
		return path, listen
	}

	t.Run("sync", func(t *testing.T) {
		path, _ := setup(t)
		cmd := exec.Command(syncdBin, "sync", "--apply", "--config", path, "--format", "json")
		cmd.Env = append(os.Environ(), "SYNCD_E2E_TOKEN="+tokenRW, "SYNCD_E2E_LDAP_PASSWORD="+slapdtest.ReaderPW,
			"XDG_RUNTIME_DIR="+t.TempDir())
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("syncd sync --apply: %v\n%s", err, stderr.String())
		}
		var rep struct {
			Changes []struct{ Status string } `json:"changes"`
		}
		if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
			t.Fatalf("report: %v", err)
		}
		applied := 0
		for _, c := range rep.Changes {
			if c.Status == "applied" {
				applied++
			}
		}
		checkLog(t, stdout.String()+stderr.String(), stderr.String(), 1, applied)
	})

	t.Run("run", func(t *testing.T) {
		path, listen := setup(t)
		d := startDaemon(t, path, listen, "--apply")
		d.waitFor("the run at start", func() bool { return d.successes() >= 1 })
		if code, _, body := d.do(http.MethodPost, "/sync?wait=1"); code != http.StatusOK {
			t.Fatalf("POST /sync?wait=1 = %d %q", code, body)
		}
		applied := d.metric("syncd_changes_total", `result="applied"`)
		runs := d.metric("syncd_runs_total")
		d.signal(syscall.SIGTERM)
		if code, _ := d.exitWithin(5 * time.Second); code != 0 {
			t.Fatalf("exit %d after SIGTERM", code)
		}
		checkLog(t, d.out.String(), d.out.String(), int(runs), int(applied))
	})
}

var writeMsg = regexp.MustCompile(`^(Created|Updated|Added|Removed) `)

// checkLog reads the JSON log lines of log: runs summary lines, and
// applied write lines, each with its fields; all holds every output.
func checkLog(t *testing.T, all, log string, runs, applied int) {
	t.Helper()
	for _, secret := range []string{tokenRW, slapdtest.ReaderPW} {
		if strings.Contains(all, secret) {
			t.Errorf("a secret appears in the output")
		}
	}
	summaries, writes := 0, 0
	sc := bufio.NewScanner(strings.NewReader(log))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var e map[string]any
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Errorf("log line is not JSON: %q", sc.Text())
			continue
		}
		msg, _ := e["msg"].(string)
		switch {
		case msg == "sync finished" || msg == "sync failed":
			summaries++
			for _, k := range []string{"mode", "planned", "applied", "failed", "held", "api_calls", "duration", "exit_code"} {
				if _, ok := e[k]; !ok {
					t.Errorf("summary line lacks %q: %s", k, sc.Text())
				}
			}
			if e["mode"] != "apply" {
				t.Errorf("summary mode %v, want apply", e["mode"])
			}
		case msg == "run finished" || msg == "run ended without a result":
			t.Errorf("the daemon logs a second line for a run: %s", sc.Text())
		case writeMsg.MatchString(msg):
			writes++
			checkWriteLine(t, e, sc.Text())
		}
	}
	if summaries != runs {
		t.Errorf("%d summary lines for %d runs, want one each", summaries, runs)
	}
	if writes != applied || applied == 0 {
		t.Errorf("%d write lines for %d applied changes, want one each (and some)", writes, applied)
	}
}

func checkWriteLine(t *testing.T, e map[string]any, line string) {
	t.Helper()
	if e["level"] != "info" {
		t.Errorf("write logged at %v, want info: %s", e["level"], line)
	}
	if e["group"] == nil && e["tag"] == nil {
		t.Errorf("write line names no group or tag: %s", line)
	}
	kind, _ := e["kind"].(string)
	if strings.HasSuffix(kind, "_members") || strings.HasSuffix(kind, "_sme_users") {
		users, _ := e["users"].([]any)
		if len(users) == 0 {
			t.Errorf("write line of %s has no users field: %s", kind, line)
		}
		for _, u := range users {
			if s, _ := u.(string); !strings.Contains(s, "@") {
				t.Errorf("user %v is not named by e-mail: %s", u, line)
			}
		}
	}
}

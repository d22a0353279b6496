package deploytest

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/syncd/syncd/internal/config"
)

var units = []string{"syncd.service", "syncd-sync.service", "syncd-sync.timer"}

// installUnits copies the units into a temporary directory with ExecStart
// pointed at bin, as systemd-analyze verify insists the binary exists.
func installUnits(t *testing.T, bin string) string {
	t.Helper()
	dir := t.TempDir()
	for _, u := range units {
		text := strings.ReplaceAll(string(readFile(t, deployPath(t, "systemd", u))), "/usr/local/bin/syncd", bin)
		if err := os.WriteFile(filepath.Join(dir, u), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestSystemdVerify(t *testing.T) {
	analyze := requireTool(t, "systemd-analyze", "apt-get install systemd")
	dir := installUnits(t, staticBinary(t))
	for _, u := range units {
		code, stdout, stderr := run(t, dir, nil, analyze, "verify", "--man=no", "./"+u)
		if code != 0 || strings.TrimSpace(stderr) != "" {
			t.Errorf("systemd-analyze verify %s: exit %d\n%s%s", u, code, stdout, stderr)
		}
	}
}

func TestSystemdVerifyCatchesAMissingBinary(t *testing.T) {
	analyze := requireTool(t, "systemd-analyze", "apt-get install systemd")
	dir := installUnits(t, "/nonexistent/syncd")
	code, _, stderr := run(t, dir, nil, analyze, "verify", "--man=no", "./syncd.service")
	if code == 0 && strings.TrimSpace(stderr) == "" {
		t.Error("verify accepted a unit whose binary is missing: the check above could not fail")
	}
}

var exposure = regexp.MustCompile(`Overall exposure level for (\S+): ([0-9.]+) (\S+)`)

func TestSystemdSecurityScore(t *testing.T) {
	analyze := requireTool(t, "systemd-analyze", "apt-get install systemd")
	dir := installUnits(t, staticBinary(t))
	for _, u := range []string{"syncd.service", "syncd-sync.service"} {
		_, stdout, stderr := run(t, dir, nil, analyze, "security", "--offline=true", "--no-pager", "./"+u)
		m := exposure.FindStringSubmatch(stdout + stderr)
		if m == nil {
			t.Fatalf("no exposure level in the output of systemd-analyze security %s:\n%s%s", u, stdout, stderr)
		}
		score, err := strconv.ParseFloat(m[2], 64)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: exposure %.1f %s", u, score, m[3])
		if score > 2.0 || m[3] != "OK" {
			t.Errorf("%s: exposure %.1f %s, want 2.0 or lower (OK)", u, score, m[3])
		}
	}
}

// unitSettings reads Key=Value lines (all values of repeated keys).
func unitSettings(t *testing.T, name string) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, line := range strings.Split(string(readFile(t, deployPath(t, "systemd", name))), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' || line[0] == '[' {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if ok {
			out[k] = append(out[k], v)
		}
	}
	return out
}

func TestSystemdServiceSettings(t *testing.T) {
	s := unitSettings(t, "syncd.service")
	want := map[string]string{
		"Type": "notify", "NotifyAccess": "main", "DynamicUser": "yes", "StateDirectory": "syncd",
		"NoNewPrivileges": "yes", "ProtectSystem": "strict", "CapabilityBoundingSet": "",
		"SystemCallArchitectures": "native", "UMask": "0077", "ExecReload": "/bin/kill -HUP $MAINPID",
	}
	for k, v := range want {
		if len(s[k]) == 0 || s[k][0] != v {
			t.Errorf("syncd.service %s = %q, want %q", k, s[k], v)
		}
	}
	if len(s["WatchdogSec"]) == 0 {
		t.Error("syncd.service has no WatchdogSec (syncd sends WATCHDOG=1)")
	}
	if !strings.Contains(s["ExecStart"][0], " run ") {
		t.Errorf("ExecStart %q does not run the daemon", s["ExecStart"][0])
	}
	creds := strings.Join(s["LoadCredential"], " ")
	for _, c := range []string{"teams-token:", "ldap-password:"} {
		if !strings.Contains(creds, c) {
			t.Errorf("no LoadCredential for %s", c)
		}
	}
	if af := strings.Join(s["RestrictAddressFamilies"], " "); !strings.Contains(af, "AF_INET") || !strings.Contains(af, "AF_UNIX") {
		t.Errorf("RestrictAddressFamilies %q must allow the network and the notify socket", af)
	}
	if !slices.Contains(s["SystemCallFilter"], "@system-service") {
		t.Errorf("SystemCallFilter %q lacks @system-service", s["SystemCallFilter"])
	}
	for _, k := range []string{"ProtectHome", "PrivateTmp", "PrivateDevices", "RestrictNamespaces", "MemoryDenyWriteExecute", "LockPersonality"} {
		if len(s[k]) == 0 || s[k][0] != "yes" {
			t.Errorf("syncd.service %s = %q, want yes", k, s[k])
		}
	}
	if v := s["ProcSubset"]; len(v) > 0 && v[0] == "pid" {
		t.Error("ProcSubset=pid hides /proc/stat, which the process metrics read")
	}
	if _, ok := s["IPAddressDeny"]; ok {
		t.Error("IPAddressDeny would cut syncd off from LDAP and the Teams API")
	}
	sync := unitSettings(t, "syncd-sync.service")
	if sync["Type"][0] != "oneshot" || !strings.Contains(sync["ExecStart"][0], " sync ") {
		t.Errorf("syncd-sync.service: Type %q ExecStart %q", sync["Type"], sync["ExecStart"])
	}
	for name, exec := range map[string]string{"syncd.service": s["ExecStart"][0], "syncd-sync.service": sync["ExecStart"][0]} {
		if strings.Contains(exec, "--apply") {
			t.Errorf("%s ExecStart %q passes --apply: the config's sync.apply must decide, false until a report was read", name, exec)
		}
	}
	for _, k := range []string{"DynamicUser", "StateDirectory", "LoadCredential", "ProtectSystem", "CapabilityBoundingSet", "SystemCallFilter"} {
		if !slices.Equal(sync[k], s[k]) {
			t.Errorf("syncd-sync.service %s = %q, want the daemon's %q", k, sync[k], s[k])
		}
	}
}

// The timer does what its comment says: a start every 30 minutes on the
// calendar, which Persistent= needs to catch up a missed start (it does
// nothing for monotonic timers such as OnUnitActiveSec=).
func TestSystemdTimer(t *testing.T) {
	timer := unitSettings(t, "syncd-sync.timer")
	if len(timer["OnCalendar"]) != 1 {
		t.Fatalf("syncd-sync.timer OnCalendar %q, want one calendar schedule", timer["OnCalendar"])
	}
	if p := timer["Persistent"]; len(p) != 1 || p[0] != "yes" {
		t.Errorf("Persistent %q, want yes (a start missed while off runs at boot)", p)
	}
	for _, k := range []string{"OnUnitActiveSec", "OnUnitInactiveSec", "OnBootSec", "OnStartupSec", "OnActiveSec"} {
		if len(timer[k]) > 0 {
			t.Errorf("%s=%s beside OnCalendar: two schedules, and Persistent= ignores it", k, timer[k][0])
		}
	}
	if len(timer["RandomizedDelaySec"]) == 0 {
		t.Error("no RandomizedDelaySec: every host would call the API at the same second")
	}
	analyze := requireTool(t, "systemd-analyze", "apt-get install systemd")
	_, stdout, stderr := run(t, t.TempDir(), nil, analyze, "calendar", "--iterations=4", timer["OnCalendar"][0])
	var elapses []time.Time
	for _, m := range regexp.MustCompile(`(?m)(?:Next elapse|Iter\. #\d+): \w+ (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)`).FindAllStringSubmatch(stdout, -1) {
		at, err := time.Parse(time.DateTime, m[1])
		if err != nil {
			t.Fatal(err)
		}
		elapses = append(elapses, at)
	}
	if len(elapses) != 4 {
		t.Fatalf("systemd-analyze calendar %s: %d elapses in\n%s%s", timer["OnCalendar"][0], len(elapses), stdout, stderr)
	}
	for i := 1; i < len(elapses); i++ {
		if d := elapses[i].Sub(elapses[i-1]); d != 30*time.Minute {
			t.Errorf("OnCalendar=%s: %v between starts, want 30m as the timer's description says", timer["OnCalendar"][0], d)
		}
	}
}

// The unit's example config must load with the secrets where systemd puts
// them ($CREDENTIALS_DIRECTORY), and use the unit's StateDirectory.
func TestSystemdConfigLoads(t *testing.T) {
	creds := writeSecrets(t, map[string]string{"teams-token": "tok-123\n", "ldap-password": "pw-456"})
	cfg, err := config.Load(deployPath(t, "systemd", "config.yaml"), envFunc(map[string]string{"CREDENTIALS_DIRECTORY": creds}))
	if err != nil {
		t.Fatalf("deploy/systemd/config.yaml: %v", err)
	}
	if cfg.Teams.Token.Reveal() != "tok-123" || cfg.Sources[0].LDAP.BindPassword.Reveal() != "pw-456" {
		t.Error("the secrets were not read from $CREDENTIALS_DIRECTORY")
	}
	if cfg.Sync.StateDir != "/var/lib/syncd" {
		t.Errorf("state_dir %q, want /var/lib/syncd (StateDirectory=syncd)", cfg.Sync.StateDir)
	}
	if cfg.Server.Listen != "127.0.0.1:9184" {
		t.Errorf("listen %q, want loopback", cfg.Server.Listen)
	}
	if cfg.Sync.Apply {
		t.Error("deploy/systemd/config.yaml has sync.apply: true: a first installation must be a dry run")
	}
}

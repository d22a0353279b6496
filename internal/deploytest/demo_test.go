package deploytest

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/syncd/syncd/internal/report"
)

// TestComposeDemoRuns plays the compose demo without containers: the demo's
// slapd.conf and sample company in a real slapd, the teams-emulator binary
// with the demo seed, and syncd with the demo config (service names turned
// into loopback addresses). The first sync applies changes; the second
// finds none.
func TestComposeDemoRuns(t *testing.T) {
	slapd := requireTool(t, "slapd", "apt-get install slapd")
	slapadd := requireTool(t, "slapadd", "apt-get install slapd")
	root := repoRoot(t)
	dir := t.TempDir()
	ldapURL := startDemoSlapd(t, slapd, slapadd, dir)
	apiURL := startEmulator(t, filepath.Join(root, "examples", "quickstart", "teams-seed.json"))

	c := loadCompose(t)
	env := c.Services["syncd"].Environment
	text := string(readFile(t, deployPath(t, "docker", "demo", "config.yaml")))
	text = strings.NewReplacer("http://teams-emulator:8080", apiURL, "ldap://openldap:389", ldapURL,
		"/var/lib/syncd", filepath.Join(dir, "state"), "0.0.0.0:9184", "127.0.0.1:0").Replace(text)
	cfgPath := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfgPath, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	var envList []string
	for k, v := range env {
		envList = append(envList, k+"="+v)
	}
	bin := staticBinary(t)
	first := demoSync(t, bin, dir, cfgPath, envList)
	if first.Summary.ChangesApplied == 0 || first.Summary.ChangesFailed != 0 {
		t.Errorf("first demo sync: %+v, want changes applied and none failed", first.Summary)
	}
	second := demoSync(t, bin, dir, cfgPath, envList)
	if second.Summary.ChangesPlanned != 0 {
		t.Errorf("second demo sync plans %d changes, want 0 (converged)", second.Summary.ChangesPlanned)
	}
}

func demoSync(t *testing.T, bin, dir, cfgPath string, env []string) report.Report {
	t.Helper()
	out := filepath.Join(dir, fmt.Sprintf("report-%d.json", time.Now().UnixNano()))
	code, stdout, stderr := run(t, dir, env, bin, "sync", "--config", cfgPath, "--report", out, "--format", "json")
	if code != 0 {
		t.Fatalf("syncd sync with the demo config: exit %d\n%s%s", code, stdout, stderr)
	}
	var rep report.Report
	if err := json.Unmarshal(readFile(t, out), &rep); err != nil {
		t.Fatal(err)
	}
	return rep
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// startDemoSlapd runs slapd with the demo's slapd.conf and the sample
// company, as the demo's openldap image does.
func startDemoSlapd(t *testing.T, slapd, slapadd, dir string) string {
	t.Helper()
	db := filepath.Join(dir, "ldap")
	if err := os.Mkdir(db, 0o700); err != nil {
		t.Fatal(err)
	}
	conf := strings.NewReplacer("directory /var/lib/ldap", "directory "+db,
		"pidfile /tmp/slapd.pid", "pidfile "+filepath.Join(dir, "slapd.pid")).
		Replace(string(readFile(t, deployPath(t, "docker", "openldap", "slapd.conf"))))
	confPath := filepath.Join(dir, "slapd.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	ldif := filepath.Join(repoRoot(t), "examples", "quickstart", "company.ldif")
	if code, stdout, stderr := run(t, dir, nil, slapadd, "-q", "-f", confPath, "-l", ldif); code != 0 {
		t.Fatalf("slapadd: exit %d\n%s%s", code, stdout, stderr)
	}
	// A port chosen free may be taken before slapd binds it (other tests
	// start servers too): slapd then exits, and another port is tried.
	for attempt := 1; ; attempt++ {
		url, err := runDemoSlapd(t, slapd, confPath)
		if err == nil {
			return url
		}
		if attempt == 3 {
			t.Fatal(err)
		}
	}
}

// runDemoSlapd starts slapd on a free port and waits until it answers an
// LDAP search (not merely a TCP connect, which another listener could take).
func runDemoSlapd(t *testing.T, slapd, confPath string) (string, error) {
	t.Helper()
	url := fmt.Sprintf("ldap://127.0.0.1:%d", freePort(t))
	cmd := exec.Command(slapd, "-d", "0", "-f", confPath, "-h", url+"/")
	var logs strings.Builder
	cmd.Stderr = &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() { cmd.Process.Kill(); <-exited })
	deadline := time.Now().Add(10 * time.Second)
	for {
		select {
		case <-exited:
			return "", fmt.Errorf("slapd exited:\n%s", logs.String())
		default:
		}
		if conn, err := goldap.DialURL(url); err == nil {
			_, err = conn.Search(goldap.NewSearchRequest("", goldap.ScopeBaseObject, 0, 0, 0, false, "(objectClass=*)", nil, nil))
			conn.Close()
			if err == nil {
				return url, nil
			}
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			return "", fmt.Errorf("slapd did not answer:\n%s", logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// startEmulator builds (as the Dockerfile does) and runs cmd/teams-emulator with seed; it returns
// its http://ADDR.
func startEmulator(t *testing.T, seed string) string {
	t.Helper()
	cmd := exec.Command(staticCommand(t, "teams-emulator"), "--listen", "127.0.0.1:0", "--seed", seed)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	base, ok := strings.CutPrefix(strings.TrimSpace(line), "listening on ")
	if err != nil || !ok {
		t.Fatalf("teams-emulator did not say where it listens: %q %v", line, err)
	}
	return base
}

package deploytest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// healthcheckCommand is the Dockerfile's HEALTHCHECK command, with the
// image's syncd replaced by bin.
func healthcheckCommand(t *testing.T, bin string) []string {
	t.Helper()
	stages, _ := dockerStages(t, string(readFile(t, deployPath(t, "docker", "Dockerfile"))))
	m := regexp.MustCompile(`(?m)^HEALTHCHECK\b.*\bCMD\s+(\[.*\])\s*$`).FindStringSubmatch(strings.Join(stages["syncd"], "\n"))
	if m == nil {
		t.Fatal("no HEALTHCHECK ... CMD [...] in the syncd stage")
	}
	var args []string
	if err := json.Unmarshal([]byte(m[1]), &args); err != nil || len(args) == 0 {
		t.Fatalf("HEALTHCHECK CMD %s: %v", m[1], err)
	}
	if args[0] != "/usr/local/bin/syncd" {
		t.Fatalf("HEALTHCHECK runs %s, not the image's syncd", args[0])
	}
	args[0] = bin
	return args
}

// daemonConfig writes a config of the quick start's sample company and
// emulated Teams site, with token, served on a free loopback port; it
// returns the config's path and the server's base URL.
func daemonConfig(t *testing.T, token string) (string, string) {
	t.Helper()
	dir := t.TempDir()
	for _, f := range []string{"company.ldif", "teams-seed.json"} {
		if err := os.WriteFile(filepath.Join(dir, f), readFile(t, filepath.Join(repoRoot(t), "examples", "quickstart", f)), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	listen := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	cfg := fmt.Sprintf(`teams:
  url: emulator:teams-seed.json
  token: %s
sources:
  - name: corp
    ldif:
      path: company.ldif
      users: {base_dn: "ou=people,dc=example,dc=com"}
      groups: {base_dn: "ou=groups,dc=example,dc=com", member_attributes: [member]}
groups:
  - {source: corp, from: platform, to: Platform}
sync:
  schedule: "@every 1h"
  state_dir: %s
server:
  listen: %s
`, token, filepath.Join(dir, "state"), listen)
	path := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return path, "http://" + listen
}

// startDaemon runs `syncd run` until the test ends.
func startDaemon(t *testing.T, bin, cfg string) {
	t.Helper()
	cmd := exec.Command(bin, "run", "--config", cfg)
	var logs strings.Builder
	cmd.Stderr = &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("syncd run log:\n%s", logs.String())
		}
	})
}

// waitFor polls url until check accepts its status and body.
func waitFor(t *testing.T, url string, check func(int, string) bool) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second) // a busy machine
	for {
		if resp, err := http.Get(url); err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if check(resp.StatusCode, string(body)) {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never gave what the test waits for", url)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func status(url string) int {
	resp, err := http.Get(url)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// The container's HEALTHCHECK agrees with /readyz: unhealthy (with the
// reason) while the daemon serves but cannot sync, healthy once it can.
func TestDockerHealthcheckFollowsReadiness(t *testing.T) {
	bin := staticBinary(t)
	check := healthcheckCommand(t, bin)
	for _, c := range []struct {
		name, token string
		ready       int
	}{
		{"token rejected", "not-the-token", http.StatusServiceUnavailable},
		{"token accepted", "quickstart-token", http.StatusOK},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg, base := daemonConfig(t, c.token)
			startDaemon(t, bin, cfg)
			waitFor(t, base+"/metrics", func(code int, body string) bool { // the first run is over
				return code == http.StatusOK && regexp.MustCompile(`(?m)^syncd_last_run_timestamp_seconds [1-9]`).MatchString(body)
			})
			if got := status(base + "/readyz"); got != c.ready {
				t.Fatalf("/readyz %d, want %d", got, c.ready)
			}
			if got := status(base + "/healthz"); got != http.StatusOK {
				t.Fatalf("/healthz %d, want 200", got)
			}
			code, stdout, stderr := run(t, t.TempDir(), []string{"SYNCD_CONFIG=" + cfg}, check[0], check[1:]...)
			if healthy := code == 0; healthy != (c.ready == http.StatusOK) {
				t.Errorf("HEALTHCHECK %v: exit %d while /readyz is %d\n%s%s", check[1:], code, c.ready, stdout, stderr)
			}
			if c.ready != http.StatusOK && !strings.Contains(stderr, "rejected the token") {
				t.Errorf("HEALTHCHECK does not say why it is unhealthy: %q", stderr)
			}
		})
	}
}

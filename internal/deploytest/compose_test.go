package deploytest

import (
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/syncd/syncd/internal/config"
	"github.com/syncd/syncd/internal/server"
)

type composeFile struct {
	Services map[string]struct {
		Build struct {
			Context    string `yaml:"context"`
			Dockerfile string `yaml:"dockerfile"`
			Target     string `yaml:"target"`
		} `yaml:"build"`
		Command     []string          `yaml:"command"`
		Environment map[string]string `yaml:"environment"`
		Volumes     []string          `yaml:"volumes"`
		Ports       []string          `yaml:"ports"`
		DependsOn   map[string]any    `yaml:"depends_on"`
		ReadOnly    bool              `yaml:"read_only"`
	} `yaml:"services"`
	Volumes map[string]any `yaml:"volumes"`
}

func loadCompose(t *testing.T) composeFile {
	t.Helper()
	var c composeFile
	if err := yaml.Unmarshal(readFile(t, deployPath(t, "docker", "compose.yaml")), &c); err != nil {
		t.Fatalf("compose.yaml: %v", err)
	}
	return c
}

func TestComposeDemo(t *testing.T) {
	c := loadCompose(t)
	dir := deployPath(t, "docker")
	for _, name := range []string{"openldap", "teams-emulator", "syncd"} {
		if _, ok := c.Services[name]; !ok {
			t.Fatalf("compose.yaml has no service %q", name)
		}
	}
	for name, s := range c.Services {
		ctx := filepath.Join(dir, s.Build.Context)
		dockerfile := filepath.Join(ctx, "Dockerfile")
		if s.Build.Dockerfile != "" {
			dockerfile = filepath.Join(ctx, s.Build.Dockerfile)
		}
		text, err := os.ReadFile(dockerfile)
		if err != nil {
			t.Errorf("service %s: %v", name, err)
			continue
		}
		if s.Build.Target != "" && !strings.Contains(string(text), " AS "+s.Build.Target+"\n") {
			t.Errorf("service %s: build target %q is not a stage of %s", name, s.Build.Target, dockerfile)
		}
		for _, v := range s.Volumes {
			src, _, _ := strings.Cut(v, ":")
			if strings.HasPrefix(src, ".") {
				if _, err := os.Stat(filepath.Join(dir, src)); err != nil {
					t.Errorf("service %s mounts %s, which does not exist", name, src)
				}
			} else if _, ok := c.Volumes[src]; !ok {
				t.Errorf("service %s uses undeclared volume %q", name, src)
			}
		}
		for _, p := range s.Ports {
			if !strings.HasPrefix(p, "127.0.0.1:") {
				t.Errorf("service %s publishes %s beyond loopback", name, p)
			}
		}
	}
	syncd := c.Services["syncd"]
	if !syncd.ReadOnly || syncd.Command[0] != "run" {
		t.Errorf("syncd service: read_only %v command %v", syncd.ReadOnly, syncd.Command)
	}
	if _, ok := syncd.DependsOn["openldap"]; !ok {
		t.Error("syncd does not wait for openldap")
	}
}

// The demo's syncd config must load with the compose environment and point
// at the compose services.
func TestComposeDemoConfig(t *testing.T) {
	c := loadCompose(t)
	s := c.Services["syncd"]
	cfgPath := ""
	for _, v := range s.Volumes {
		if src, dst, _ := strings.Cut(v, ":"); strings.HasPrefix(dst, "/etc/syncd/config.yaml") {
			cfgPath = filepath.Join(deployPath(t, "docker"), src)
		}
	}
	if cfgPath == "" {
		t.Fatal("no config mounted at /etc/syncd/config.yaml")
	}
	cfg, err := config.Load(cfgPath, envFunc(s.Environment))
	if err != nil {
		t.Fatalf("demo config: %v", err)
	}
	u, err := url.Parse(cfg.Teams.URL)
	if err != nil || u.Hostname() != "teams-emulator" || u.Port() != "8080" {
		t.Errorf("teams.url %q does not point at the teams-emulator service", cfg.Teams.URL)
	}
	if emu := strings.Join(c.Services["teams-emulator"].Command, " "); !strings.Contains(emu, "0.0.0.0:8080") {
		t.Errorf("teams-emulator command %q does not listen on 8080", emu)
	}
	if l := cfg.Sources[0].LDAP; l == nil || !strings.Contains(l.URLs[0], "//openldap:389") {
		t.Errorf("LDAP source does not point at the openldap service: %+v", cfg.Sources[0])
	}
	if cfg.Server.Listen != "0.0.0.0:9184" {
		t.Errorf("server.listen %q: the published port needs 0.0.0.0:9184", cfg.Server.Listen)
	}
	checkEndpointsProtected(t, "compose demo", cfg)
	if !strings.Contains(string(readFile(t, deployPath(t, "docker", "openldap", "slapd.conf"))), "rootpw "+s.Environment["SYNCD_LDAP_PASSWORD"]) {
		t.Error("the demo LDAP password differs from slapd.conf's rootpw")
	}
}

// The demo's slapd.conf and sample LDIF load into a real slapd.
func TestComposeDemoDirectoryLoads(t *testing.T) {
	slapadd := requireTool(t, "slapadd", "apt-get install slapd")
	dir := t.TempDir()
	conf := strings.ReplaceAll(string(readFile(t, deployPath(t, "docker", "openldap", "slapd.conf"))),
		"directory /var/lib/ldap", "directory "+dir)
	conf = strings.ReplaceAll(conf, "pidfile /tmp/slapd.pid", "pidfile "+filepath.Join(dir, "slapd.pid"))
	confPath := filepath.Join(dir, "slapd.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	ldif := filepath.Join(repoRoot(t), "examples", "quickstart", "company.ldif")
	code, stdout, stderr := run(t, dir, nil, slapadd, "-q", "-f", confPath, "-l", ldif)
	if code != 0 {
		t.Fatalf("slapadd with the demo slapd.conf: exit %d\n%s%s", code, stdout, stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "data.mdb")); err != nil {
		t.Errorf("no database written: %v", err)
	}
}

// checkEndpointsProtected: a daemon listening beyond loopback has a sync
// token, or POST /sync and /reports/latest are refused (and a demo that
// applies changes would be useless, or worse if the refusal were lifted).
func checkEndpointsProtected(t *testing.T, what string, cfg *config.Config) {
	t.Helper()
	if !server.IsLoopback(cfg.Server.Listen) && cfg.Server.SyncToken.Reveal() == "" {
		t.Errorf("%s: server.listen %q is not loopback and no sync token is set: POST /sync and /reports/latest are disabled",
			what, cfg.Server.Listen)
	}
}

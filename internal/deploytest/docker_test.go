package deploytest

import (
	"debug/elf"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func TestDockerfileLint(t *testing.T) {
	lint := requireTool(t, "dockerfilelint", "npm install -g dockerfilelint@1.8.0")
	for _, f := range []string{"Dockerfile", "openldap/Dockerfile"} {
		code, stdout, stderr := run(t, deployPath(t, "docker"), nil, lint, f)
		if code != 0 {
			t.Errorf("dockerfilelint %s: exit %d\n%s%s", f, code, stdout, stderr)
		}
	}
}

// The linter really lints: a Dockerfile with known faults fails it.
func TestDockerfileLintCatchesAProblem(t *testing.T) {
	lint := requireTool(t, "dockerfilelint", "npm install -g dockerfilelint@1.8.0")
	dir := t.TempDir()
	bad := "FROM debian\nRUN apt-get install curl\n"
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, stdout, _ := run(t, dir, nil, lint, "Dockerfile"); code == 0 {
		t.Errorf("dockerfilelint passed a Dockerfile with an untagged base and apt-get without -y:\n%s", stdout)
	}
}

// dockerStages splits a Dockerfile into stages by FROM, keyed by name.
func dockerStages(t *testing.T, text string) (map[string][]string, []string) {
	t.Helper()
	stages := map[string][]string{}
	var order []string
	cur := ""
	for _, line := range logicalLines(text) {
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		if strings.EqualFold(fields[0], "FROM") {
			cur = fields[1]
			if len(fields) >= 4 && strings.EqualFold(fields[2], "AS") {
				cur = fields[3]
			}
			order = append(order, cur)
		}
		stages[cur] = append(stages[cur], line)
	}
	return stages, order
}

// logicalLines joins continuation lines and drops comments.
func logicalLines(text string) []string {
	var out []string
	var b strings.Builder
	for _, line := range strings.Split(text, "\n") {
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "#") {
			continue
		}
		if strings.HasSuffix(trimmed, "\\") {
			b.WriteString(strings.TrimSuffix(trimmed, "\\") + " ")
			continue
		}
		b.WriteString(trimmed)
		out = append(out, b.String())
		b.Reset()
	}
	return out
}

func TestDockerfileShape(t *testing.T) {
	stages, order := dockerStages(t, string(readFile(t, deployPath(t, "docker", "Dockerfile"))))
	if len(order) < 2 || order[len(order)-1] != "syncd" {
		t.Fatalf("stages %v: want a multi-stage build ending with the syncd stage (the default target)", order)
	}
	build := strings.Join(stages["build"], "\n")
	for _, want := range []string{"CGO_ENABLED=0", "-trimpath", "./cmd/syncd", "./cmd/teams-emulator"} {
		if !strings.Contains(build, want) {
			t.Errorf("build stage lacks %q", want)
		}
	}
	for _, name := range []string{"syncd", "teams-emulator"} {
		final := strings.Join(stages[name], "\n")
		if !strings.Contains(final, "distroless/static") {
			t.Errorf("stage %s is not on a distroless static (CA certificates, no shell) base", name)
		}
		user := regexp.MustCompile(`(?m)^USER\s+(\S+)`).FindStringSubmatch(final)
		if user == nil || strings.HasPrefix(user[1], "0") || strings.HasPrefix(user[1], "root") {
			t.Errorf("stage %s runs as %v, want a non-root user", name, user)
		}
	}
	final := strings.Join(stages["syncd"], "\n")
	if strings.Contains(final, "--apply") {
		t.Error("the syncd image passes --apply: it must be a dry run until the config says sync.apply: true")
	}
	for _, want := range []string{`HEALTHCHECK`, `"healthcheck"]`, `ENTRYPOINT ["/usr/local/bin/syncd"]`, `SYNCD_CONFIG=/etc/syncd/config.yaml`, `/var/lib/syncd`} {
		if !strings.Contains(final, want) {
			t.Errorf("syncd stage lacks %q", want)
		}
	}
}

func TestDockerignore(t *testing.T) {
	ignore := string(readFile(t, deployPath(t, "docker", "Dockerfile.dockerignore")))
	for _, want := range []string{".git", "node_modules", ".state"} {
		if !strings.Contains(ignore, want) {
			t.Errorf("Dockerfile.dockerignore does not keep %s out of the build context", want)
		}
	}
}

// The build the Dockerfile does, done for real: a static binary that runs.
func TestStaticBuild(t *testing.T) {
	bin := staticBinary(t)
	code, stdout, stderr := run(t, t.TempDir(), nil, bin, "version")
	if code != 0 || !strings.HasPrefix(stdout, "syncd ") {
		t.Fatalf("syncd version: exit %d %q %q", code, stdout, stderr)
	}
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Error("the binary has an ELF interpreter: it is dynamically linked")
		}
	}
	if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
		t.Errorf("the binary needs shared libraries %v", libs)
	}
	data, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	if root := repoRoot(t); strings.Contains(string(data), filepath.Join(root, "internal")) {
		t.Errorf("the binary holds build paths under %s: -trimpath was not applied", root)
	}
}

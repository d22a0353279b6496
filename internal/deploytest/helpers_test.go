package deploytest

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	gosync "sync"
	"testing"

	"github.com/syncd/syncd/e2e/harness"
)

// repoRoot is the module's root directory.
func repoRoot(tb testing.TB) string {
	tb.Helper()
	root, err := harness.ModuleRoot()
	if err != nil {
		tb.Fatal(err)
	}
	return root
}

func deployPath(tb testing.TB, parts ...string) string {
	return filepath.Join(append([]string{repoRoot(tb), "deploy"}, parts...)...)
}

func readFile(tb testing.TB, path string) []byte {
	tb.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	return data
}

// requireTool finds a program; without it the test is skipped, unless
// SYNCD_REQUIRE_SERVERS is set (CI), where it fails.
func requireTool(tb testing.TB, name, install string) string {
	tb.Helper()
	path, err := exec.LookPath(name)
	if err == nil {
		return path
	}
	if os.Getenv("SYNCD_REQUIRE_SERVERS") != "" {
		tb.Fatalf("%s is not installed (%s) and SYNCD_REQUIRE_SERVERS is set", name, install)
	}
	tb.Skipf("%s is not installed (%s); set SYNCD_REQUIRE_SERVERS to make this a failure", name, install)
	return ""
}

// goTool is the go command running these tests ($GOROOT/bin/go under go
// test), else the one on PATH.
func goTool() string {
	if root := os.Getenv("GOROOT"); root != "" {
		if p := filepath.Join(root, "bin", "go"); fileExists(p) {
			return p
		}
	}
	return "go"
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

var (
	binMu    gosync.Mutex
	binDir   string
	binPaths = map[string]string{}
)

// staticBinary builds syncd the way the Dockerfile does (CGO_ENABLED=0,
// -trimpath), once per test binary.
func staticBinary(tb testing.TB) string { return staticCommand(tb, "syncd") }

// staticCommand builds ./cmd/NAME as the Dockerfile does, once.
func staticCommand(tb testing.TB, name string) string {
	tb.Helper()
	binMu.Lock()
	defer binMu.Unlock()
	if p, ok := binPaths[name]; ok {
		return p
	}
	if binDir == "" {
		dir, err := os.MkdirTemp("", "syncd-deploytest")
		if err != nil {
			tb.Fatal(err)
		}
		binDir = dir
	}
	out := filepath.Join(binDir, name)
	cmd := exec.Command(goTool(), "build", "-trimpath", "-o", out, "./cmd/"+name)
	cmd.Dir = repoRoot(tb)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if msg, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("CGO_ENABLED=0 go build -trimpath ./cmd/%s: %v\n%s", name, err, msg)
	}
	binPaths[name] = out
	return out
}

// run executes a command and returns its exit code, stdout and stderr.
func run(tb testing.TB, dir string, env []string, name string, args ...string) (int, string, string) {
	tb.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		tb.Fatalf("%s %s: %v", name, strings.Join(args, " "), err)
	}
	return code, stdout.String(), stderr.String()
}

// writeSecrets creates secret files of mode 0600 in a new directory.
func writeSecrets(tb testing.TB, files map[string]string) string {
	tb.Helper()
	dir := tb.TempDir()
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			tb.Fatal(err)
		}
	}
	return dir
}

func envFunc(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// Package harness holds what the end-to-end test packages share: finding
// the module and building its commands once per test binary.
package harness

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// ModuleRoot walks up from the working directory (a test's package
// directory) to go.mod.
func ModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("go.mod not found above the test's directory")
		}
		dir = parent
	}
}

// Build compiles ./cmd/NAME of the module into dir and returns the path of
// the binary.
func Build(dir, name string) (string, error) {
	root, err := ModuleRoot()
	if err != nil {
		return "", err
	}
	out := filepath.Join(dir, name)
	cmd := exec.Command("go", "build", "-o", out, "./cmd/"+name)
	cmd.Dir = root
	if msg, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/%s: %v\n%s", name, err, msg)
	}
	return out, nil
}

// Main is a test package's TestMain: it builds ./cmd/NAME into a
// temporary directory, stores its path in *bin (or the failure in
// *buildErr, for each test to report), runs the tests, removes the
// directory and exits with the tests' code.
func Main(m *testing.M, name string, bin *string, buildErr *error) {
	dir, err := os.MkdirTemp("", "syncd-e2e-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		os.Exit(1)
	}
	*bin, *buildErr = Build(dir, name)
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

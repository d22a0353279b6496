// Package daemon runs `syncd run` end to end: the real binary against a
// real slapd and the Teams API v3 emulator on a loopback HTTP server,
// driven through its HTTP endpoints and signals as an operator would.
package daemon

import (
	"fmt"
	"os"
	"testing"

	"github.com/syncd/syncd/e2e/harness"
)

var (
	syncdBin string
	buildErr error
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "syncd-daemon-e2e")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	syncdBin, buildErr = harness.Build(dir, "syncd")
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func requireBinary(t *testing.T) {
	t.Helper()
	if buildErr != nil {
		t.Fatalf("syncd binary: %v", buildErr)
	}
}

// Package daemon runs `syncd run` end to end: the real binary against a
// real slapd and the Teams API v3 emulator on a loopback HTTP server,
// driven through its HTTP endpoints and signals as an operator would.
package daemon

import (
	"testing"

	"github.com/syncd/syncd/e2e/harness"
)

var (
	syncdBin string
	buildErr error
)

func TestMain(m *testing.M) { harness.Main(m, "syncd", &syncdBin, &buildErr) }

func requireBinary(t testing.TB) {
	t.Helper()
	if buildErr != nil {
		t.Fatalf("syncd binary: %v", buildErr)
	}
}

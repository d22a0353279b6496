package e2e

import (
	"fmt"
	"os"
	"testing"

	"github.com/syncd/syncd/e2e/harness"
)

// syncdBin is the binary under test, built once by TestMain.
var (
	syncdBin string
	buildErr error
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "syncd-e2e-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		os.Exit(1)
	}
	syncdBin, buildErr = harness.Build(dir, "syncd")
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// requireBinary fails the test when the binary could not be built.
func requireBinary(t *testing.T) {
	t.Helper()
	if buildErr != nil {
		t.Fatalf("syncd binary: %v", buildErr)
	}
}

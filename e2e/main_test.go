package e2e

import (
	"testing"

	"github.com/syncd/syncd/e2e/harness"
)

// syncdBin is the binary under test, built once by TestMain.
var (
	syncdBin string
	buildErr error
)

func TestMain(m *testing.M) { harness.Main(m, "syncd", &syncdBin, &buildErr) }

// requireBinary fails the test when the binary could not be built.
func requireBinary(t *testing.T) {
	t.Helper()
	if buildErr != nil {
		t.Fatalf("syncd binary: %v", buildErr)
	}
}
